/*
 * libFuzzer driver for the index journal's parser (what start-up runs on
 * <data>/recordings/index.journal after a crash): any input must parse
 * without reading out of bounds, the valid prefix must reparse to the same
 * records, and every row it yields must encode back to exactly the bytes
 * it was parsed from.
 */
#include "journal_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
    const uint8_t *data;
    size_t size;
    size_t count;
};

static int round_trip(void *arg, const struct rec_journal_record *rec)
{
    struct walk *w = arg;
    w->count++;
    if (rec->offset > w->size || rec->size > w->size - rec->offset)
        abort();
    uint8_t *buf;
    size_t n;
    if (rec_journal_encode(&rec->row, rec->seq, &buf, &n) != 0 || n != rec->size ||
        memcmp(buf, w->data + rec->offset, n) != 0)
        abort();
    free(buf);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec_journal_parse_result res;
    struct walk w = {data, size, 0};
    if (rec_journal_parse(data, size, round_trip, &w, &res) != 0)
        return 0;
    if (res.valid_size > size || res.records != w.count)
        abort();
    struct rec_journal_parse_result again;
    if (rec_journal_parse(data, res.valid_size, NULL, NULL, &again) != 0 ||
        again.records != res.records || again.valid_size != res.valid_size)
        abort();
    return 0;
}
