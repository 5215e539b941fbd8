/*
 * libFuzzer driver for the remote detector's reply parser
 * (src/detect/object/remote_parse.c), which reads whatever a network
 * provider sends. The first 4 bytes pick the image size, the rest is the
 * reply body. Invariants: success gives at most cap boxes, each finite,
 * inside [0,1], not inverted, with a score in 0..1 and a known label;
 * failure gives a message and no boxes.
 */
#include "detect.h"
#include "remote_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *const labels[] = {"person", "car", "dog"};
    int width = 768, height = 576;
    if (size >= 4) {
        width = 1 + ((data[0] << 8 | data[1]) % 4096);
        height = 1 + ((data[2] << 8 | data[3]) % 4096);
        data += 4;
        size -= 4;
    }
    struct det_box boxes[8];
    size_t n = 99, unknown = 0;
    char *err = NULL;
    int rc = det_remote_parse((const char *)data, size, width, height, labels, 3, boxes, 8, &n,
                              &unknown, &err);
    if (rc) {
        check(err != NULL && n == 0);
        free(err);
        return 0;
    }
    check(err == NULL && n <= 8);
    for (size_t i = 0; i < n; i++) {
        const struct det_box *b = &boxes[i];
        check(isfinite(b->x0) && isfinite(b->y0) && isfinite(b->x1) && isfinite(b->y1));
        check(0 <= b->x0 && b->x0 <= b->x1 && b->x1 <= 1);
        check(0 <= b->y0 && b->y0 <= b->y1 && b->y1 <= 1);
        check(0 <= b->score && b->score <= 1);
        check(b->label >= 0 && b->label < 3);
    }
    return 0;
}
