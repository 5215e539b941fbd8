/*
 * DESIGN: the configuration engine's error list. Every message is
 * "file:line:col: key.path: reason", built once when it is added; the list
 * stops growing at CFG_ERRORS_MAX with one line that says so, so a file of
 * garbage cannot make the loader allocate without bound. Thread: the
 * caller's (a cfg_errors is never shared).
 */
#include "cfg_int.h"

#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_errors_init(cfg_errors *e, const char *file)
{
    memset(e, 0, sizeof(*e));
    e->file = file;
}

void cfg_errors_release(cfg_errors *e)
{
    for (size_t i = 0; i < e->count; i++)
        free(e->items[i]);
    free(e->items);
    e->items = NULL;
    e->count = 0;
}

static void errors_push(cfg_errors *e, int line, int col, const char *path, const char *reason)
{
    char where[320];
    int n = snprintf(where, sizeof(where), "%.250s%s", e->file ? e->file : "", e->file ? ":" : "");
    if (line > 0)
        snprintf(where + n, sizeof(where) - (size_t)n, "%d:%d:", line, col);
    bool has_path = path && *path;
    char *msg = horus_asprintf("%s%s%s%s%s", where, where[0] ? " " : "", has_path ? path : "",
                               has_path ? ": " : "", reason);
    e->items = horus_realloc(e->items, (e->count + 1) * sizeof(*e->items));
    e->items[e->count++] = msg;
}

void cfg_errors_vadd(cfg_errors *e, int line, int col, const char *path, const char *fmt,
                     va_list ap)
{
    if (e->count > CFG_ERRORS_MAX)
        return;
    if (e->count == CFG_ERRORS_MAX) {
        char reason[80];
        snprintf(reason, sizeof(reason), "too many errors; only the first %d are shown",
                 CFG_ERRORS_MAX);
        errors_push(e, 0, 0, NULL, reason);
        return;
    }
    char reason[1024];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    errors_push(e, line, col, path, reason);
}

void cfg_errors_add(cfg_errors *e, int line, int col, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_errors_vadd(e, line, col, path, fmt, ap);
    va_end(ap);
}
