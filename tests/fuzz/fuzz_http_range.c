/*
 * libFuzzer driver for the HTTP header parsers in src/http/http_range.c:
 * the first 8 bytes of the input pick a representation size, the rest is a
 * header value given to http_range_parse, http_etag_list_match (both
 * comparisons) and http_date_parse. Checks the invariants callers rely
 * on: a partial range lies inside the file and first <= last; a parsed
 * date formats back to the same text.
 */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t file_size = 0;
    if (size >= 8) {
        memcpy(&file_size, data, 8);
        data += 8;
        size -= 8;
        if (file_size & 1)
            file_size %= 100000; /* small sizes half of the time, so ranges hit the edges */
    }
    char *header = malloc(size + 1);
    memcpy(header, data, size);
    header[size] = '\0';

    uint64_t first = 0, last = 0;
    enum http_range_kind k = http_range_parse(header, file_size, &first, &last);
    if (k == HTTP_RANGE_PARTIAL && (first > last || last >= file_size))
        __builtin_trap();
    http_etag_list_match(header, "\"abc\"", false);
    http_etag_list_match(header, "abc", true);
    int64_t t;
    if (http_date_parse(header, &t) == 0) {
        char back[40];
        http_date_format(t, back, sizeof(back));
        /* The weekday is not checked on input, so compare from the day on. */
        if (strcmp(back + 5, header + 5) != 0 && strstr(header, " 60 GMT") == NULL &&
            strstr(header, ":60 GMT") == NULL)
            __builtin_trap();
    }
    free(header);
    return 0;
}
