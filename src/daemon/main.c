/*
 * DESIGN: the command line. Parses arguments and dispatches to a command;
 * nothing else lives here. Exit codes: 0 success, 1 runtime failure,
 * 2 usage or invalid configuration (like `nginx -t`).
 */
#include "app.h"

#include "audit.h"

#include "cfg.h"
#include "check.h"
#include "err.h"
#include "ingest.h"
#include "log.h"
#include "mem.h"
#include "oidc.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
                "  check [-c FILE] [--data DIR] [--repair] [--verify]\n"
                "                         compare the recordings index with the files (horus\n"
                "                         stopped); --repair fixes it, --verify also hashes\n"
                "                         every file; exit 0 clean, 1 problems remain\n"
                "  migrate [-c FILE] [--data DIR] [--from URL] --to postgres://...\n"
                "                         copy the index (default: the configured one) into\n"
                "                         a new, empty PostgreSQL database (horus stopped);\n"
                "                         all or nothing; then point database.url at it\n"
                "  node drain|undrain NODE_ID [-c FILE] [--data DIR]\n"
                "                         a node sharing the database gives its cameras to\n"
                "                         the other nodes (kept across its restarts), or\n"
                "                         takes cameras again\n"
                "  audit verify [-c FILE] [--data DIR] [--log FILE]\n"
                "                         walk the audit chain (daemon running or not) and\n"
                "                         name the first entry modified, removed or\n"
                "                         reordered; --log also checks the heads the daemon\n"
                "                         logged; exit 0 intact, 1 tampered, 3 unreadable\n"
                "  probe URL [--seconds N] [--timeout MS] [--stall-timeout MS]\n"
                "        [--client native|libav] [--transport tcp|udp|auto] [--tls-ca FILE]\n"
                "        [--tls-no-verify]\n"
                "                         connect to an RTSP camera and print its streams as\n"
                "                         JSON; --seconds reads N seconds (reconnecting);\n"
                "                         --client picks the RTSP client (default native);\n"
                "                         --transport udp asks for RTP over UDP, auto\n"
                "                         for TCP, then UDP if the camera refuses TCP;\n"
                "                         rtsps:// certificates are checked against the\n"
                "                         system CAs or --tls-ca, unless --tls-no-verify\n"
                "                         exit 1 with {\"error\": ...} when it fails\n"
                "  auth oidc-login -c FILE\n"
                "                         try the single sign-on set-up of FILE: prints the\n"
                "                         IdP's login URL, reads the callback URL the browser\n"
                "                         lands on from stdin, prints the mapped identity\n"
                "  auth verify-token -c FILE\n"
                "                         check bearer tokens (one per stdin line) against the\n"
                "                         IdP of FILE; prints the verdict and mapped identity\n"
                "  user add NAME --role R [--cameras a,b] [--tenant T] [--password-stdin]\n"
                "  user passwd NAME [--password-stdin] | user list | user disable NAME [--force]\n"
                "                         manage users (also while the daemon runs; each takes\n"
                "                         -c FILE and --data DIR); without --password-stdin a\n"
                "                         one-time password is generated and printed\n"
                "  user mfa-reset NAME    remove NAME's TOTP second factor (a lost phone when no\n"
                "                         other admin can reset it through the API)\n"
                "  api-key add NAME --role R [--cameras a,b] [--expires DURATION] [--tenant T]\n"
                "                         make an API key and print it (shown only once)\n"
                "  secrets rotate [-c FILE] [--data DIR]\n"
                "                         new key for the camera passwords at rest: re-encrypt\n"
                "                         every secret in one transaction (horus stopped)\n"
                "  tenant add ID [--name N] [--max-cameras N] [--max-storage BYTES] | tenant list\n"
                "                         manage tenants (quotas: 0 = unlimited)\n"
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

/*
 * `horus check`: loads the config, takes the data directory's lock (no
 * daemon may write while the files are compared) and runs rec_check.
 * Exit status: 0 when nothing is wrong (or everything was repaired), 1
 * when problems remain or the check could not run, 2 for configuration
 * errors.
 */
static int check_run(const struct app_overrides *ov, bool repair, bool verify)
{
    cfg_snapshot *snap = NULL;
    if (app_config_load(ov->config_path, &snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(snap);
    char *data_dir = horus_strdup(ov->data_dir ? ov->data_dir : c->storage.path);
    int exit_code = 1;
    int lock_fd = -1;
    sto_db *db = NULL;
    log_set_level(LOG_LEVEL_WARN);
    char why[PATH_MAX + 128];
    if (app_data_lock(data_dir, &lock_fd, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus check: %s\n", why);
        goto out;
    }
    char *errmsg = NULL;
    struct sto_open_options so = {.db = &c->database, .data_dir = data_dir};
    int rc = sto_open(&so, &db, &errmsg);
    if (rc == 0 && (rc = sto_start(db)) < 0)
        errmsg = horus_asprintf("start writer thread: %s", horus_strerror(rc));
    if (rc < 0) {
        fprintf(stderr, "horus check: open database: %s\n", errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        goto out;
    }
    /* Only this node's rows: another node's files are not in this data directory (0068). */
    char *node_id = app_node_id_of(&c->node, data_dir);
    sto_set_node(db, node_id);
    free(node_id);
    struct rec_check_result res;
    struct rec_check_options o = {
        .db = db, .data_dir = data_dir, .repair = repair, .verify = verify, .out = stdout};
    if (rec_check(&o, &res, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus check: %s\n", why);
        goto out;
    }
    exit_code = res.problems == res.repaired ? 0 : 1;
out:
    sto_close(db);
    if (lock_fd >= 0)
        close(lock_fd);
    cfg_snapshot_unref(snap);
    free(data_dir);
    return exit_code;
}

static int cmd_check(int argc, char **argv)
{
    struct app_overrides ov = {0};
    bool repair = false, verify = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--repair") == 0) {
            repair = true;
        } else if (strcmp(a, "--verify") == 0) {
            verify = true;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--data") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "horus check: option '%s' needs a value\n", a);
                return 2;
            }
            if (a[1] == 'c' || a[2] == 'c')
                ov.config_path = argv[++i];
            else
                ov.data_dir = argv[++i];
        } else {
            fprintf(stderr, "horus check: unknown argument '%s'\n", a);
            return 2;
        }
    }
    return check_run(&ov, repair, verify);
}

/*
 * `horus audit verify`: reads the database beside a running daemon (no
 * lock taken, no writer started, nothing written) and walks the audit
 * chain. Exit status: 0 intact, 1 tampering found, 2 usage or
 * configuration errors, 3 when the database or the log cannot be read.
 */
static int audit_verify_run(const struct app_overrides *ov, const char *log_path)
{
    cfg_snapshot *snap = NULL;
    if (app_config_load(ov->config_path, &snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(snap);
    const char *data_dir = ov->data_dir ? ov->data_dir : c->storage.path;
    int exit_code = 3;
    sto_db *db = NULL;
    FILE *log = NULL;
    log_set_level(LOG_LEVEL_WARN);
    if (!c->database.url || !c->database.url[0]) {
        /* Opening would create an empty database: say that there is none instead. */
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/horus.db", data_dir);
        if (stat(path, &st) < 0) {
            fprintf(stderr, "horus audit verify: no database at '%s': %s\n", path, strerror(errno));
            goto out;
        }
    }
    if (log_path && !(log = fopen(log_path, "r"))) {
        fprintf(stderr, "horus audit verify: open log '%s': %s\n", log_path, strerror(errno));
        goto out;
    }
    char *errmsg = NULL;
    struct sto_open_options so = {.db = &c->database, .data_dir = data_dir};
    int rc = sto_open(&so, &db, &errmsg);
    if (rc < 0) {
        fprintf(stderr, "horus audit verify: open database: %s\n",
                errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        goto out;
    }
    struct auth_audit_verify_result res;
    rc = auth_audit_verify(db, log, &res);
    if (rc < 0) {
        fprintf(stderr, "horus audit verify: %s\n", res.message);
        goto out;
    }
    if (res.problem != AUTH_AUDIT_INTACT) {
        printf("audit chain broken at entry %lld: %s\n", (long long)res.id, res.message);
        exit_code = 1;
        goto out;
    }
    printf("audit chain intact: %llu entries, head %lld %s", (unsigned long long)res.entries,
           (long long)res.last_id, res.last_hash);
    if (log)
        printf("; %llu logged heads match", (unsigned long long)res.heads);
    printf("\n");
    exit_code = 0;
out:
    if (log)
        fclose(log);
    sto_close(db);
    cfg_snapshot_unref(snap);
    return exit_code;
}

static int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr,
                "horus audit: %s\nusage: horus audit verify [-c FILE] [--data DIR] "
                "[--log FILE]\n",
                argc < 2 ? "missing subcommand" : "unknown subcommand (only 'verify')");
        return 2;
    }
    struct app_overrides ov = {0};
    const char *log_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ? &ov.config_path
                           : strcmp(a, "--data") == 0                         ? &ov.data_dir
                           : strcmp(a, "--log") == 0                          ? &log_path
                                                                              : NULL;
        if (!dst) {
            fprintf(stderr, "horus audit verify: unknown argument '%s'\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "horus audit verify: option '%s' needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    return audit_verify_run(&ov, log_path);
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

static int parse_int_arg(const char *cmd, const char *name, const char *text, int min, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > 86400000) {
        fprintf(stderr, "horus %s: %s must be an integer >= %d, got '%s'\n", cmd, name, min, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static json_t *probe_stream_json(const struct ing_probe_stream *ps)
{
    bool video = ps->kind == MEDIA_KIND_VIDEO;
    static const char *const codecs[] = {
        [MEDIA_CODEC_NONE] = "none", [MEDIA_CODEC_H264] = "h264", [MEDIA_CODEC_H265] = "h265",
        [MEDIA_CODEC_AAC] = "aac",   [MEDIA_CODEC_PCMU] = "pcmu", [MEDIA_CODEC_PCMA] = "pcma"};
    _Static_assert(sizeof(codecs) / sizeof(codecs[0]) == MEDIA_CODEC_PCMA + 1,
                   "every codec has a name");
    json_t *j = json_pack("{s:s, s:s, s:s}", "kind", video ? "video" : "audio", "codec",
                          codecs[ps->codec], "codec_string", ps->codec_string);
    if (video) {
        json_object_set_new(j, "width", json_integer(ps->width));
        json_object_set_new(j, "height", json_integer(ps->height));
        json_object_set_new(j, "fps", json_real(ps->fps));
    } else {
        json_object_set_new(j, "sample_rate", json_integer(ps->sample_rate));
        json_object_set_new(j, "channels", json_integer(ps->channels));
    }
    return j;
}

static int cmd_probe(int argc, char **argv)
{
    struct ing_probe_options opt = {.timeout_ms = 5000};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *dst = strcmp(a, "--seconds") == 0         ? &opt.read_s
                   : strcmp(a, "--timeout") == 0       ? &opt.timeout_ms
                   : strcmp(a, "--stall-timeout") == 0 ? &opt.stall_timeout_ms
                                                       : NULL;
        if (strcmp(a, "--client") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "native") == 0) {
                opt.client = ING_CLIENT_NATIVE;
            } else if (strcmp(v, "libav") == 0) {
                opt.client = ING_CLIENT_LIBAV;
            } else {
                fprintf(stderr, "horus probe: --client: '%s' is not native or libav\n", v);
                return 2;
            }
        } else if (strcmp(a, "--tls-ca") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "horus probe: --tls-ca needs a PEM file\n");
                return 2;
            }
            opt.tls_ca = argv[++i];
        } else if (strcmp(a, "--tls-no-verify") == 0) {
            opt.tls_skip_verify = true;
        } else if (strcmp(a, "--transport") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "tcp") == 0) {
                opt.transport = ING_TRANSPORT_TCP;
            } else if (strcmp(v, "udp") == 0) {
                opt.transport = ING_TRANSPORT_UDP;
            } else if (strcmp(v, "auto") == 0) {
                opt.transport = ING_TRANSPORT_AUTO;
            } else {
                fprintf(stderr, "horus probe: --transport: '%s' is not tcp, udp or auto\n", v);
                return 2;
            }
        } else if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "horus probe: option '%s' needs a value\n", a);
                return 2;
            }
            if (parse_int_arg("probe", a, argv[++i], dst == &opt.read_s ? 0 : 1, dst) < 0)
                return 2;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "horus probe: unknown option '%s'\n", a);
            return 2;
        } else if (opt.url) {
            fprintf(stderr, "horus probe: only one URL, got a second: '%s'\n", a);
            return 2;
        } else {
            opt.url = a;
        }
    }
    if (!opt.url) {
        fprintf(stderr, "horus probe: missing URL\nusage: horus probe URL [--seconds N] "
                        "[--timeout MS] [--stall-timeout MS] [--client native|libav] "
                        "[--transport tcp|udp|auto] [--tls-ca FILE] [--tls-no-verify]\n");
        return 2;
    }
    struct ing_probe_result res;
    int rc = ing_probe_run(&opt, &res);
    char masked[512];
    cfg_mask_url(opt.url, masked, sizeof(masked));
    json_t *j;
    if (rc < 0) {
        j = json_pack("{s:{s:s, s:s}}", "error", "code", ing_reason_code(res.reason), "message",
                      res.message);
    } else {
        json_t *streams = json_array();
        for (unsigned i = 0; i < res.nstreams; i++)
            json_array_append_new(streams, probe_stream_json(&res.streams[i]));
        j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:f, s:b, s:i, s:i, s:i, s:I, s:I}", "url",
                      masked, "client", ing_client_name(res.client), "transport",
                      ing_transport_name(res.transport), "streams", streams, "packets",
                      (json_int_t)res.packets, "keyframes", (json_int_t)res.keyframes, "duration_s",
                      res.duration_s, "dts_monotonic", res.dts_monotonic, "epochs", (int)res.epochs,
                      "gaps", (int)res.gaps, "stalls", (int)res.stalls, "max_stall_detect_ms",
                      (json_int_t)res.max_stall_detect_ms, "reconnects",
                      (json_int_t)res.reconnects);
    }
    char *text = json_dumps(j, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    printf("%s\n", text);
    free(text);
    json_decref(j);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    /*
     * Everything Horus creates (database, WAL, journal, recordings, exports,
     * logs, the lock) holds private video or credentials: owner only, also
     * for files made by libraries that pass 0666 (SQLite, libavformat).
     */
    umask(077);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* libcurl (single sign-on, JWKS) sets up its global state before any thread exists. */
    if (auth_oidc_global_init() < 0) {
        fprintf(stderr, "horus: initialise libcurl failed\n");
        return 1;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return cmd_probe(argc - 1, argv + 1);
    if (strcmp(cmd, "secrets") == 0)
        return app_cmd_secrets(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(argc - 1, argv + 1);
    if (strcmp(cmd, "auth") == 0)
        return app_auth_cli(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return app_cmd_user(argc - 1, argv + 1);
    if (strcmp(cmd, "api-key") == 0)
        return app_cmd_api_key(argc - 1, argv + 1);
    if (strcmp(cmd, "tenant") == 0)
        return app_cmd_tenant(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return app_cmd_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "node") == 0)
        return app_cmd_node(argc - 1, argv + 1);
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
