/*
 * Real brokers for the bus adapters' tests: a free port on 127.0.0.1, a
 * temporary directory, the broker started in its own process group (so that
 * one kill ends its whole tree: rabbitmq-server is a shell script around
 * beam.smp) and waited for until its port accepts connections.
 */
#ifndef HORUS_TEST_BROKER_H
#define HORUS_TEST_BROKER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A port the kernel just gave out on 127.0.0.1 (free unless someone races us). */
static inline int broker_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("broker_free_port");
        abort();
    }
    close(fd);
    return ntohs(a.sin_port);
}

static inline void broker_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static inline bool broker_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Copies the last max bytes of the broker's log to stderr: the directory goes at teardown. */
static inline void broker_log_tail(const char *log, long max)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char buf[512];
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > max)
        fseek(f, -max, SEEK_END);
    else
        rewind(f);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
}

/*
 * Starts argv (with env entries "K=V" added, NULL-terminated, may be NULL)
 * in its own process group, output to log, and waits up to wait_ms for port
 * to open. Returns the pid, or -1 when the broker exited or never opened it.
 * Tests call it while client library threads run: between fork and exec the
 * child only makes system calls (a malloc there can wait forever on a lock
 * that another thread held at the fork), so the log and the environment are
 * made before the fork.
 */
static inline pid_t broker_spawn(char *const argv[], char *const env[], const char *log, int port,
                                 int wait_ms)
{
    extern char **environ;
    size_t nenv = 0, nadd = 0;
    while (environ[nenv])
        nenv++;
    while (env && env[nadd])
        nadd++;
    char **envp = calloc(nenv + nadd + 1, sizeof(*envp));
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (!envp || logfd < 0) {
        free(envp);
        if (logfd >= 0)
            close(logfd);
        return -1;
    }
    /* The added entries, then every inherited one that they do not replace. */
    size_t k = 0;
    for (size_t i = 0; i < nadd; i++)
        envp[k++] = env[i];
    for (size_t i = 0; i < nenv; i++) {
        bool is_replaced = false;
        for (size_t j = 0; j < nadd && !is_replaced; j++) {
            size_t len = strcspn(env[j], "=");
            is_replaced = strncmp(environ[i], env[j], len + 1) == 0;
        }
        if (!is_replaced)
            envp[k++] = environ[i];
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        /* A test that dies without its teardown takes the broker with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvpe(argv[0], argv, envp);
        _exit(127);
    }
    close(logfd);
    free(envp);
    if (pid < 0)
        return -1;
    setpgid(pid, pid);
    for (int waited = 0; waited < wait_ms; waited += 50) {
        if (broker_port_open(port))
            return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "broker %s exited early; its log %s ends:\n", argv[0], log);
            broker_log_tail(log, 4096);
            return -1;
        }
        broker_sleep_ms(50);
    }
    fprintf(stderr, "broker %s did not open port %d in %d ms; its log %s ends:\n", argv[0], port,
            wait_ms, log);
    broker_log_tail(log, 4096);
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Kills the broker's whole process group at once (SIGKILL: no goodbye to clients) and reaps it. */
static inline void broker_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/*
 * Makes TLS material in dir with the openssl command: ca.pem (a CA),
 * server.pem and server.key (signed by it, for 127.0.0.1 and localhost),
 * and other-ca.pem (a CA that signed nothing here). Returns 0 or -1.
 */
static inline int broker_make_certs(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "(cd '%s' && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=horus-test-ca -keyout ca.key -out ca.pem -days 2 && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=horus-other-ca -keyout other-ca.key -out other-ca.pem -days 2 && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
             "-addext basicConstraints=critical,CA:FALSE -CA ca.pem -CAkey ca.key "
             "-keyout server.key -out server.pem -days 2 && chmod 644 server.key)",
             dir);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " >'%s/openssl.log' 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Removes dir and everything under it. */
static inline void broker_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
