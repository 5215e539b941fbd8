/*
 * libFuzzer driver for the PostgreSQL backend's readers of foreign bytes
 * (src/storage/postgres.c): a result cell as a server sends it in text
 * form, decoded by its column type (the first byte picks the type), and
 * SQL text scanned for placeholders and type words. Invariants: a decoded
 * cell has the type its column promises (or is refused); a bytea cell
 * decodes to half its hex digits, NUL-terminated; the type rewrite leaves
 * no bare INTEGER or REAL outside quotes and comments and keeps the
 * placeholder count.
 */
#include "postgres_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const Oid types[] = {16, 17, 20, 21, 23, 25, 26, 700, 701, 1700, 1043, 705};
    if (size < 1 || size > 1 << 16)
        return 0;
    Oid type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = strlen(text); /* a server's text-form value has no NUL */

    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attr = {.name = "c", .format = 0, .typid = type, .typlen = -1, .atttypmod = -1};
    check(res && PQsetResultAttrs(res, 1, &attr) && PQsetvalue(res, 0, 0, text, (int)len));
    sto_value v;
    void *owned = NULL;
    if (sto_pg_cell_value(res, 0, 0, &v, &owned) == 0) {
        switch (type) {
        case 16:
        case 20:
        case 21:
        case 23:
        case 26:
            check(v.type == STO_INT);
            break;
        case 700:
        case 701:
            check(v.type == STO_REAL);
            break;
        case 1700:
            check(v.type == STO_INT || v.type == STO_REAL);
            break;
        case 17:
            check(v.type == STO_BLOB && v.len == (len - 2) / 2 && owned == v.blob &&
                  ((const uint8_t *)v.blob)[v.len] == 0);
            break;
        default:
            check(v.type == STO_TEXT && v.len == len && v.s[len] == '\0');
        }
    }
    free(owned);
    PQclear(res);

    size_t max_before, distinct_before, max_after, distinct_after;
    sto_pg_count_params(text, &max_before, &distinct_before);
    check(distinct_before <= max_before || max_before == 0);
    char *wide = sto_pg_widen_types(text);
    check(wide != NULL);
    sto_pg_count_params(wide, &max_after, &distinct_after);
    check(max_after == max_before && distinct_after == distinct_before);
    char *again = sto_pg_widen_types(wide); /* nothing left to widen: a fixed point */
    check(strcmp(again, wide) == 0);
    free(again);
    free(wide);
    free(text);
    return 0;
}
