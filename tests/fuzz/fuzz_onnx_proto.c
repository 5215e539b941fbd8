/*
 * libFuzzer driver for the ONNX input-shape reader
 * (src/detect/object/onnx_proto.c), which reads a user's model file before
 * OpenCV does. Invariants: success gives at most cap dims, each -1 or
 * >= 0; failure gives a sentence. ASan checks that nothing is read outside
 * the input.
 */
#include "err.h"
#include "onnx_proto_int.h"

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
    /* an exact-size copy, so that ASan sees any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        buf[i] = data[i];
    int64_t dims[4];
    size_t n = 99;
    int type = -5;
    const char *why = NULL;
    int rc = det_onnx_input_shape(buf, size, &type, dims, 4, &n, &why);
    if (rc == 0) {
        check(n <= 4);
        for (size_t i = 0; i < n; i++)
            check(dims[i] >= -1);
    } else {
        check(rc == HORUS_EPARSE && why && why[0]);
    }
    free(buf);
    return 0;
}
