/*
 * DESIGN: the PostgreSQL backend (libpq), the second row of sto_backends[]
 * (docs/design/0062-postgresql-backend.md). One PGconn per sto_conn, used
 * by one thread at a time as the contract says; no state beyond it.
 *
 * The PostgreSQL side of the dialect (storage_backend.h):
 *  - URLs "postgres://..." and "postgresql://..." go to libpq as they are
 *    (its URI syntax: user, password, host, port, database, ?options);
 *    error sentences name host, port, database and user, never the URL,
 *    which may hold a password.
 *  - Parameters travel typed: int8, float8 and text in text form, bytea in
 *    binary form, NULL untyped. Results come back in text form and are
 *    decoded by the column's type, so a column, not a value, decides the
 *    sto_type: int2/int4/int8/oid/bool as STO_INT, float4/float8 as
 *    STO_REAL, numeric as STO_INT when integral, bytea (hex) as STO_BLOB,
 *    everything else as STO_TEXT.
 *  - The migrations are written in SQLite's type words. exec_script, which
 *    runs only schema scripts, widens INTEGER to BIGINT and REAL to DOUBLE
 *    PRECISION outside quotes and comments, so a column keeps the 64-bit
 *    range and the double precision SQLite gives it (PostgreSQL's INTEGER
 *    is 32 bits and its REAL 24 bits of mantissa).
 *  - Text order is byte order: pages continue after a key and some range
 *    scans end at "key;" because ';' follows ':' in ASCII. A database whose
 *    collation is not "C" (or "POSIX") would order and compare text by
 *    language rules and silently skip rows, so open refuses it with the
 *    CREATE DATABASE line that makes a right one.
 *  - $N placeholders are counted here (outside quotes and comments), so a
 *    parameter count that does not match is -EINVAL before anything runs,
 *    as with SQLite.
 *
 * Sessions: every connection sets lock_timeout to busy_timeout_ms (a lock
 * wait past it is HORUS_EDBBUSY, as SQLITE_BUSY is), ends after 5 s idle
 * inside a transaction (PG_IDLE_IN_TX_MS), and drops notices;
 * readers set default_transaction_read_only, so a reader refuses writes
 * with -EACCES. A connection that ended (server restart, failover,
 * network) is opened again by the next statement outside a transaction,
 * which then runs on the new one; a statement inside a transaction fails
 * with -EIO, which the writer treats as transient: it rolls back (that
 * reconnects) and index rows wait on its retry list, committing once the
 * server is back. Results are read whole, so a row callback may run
 * another query on the same connection, as the contract allows. Each
 * connection keeps its last PG_STMT_SLOTS statements prepared on the
 * server (exec_cached), as the SQLite backend keeps its last ones.
 */
#include "postgres_int.h"
#include "storage_backend.h"

#include "err.h"
#include "hex.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

/* Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

#define PG_MAX_PARAMS 1024
#define PG_MAX_COLUMNS 64
/* Prepared statements kept per connection: the repositories' queries are a few dozen texts. */
#define PG_STMT_SLOTS 32

/*
 * Horus never leaves a transaction open while it waits for anything but
 * the server, so a session idle inside one this long is a process that
 * froze (SIGSTOP, a VM paused, swap): the server ends it and so releases
 * its row locks, e.g. a camera lease another node must take over
 * (docs/design/0066-fencing.md).
 */
#define PG_IDLE_IN_TX_MS 5000

struct sto_conn {
    PGconn *pg; /* owned */
    char *settings; /* owned: the session's SET statements, run again after a reset */
    char *where; /* owned: "host:port/db as user", for error sentences */
    bool is_in_tx; /* between a BEGIN that worked and its COMMIT or ROLLBACK */
    int64_t answer_timeout_ms; /* set_answer_timeout; 0 = wait as long as the server takes */
    bool is_unanswered; /* the last command got no answer in time: the connection was cut */
    bool was_unanswered; /* result_rc reported that; run_again then does not retry */
    /* Statements prepared on the server, by parameter types and text (exec_cached). */
    struct {
        char *key; /* owned: one letter per parameter type, '\n', the SQL; NULL = empty */
        unsigned id; /* the statement's name on the server is "h<id>" */
    } stmts[PG_STMT_SLOTS];
    unsigned stmt_next_id;
    unsigned stmt_victim; /* the slot the next new statement replaces */
};

/* Forgets every prepared statement (the server's went with its connection). */
static void stmts_forget(sto_conn *c)
{
    for (size_t i = 0; i < PG_STMT_SLOTS; i++) {
        free(c->stmts[i].key);
        c->stmts[i].key = NULL;
    }
}

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Maps a SQLSTATE to the contract's codes (storage_backend.h). */
static int pg_state_rc(const char *state)
{
    if (!state || strlen(state) != 5)
        return HORUS_EDB;
    if (strncmp(state, "23", 2) == 0)
        return -EEXIST;
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "57014") == 0)
        return HORUS_EDBBUSY;
    if (strcmp(state, "53100") == 0)
        return -ENOSPC;
    if (strcmp(state, "53200") == 0)
        return -ENOMEM;
    if (strcmp(state, "25006") == 0 || strcmp(state, "42501") == 0)
        return -EACCES;
    if (strcmp(state, "3D000") == 0)
        return -ENOENT;
    if (strcmp(state, "42P02") == 0 || strcmp(state, "08P01") == 0 || strcmp(state, "22P02") == 0)
        return -EINVAL;
    /* Connection exceptions and the server shutting down or starting: transient. */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 || strcmp(state, "58030") == 0)
        return -EIO;
    return HORUS_EDB;
}

/* libpq's messages end in a newline; sentences here do not. */
static char *trimmed(const char *msg)
{
    char *s = horus_strdup(msg && msg[0] ? msg : "unknown error");
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

static void set_err(char **errmsg, const char *what, const char *detail)
{
    if (errmsg && !*errmsg) {
        char *d = trimmed(detail);
        *errmsg = horus_asprintf("%s: %s", what, d);
        free(d);
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The result of the command just sent (the last one, as PQexec returns),
 * waiting at most answer_timeout_ms (when limit is set) for the server. A
 * server that does not answer in time is taken as frozen or cut off (a
 * stopped process's kernel still acknowledges TCP, so keepalives never
 * fire): the socket is shut, which fails the command at once and leaves
 * the connection bad, to be opened again before the next statement. A
 * cancel request is not sent: it would wait on the same silent server.
 */
static PGresult *await_result(sto_conn *c, bool limit)
{
    int64_t deadline = limit && c->answer_timeout_ms > 0 ? mono_ms() + c->answer_timeout_ms : 0;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(c->pg)) {
            int wait = -1;
            if (deadline) {
                int64_t left = deadline - mono_ms();
                if (left <= 0) {
                    c->is_unanswered = true;
                    shutdown(PQsocket(c->pg), SHUT_RDWR);
                    deadline = 0; /* what follows fails at once */
                    left = 0;
                }
                wait = (int)left;
            }
            struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
            if (pfd.fd >= 0 && poll(&pfd, 1, wait) < 0 && errno != EINTR)
                break;
            if (!PQconsumeInput(c->pg))
                break; /* PQgetResult now reports the failure */
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        PQclear(last);
        last = r;
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            while ((r = PQgetResult(c->pg)))
                PQclear(r);
            break;
        }
    }
    return last;
}

/* PQexec with the answer timeout (limit: false for schema scripts, which may run long). */
static PGresult *exec_simple(sto_conn *c, const char *sql, bool limit)
{
    if (!PQsendQuery(c->pg, sql))
        return NULL;
    return await_result(c, limit);
}

/*
 * The outcome of a finished command: 0, or the code of its SQLSTATE with a
 * sentence. A result missing or without SQLSTATE after the connection
 * broke is -EIO (transient), not a syntax-class error.
 */
static int result_rc(sto_conn *c, PGresult *res, const char *what, char **errmsg)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (c->is_unanswered) {
        c->is_unanswered = false;
        c->was_unanswered = true; /* for run_again */
        if (errmsg && !*errmsg)
            *errmsg = horus_asprintf("%s: no answer from PostgreSQL %s within %.1f s "
                                     "(database.answer_timeout); the connection is opened again",
                                     what, c->where, (double)c->answer_timeout_ms / 1000);
        return -EIO;
    }
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
        return 0;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int rc = pg_state_rc(state);
    if (!state && PQstatus(c->pg) == CONNECTION_BAD)
        rc = -EIO;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    set_err(errmsg, what, msg && msg[0] ? msg : PQerrorMessage(c->pg));
    return rc;
}

static int run_simple(sto_conn *c, const char *sql, const char *what, char **errmsg)
{
    PGresult *res = exec_simple(c, sql, true);
    int rc = result_rc(c, res, what, errmsg);
    PQclear(res);
    return rc;
}

/*
 * Text order must be byte order (see the header comment). Returns 0, or
 * HORUS_EDB with a sentence that says how to make a database that fits.
 */
static int check_collation(sto_conn *c, char **errmsg)
{
    PGresult *res = exec_simple(c,
                                "SELECT datcollate, datctype, pg_encoding_to_char(encoding)"
                                " FROM pg_database WHERE datname = current_database()",
                                true);
    int rc = result_rc(c, res, "read the database's collation", errmsg);
    if (rc == 0 && PQntuples(res) == 1) {
        const char *coll = PQgetvalue(res, 0, 0);
        const char *enc = PQgetvalue(res, 0, 2);
        if ((strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0) || strcmp(enc, "UTF8") != 0) {
            if (errmsg && !*errmsg)
                *errmsg = horus_asprintf(
                    "PostgreSQL database %s has collation '%s' and encoding %s; Horus needs text "
                    "in byte order and UTF-8: CREATE DATABASE %s TEMPLATE template0 ENCODING "
                    "'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
                    c->where, coll, enc, PQdb(c->pg));
            rc = HORUS_EDB;
        }
    }
    PQclear(res);
    return rc;
}

static void pg_close(sto_conn *c)
{
    if (!c)
        return;
    stmts_forget(c);
    PQfinish(c->pg);
    free(c->settings);
    free(c->where);
    free(c);
}

static char *pg_url_target(const char *url)
{
    if ((strncmp(url, "postgres://", 11) == 0 && url[11]) ||
        (strncmp(url, "postgresql://", 13) == 0 && url[13]))
        return horus_strdup(url);
    return NULL;
}

static int pg_open(const char *target, bool is_writer, int64_t busy_timeout_ms, sto_conn **out,
                   char **errmsg)
{
    /*
     * Earlier keywords are defaults the URL may override (libpq processes them in order).
     * TCP keepalives find a server that vanished under an idle connection (a partition, a
     * host gone) within about 25 s, and tcp_user_timeout fails a write that stays unacked for
     * 30 s, instead of the kernel's 15 minutes of retransmits: the writer then retries.
     */
    const char *keys[] = {"connect_timeout",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          NULL};
    const char *vals[] = {
        "10", is_writer ? "horus-writer" : "horus-reader", "1", "10", "5", "3", "30000", target,
        NULL};
    sto_conn *c = horus_calloc(1, sizeof(*c));
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg) {
        *errmsg = horus_strdup("connect to PostgreSQL: out of memory");
        pg_close(c);
        return -ENOMEM;
    }
    c->where = horus_asprintf("%s:%s/%s as %s", PQhost(c->pg) ? PQhost(c->pg) : "?",
                              PQport(c->pg) ? PQport(c->pg) : "?", PQdb(c->pg) ? PQdb(c->pg) : "?",
                              PQuser(c->pg) ? PQuser(c->pg) : "?");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char *why = trimmed(PQerrorMessage(c->pg));
        *errmsg = horus_asprintf("connect to PostgreSQL %s: %s", c->where, why);
        int rc = strstr(why, "does not exist") && strstr(why, "database") ? -ENOENT : -EIO;
        free(why);
        pg_close(c);
        return rc;
    }
    PQsetNoticeProcessor(c->pg, no_notices, NULL);
    c->settings = horus_asprintf(
        "SET lock_timeout = %" PRId64 "; SET client_min_messages = warning;"
        " SET idle_in_transaction_session_timeout = %d;"
        " SET default_transaction_read_only = %s",
        busy_timeout_ms > 0 ? busy_timeout_ms : 1, PG_IDLE_IN_TX_MS, is_writer ? "off" : "on");
    char *what = horus_asprintf("configure PostgreSQL session %s", c->where);
    int rc = run_simple(c, c->settings, what, errmsg);
    free(what);
    if (rc == 0 && is_writer)
        rc = check_collation(c, errmsg);
    if (rc < 0) {
        pg_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/*
 * PQreset, bounded by the answer timeout as well as by connect_timeout: a
 * frozen server accepts the TCP connection (its kernel does) and never
 * answers the start-up, and a request must not wait connect_timeout for it.
 * Returns true when it gave up for want of an answer.
 */
static bool reset_within(sto_conn *c)
{
    if (c->answer_timeout_ms <= 0) {
        PQreset(c->pg);
        return false;
    }
    int64_t deadline = mono_ms() + c->answer_timeout_ms;
    if (!PQresetStart(c->pg))
        return false;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int64_t left = deadline - mono_ms();
        struct pollfd pfd = {.fd = PQsocket(c->pg),
                             .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = left > 0 && pfd.fd >= 0 ? poll(&pfd, 1, (int)left) : 0;
        if (n == 0 || (n < 0 && errno != EINTR)) {
            /* No answer in time: fail it now; the next statement tries again. */
            if (pfd.fd >= 0)
                shutdown(pfd.fd, SHUT_RDWR);
            while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
                st = PQresetPoll(c->pg);
            return st != PGRES_POLLING_OK;
        }
        st = PQresetPoll(c->pg);
    }
    return false;
}

/*
 * Before a statement outside a transaction: a connection that broke is
 * reset (and its session settings applied again). Inside one nothing is done:
 * the transaction is gone with the connection and its statements fail
 * until the writer rolls back, which resets. Returns 0 or -EIO.
 */
static int ensure_connected(sto_conn *c, char **errmsg)
{
    if (PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    bool is_unanswered = reset_within(c);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char *what = horus_asprintf("reconnect to PostgreSQL %s", c->where);
        if (is_unanswered && errmsg && !*errmsg)
            *errmsg = horus_asprintf("%s: no answer within %.1f s (database.answer_timeout)", what,
                                     (double)c->answer_timeout_ms / 1000);
        set_err(errmsg, what, PQerrorMessage(c->pg));
        free(what);
        return -EIO;
    }
    PQsetNoticeProcessor(c->pg, no_notices, NULL);
    stmts_forget(c);
    return run_simple(c, c->settings, "configure the PostgreSQL session again", errmsg);
}

/*
 * Whether a statement that just failed with rc outside a transaction should
 * run once more: the connection ended under it (libpq notices only on the
 * next I/O, so the first statement after a server restart is the one that
 * finds out) and it opened again. Readers only read and the writer writes
 * in transactions, so a statement run twice here changes nothing twice.
 */
static bool run_again(sto_conn *c, int rc, char **errmsg)
{
    bool was_unanswered = c->was_unanswered;
    c->was_unanswered = false;
    if (rc != -EIO || c->is_in_tx || PQstatus(c->pg) != CONNECTION_BAD || was_unanswered)
        return false; /* a server that just did not answer would not answer again */
    char *ignored = NULL;
    if (ensure_connected(c, &ignored) < 0) {
        free(ignored);
        return false;
    }
    if (errmsg) { /* the first attempt's sentence no longer applies */
        free(*errmsg);
        *errmsg = NULL;
    }
    return true;
}

/*
 * Scans sql outside quotes, quoted identifiers and comments. Calls word_fn
 * for each bare word (letters, digits, '_') with its offset and length, and
 * counts $N placeholders: max_param is the highest N, distinct how many
 * different N appear (seen holds a bit per N up to PG_MAX_PARAMS).
 */
struct sql_scan {
    size_t max_param;
    size_t distinct;
    unsigned char seen[PG_MAX_PARAMS / 8 + 1];
    void (*word_fn)(struct sql_scan *s, const char *sql, size_t at, size_t len);
    char *out; /* word_fn's output, for the type rewrite */
    size_t out_len, out_cap, copied; /* copied: sql bytes already in out */
};

static void scan_sql(struct sql_scan *s, const char *sql)
{
    size_t i = 0;
    while (sql[i]) {
        char ch = sql[i];
        if (ch == '\'' || ch == '"') {
            for (i++; sql[i]; i++) {
                if (sql[i] == ch && sql[i + 1] == ch)
                    i++;
                else if (sql[i] == ch)
                    break;
            }
            if (sql[i])
                i++;
        } else if (ch == '-' && sql[i + 1] == '-') {
            while (sql[i] && sql[i] != '\n')
                i++;
        } else if (ch == '/' && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            i = end ? (size_t)(end - sql) + 2 : strlen(sql);
        } else if (ch == '$' && isdigit((unsigned char)sql[i + 1])) {
            size_t n = 0;
            for (i++; isdigit((unsigned char)sql[i]); i++)
                n = n < PG_MAX_PARAMS ? n * 10 + (size_t)(sql[i] - '0') : n;
            if (n >= 1 && n <= PG_MAX_PARAMS && !(s->seen[n / 8] & (1u << (n % 8)))) {
                s->seen[n / 8] |= (unsigned char)(1u << (n % 8));
                s->distinct++;
            }
            if (n > s->max_param)
                s->max_param = n;
        } else if (isalpha((unsigned char)ch) || ch == '_') {
            size_t at = i;
            while (isalnum((unsigned char)sql[i]) || sql[i] == '_' || sql[i] == '$')
                i++;
            if (s->word_fn)
                s->word_fn(s, sql, at, i - at);
        } else {
            i++;
        }
    }
}

static void out_append(struct sql_scan *s, const char *p, size_t n)
{
    if (s->out_len + n + 1 > s->out_cap) {
        s->out_cap = (s->out_len + n + 1) * 2;
        s->out = horus_realloc(s->out, s->out_cap);
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    s->out[s->out_len] = '\0';
}

static void widen_type_word(struct sql_scan *s, const char *sql, size_t at, size_t len)
{
    const char *with = NULL;
    if (len == 7 && strncasecmp(sql + at, "INTEGER", 7) == 0)
        with = "BIGINT";
    else if (len == 4 && strncasecmp(sql + at, "REAL", 4) == 0)
        with = "DOUBLE PRECISION";
    if (!with)
        return;
    out_append(s, sql + s->copied, at - s->copied);
    out_append(s, with, strlen(with));
    s->copied = at + len;
}

/* The schema script with SQLite's type words widened (header comment). New string. */
char *sto_pg_widen_types(const char *sql)
{
    struct sql_scan s = {.word_fn = widen_type_word};
    scan_sql(&s, sql);
    out_append(&s, sql + s.copied, strlen(sql + s.copied));
    return s.out;
}

void sto_pg_count_params(const char *sql, size_t *max_param, size_t *distinct)
{
    struct sql_scan scan = {0};
    scan_sql(&scan, sql);
    *max_param = scan.max_param;
    *distinct = scan.distinct;
}

/* A schema script: no answer timeout (a migration may rewrite a large table). */
static int run_script(sto_conn *c, const char *sql, char **errmsg)
{
    PGresult *res = exec_simple(c, sql, false);
    int rc = result_rc(c, res, "run schema script", errmsg);
    PQclear(res);
    return rc;
}

static int pg_exec_script(sto_conn *c, const char *sql, char **errmsg)
{
    int rc = c->is_in_tx ? 0 : ensure_connected(c, errmsg);
    if (rc < 0)
        return rc;
    char *widened = sto_pg_widen_types(sql);
    rc = run_script(c, widened, errmsg);
    if (run_again(c, rc, errmsg))
        rc = run_script(c, widened, errmsg);
    free(widened);
    return rc;
}

/*
 * Decodes one result cell by its column's type into *v. A bytea cell is
 * decoded into a new buffer stored in *owned (freed after the row).
 * Returns 0 or HORUS_EDB for a cell its type does not explain.
 */
int sto_pg_cell_value(const PGresult *res, int row, int col, sto_value *v, void **owned)
{
    memset(v, 0, sizeof(*v));
    *owned = NULL;
    if (PQgetisnull(res, row, col)) {
        v->type = STO_NULL;
        return 0;
    }
    const char *s = PQgetvalue(res, row, col);
    size_t len = (size_t)PQgetlength(res, row, col);
    char *end = NULL;
    switch (PQftype(res, col)) {
    case OID_BOOL:
        v->type = STO_INT;
        v->i = s[0] == 't';
        return 0;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        v->type = STO_INT;
        errno = 0;
        v->i = strtoll(s, &end, 10);
        return errno || *end ? HORUS_EDB : 0;
    case OID_NUMERIC:
    case OID_FLOAT4:
    case OID_FLOAT8:
        if (PQftype(res, col) == OID_NUMERIC && !strpbrk(s, ".eEN")) { /* integral */
            v->type = STO_INT;
            errno = 0;
            v->i = strtoll(s, &end, 10);
            return errno || *end ? HORUS_EDB : 0;
        }
        v->type = STO_REAL;
        v->d = strtod(s, &end);
        return *end ? HORUS_EDB : 0;
    case OID_BYTEA: {
        if (len < 2 || s[0] != '\\' || s[1] != 'x' || len % 2)
            return HORUS_EDB; /* bytea_output = escape is not asked for and not read */
        size_t n = (len - 2) / 2;
        unsigned char *b = horus_malloc(n + 1);
        for (size_t k = 0; k < n; k++) {
            int hi = horus_hex_value(s[2 + 2 * k]), lo = horus_hex_value(s[3 + 2 * k]);
            if (hi < 0 || lo < 0) {
                free(b);
                return HORUS_EDB;
            }
            b[k] = (unsigned char)(hi << 4 | lo);
        }
        b[n] = 0;
        v->type = STO_BLOB;
        v->blob = b;
        v->len = n;
        *owned = b;
        return 0;
    }
    default:
        v->type = STO_TEXT;
        v->s = s;
        v->len = len;
        return 0;
    }
}

/* PQexecPrepared with the answer timeout. */
static PGresult *exec_prepared(sto_conn *c, const char *name, int n, const char *const *values,
                               const int *lengths, const int *formats)
{
    if (!PQsendQueryPrepared(c->pg, name, n, values, lengths, formats, 0))
        return NULL;
    return await_result(c, true);
}

/*
 * Runs sql with its parameters as a statement prepared on this connection:
 * the first use of a text (with these parameter types) prepares it, later
 * ones only bind and execute, which spares the server a parse and a plan
 * per call (a 64-row INSERT of detections took longer to plan than to
 * run). Prepared statements outlive transactions, also rolled-back ones.
 * The oldest of PG_STMT_SLOTS is deallocated to make room. Returns the
 * result (NULL with *rc set when preparing failed).
 */
static PGresult *exec_cached(sto_conn *c, const char *sql, int n, const Oid *types,
                             const char *const *values, const int *lengths, const int *formats,
                             int *rc, char **errmsg)
{
    size_t sql_len = strlen(sql);
    char *key = horus_malloc((size_t)n + 2 + sql_len);
    for (int i = 0; i < n; i++)
        key[i] = types[i] == OID_INT8     ? 'i'
                 : types[i] == OID_FLOAT8 ? 'r'
                 : types[i] == OID_TEXT   ? 't'
                 : types[i] == OID_BYTEA  ? 'b'
                                          : 'n';
    key[n] = '\n';
    memcpy(key + n + 1, sql, sql_len + 1);
    char name[24];
    for (size_t i = 0; i < PG_STMT_SLOTS; i++) {
        if (c->stmts[i].key && strcmp(c->stmts[i].key, key) == 0) {
            free(key);
            snprintf(name, sizeof(name), "h%u", c->stmts[i].id);
            *rc = 0;
            return exec_prepared(c, name, n, values, lengths, formats);
        }
    }
    size_t slot = c->stmt_victim;
    if (c->stmts[slot].key) {
        char sql_dealloc[40];
        snprintf(sql_dealloc, sizeof(sql_dealloc), "DEALLOCATE h%u", c->stmts[slot].id);
        PQclear(exec_simple(c, sql_dealloc, true)); /* failing (an aborted tx) leaks one */
        free(c->stmts[slot].key);
        c->stmts[slot].key = NULL;
    }
    unsigned id = c->stmt_next_id++;
    snprintf(name, sizeof(name), "h%u", id);
    PGresult *res = PQsendPrepare(c->pg, name, sql, n, types) ? await_result(c, true) : NULL;
    *rc = result_rc(c, res, "prepare", errmsg);
    PQclear(res);
    if (*rc < 0) {
        free(key);
        return NULL;
    }
    c->stmts[slot].key = key;
    c->stmts[slot].id = id;
    c->stmt_victim = (unsigned)((slot + 1) % PG_STMT_SLOTS);
    return exec_prepared(c, name, n, values, lengths, formats);
}

static int pg_query(sto_conn *c, const char *sql, const sto_value *params, size_t nparams,
                    sto_row_cb row_cb, void *arg, char **errmsg)
{
    size_t max_param, distinct;
    sto_pg_count_params(sql, &max_param, &distinct);
    if (max_param != nparams || distinct != nparams || nparams > PG_MAX_PARAMS) {
        if (errmsg && !*errmsg)
            *errmsg = horus_asprintf("statement wants %zu parameters, got %zu", max_param, nparams);
        return -EINVAL;
    }
    int rc = c->is_in_tx ? 0 : ensure_connected(c, errmsg);
    if (rc < 0)
        return rc;

    Oid *ptypes = horus_calloc(nparams + 1, sizeof(Oid));
    const char **values = horus_calloc(nparams + 1, sizeof(char *));
    int *lengths = horus_calloc(nparams + 1, sizeof(int));
    int *formats = horus_calloc(nparams + 1, sizeof(int));
    char(*num)[32] = horus_calloc(nparams + 1, sizeof(*num));
    for (size_t i = 0; i < nparams; i++) {
        const sto_value *p = &params[i];
        switch (p->type) {
        case STO_NULL:
            values[i] = NULL;
            break;
        case STO_INT:
            ptypes[i] = OID_INT8;
            snprintf(num[i], sizeof(num[i]), "%" PRId64, p->i);
            values[i] = num[i];
            break;
        case STO_REAL:
            ptypes[i] = OID_FLOAT8;
            snprintf(num[i], sizeof(num[i]), "%.17g", p->d);
            values[i] = num[i];
            break;
        case STO_TEXT:
            ptypes[i] = OID_TEXT;
            values[i] = p->s;
            break;
        case STO_BLOB:
            ptypes[i] = OID_BYTEA;
            values[i] = p->len ? p->blob : "";
            lengths[i] = (int)p->len;
            formats[i] = 1;
            break;
        default:
            rc = -EINVAL;
        }
    }
    PGresult *res = NULL;
    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        res = exec_cached(c, sql, (int)nparams, ptypes, values, lengths, formats, &rc, errmsg);
        if (rc == 0)
            rc = result_rc(c, res, "query", errmsg);
        if (!run_again(c, rc, errmsg))
            break;
        PQclear(res);
        res = NULL;
        rc = 0;
    }
    free(ptypes);
    free(values);
    free(lengths);
    free(formats);
    free(num);

    int nrows = rc == 0 ? PQntuples(res) : 0;
    int ncols = rc == 0 ? PQnfields(res) : 0;
    if (ncols > PG_MAX_COLUMNS)
        ncols = PG_MAX_COLUMNS;
    for (int r = 0; r < nrows && row_cb && rc == 0; r++) {
        sto_value cols[PG_MAX_COLUMNS];
        void *owned[PG_MAX_COLUMNS];
        int k = 0;
        for (; k < ncols && rc == 0; k++)
            rc = sto_pg_cell_value(res, r, k, &cols[k], &owned[k]);
        if (rc == 0)
            rc = row_cb(cols, (size_t)ncols, arg);
        else
            set_err(errmsg, "decode a result", PQfname(res, k - 1));
        for (int j = 0; j < k; j++)
            free(owned[j]);
    }
    PQclear(res);
    return rc;
}

static int pg_tx(sto_conn *c, enum sto_tx step, char **errmsg)
{
    static const char *const sql[] = {
        [STO_TX_BEGIN] = "BEGIN",
        [STO_TX_COMMIT] = "COMMIT",
        [STO_TX_ROLLBACK] = "ROLLBACK",
        [STO_TX_SAVEPOINT] = "SAVEPOINT w",
        [STO_TX_RELEASE] = "RELEASE SAVEPOINT w",
        [STO_TX_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT w",
    };
    if ((unsigned)step >= HORUS_ARRAY_LEN(sql))
        return -EINVAL;
    if (step == STO_TX_BEGIN) {
        int rc = ensure_connected(c, errmsg);
        if (rc < 0)
            return rc;
    }
    if (step == STO_TX_ROLLBACK && PQstatus(c->pg) != CONNECTION_OK) {
        c->is_in_tx = false; /* the transaction went with the connection */
        return ensure_connected(c, errmsg);
    }
    int rc = run_simple(c, sql[step], sql[step], errmsg);
    if (step == STO_TX_BEGIN && run_again(c, rc, errmsg))
        rc = run_simple(c, sql[step], sql[step], errmsg);
    if (step == STO_TX_BEGIN)
        c->is_in_tx = rc == 0;
    else if (step == STO_TX_ROLLBACK || (step == STO_TX_COMMIT && rc == 0))
        c->is_in_tx = false;
    return rc;
}

static int lag_row(const sto_value *cols, size_t n, void *arg)
{
    if (n == 1 && cols[0].type == STO_INT)
        *(int64_t *)arg = cols[0].i;
    return 0;
}

/*
 * A hot standby that has replayed all the WAL it received is current (its
 * primary may be idle for hours, so the age of its last replayed commit says
 * nothing then); one that has not is behind by at most the age of that commit.
 * A standby streaming nothing (receive LSN NULL: its primary gone, or WAL from
 * an archive only) falls in the second case, and its lag grows until reads
 * leave it. A server not in recovery is a primary and never behind.
 */
static int pg_replica_lag(sto_conn *c, int64_t *lag_ms, char **errmsg)
{
    static const char sql[] =
        "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
        " WHEN pg_last_wal_receive_lsn() IS NOT NULL"
        "  AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
        " WHEN pg_last_xact_replay_timestamp() IS NULL THEN 9223372036854775807"
        " ELSE CAST(GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() -"
        " pg_last_xact_replay_timestamp()) * 1000) AS BIGINT) END";
    *lag_ms = INT64_MAX;
    return pg_query(c, sql, NULL, 0, lag_row, lag_ms, errmsg);
}

static void pg_set_answer_timeout(sto_conn *c, int64_t ms)
{
    c->answer_timeout_ms = ms > 0 ? ms : 0;
}

const struct sto_backend sto_postgres_backend = {
    .api_version = STO_BACKEND_API_VERSION,
    .name = "postgres",
    .url_target = pg_url_target,
    .open = pg_open,
    .close = pg_close,
    .exec_script = pg_exec_script,
    .query = pg_query,
    .tx = pg_tx,
    .replica_lag = pg_replica_lag,
    .set_answer_timeout = pg_set_answer_timeout,
};
