/*
 * DESIGN: the command line. Parses arguments and dispatches to a command;
 * nothing else lives here. Exit codes: 0 success, 1 runtime failure,
 * 2 usage or invalid configuration (like `nginx -t`).
 */
#include "app.h"

#include "err.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp, "usage: horus <command> [options]\n"
                "\n"
                "commands:\n"
                "  serve [-c FILE] [--data DIR] [--listen HOST:PORT]\n"
                "                         run the daemon (no -c: embedded defaults)\n"
                "  check-config [--print] FILE\n"
                "                         validate FILE; exit 0 if valid, 2 if not;\n"
                "                         --print shows the effective config, secrets masked\n"
                "  version                print the version\n"
                "  help                   show this help\n");
}

static int cmd_serve(int argc, char **argv)
{
    struct app_overrides ov = {0};
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ov.config_path = optarg;
            break;
        case 'd':
            ov.data_dir = optarg;
            break;
        case 'l':
            ov.listen = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "horus serve: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "horus serve: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "horus serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return app_serve(&ov);
}

static int cmd_check_config(int argc, char **argv)
{
    const char *path = NULL;
    int do_print = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print") == 0) {
            do_print = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "horus check-config: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "horus check-config: only one FILE, got '%s' and '%s'\n", path,
                    argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr,
                "horus check-config: missing FILE\nusage: horus check-config [--print] FILE\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    if (app_config_load(path, &snap) < 0) {
        fprintf(stderr, "%s: configuration is invalid\n", path);
        return 2;
    }
    if (do_print) {
        json_t *j = cfg_snapshot_to_json(snap);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(j);
    } else {
        printf("%s: configuration is valid\n", path);
    }
    cfg_snapshot_unref(snap);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("horus %s (git %s)\n", horus_version(), horus_git_describe());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "horus: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
