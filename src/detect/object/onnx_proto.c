/*
 * DESIGN: just enough of the protobuf wire format to find an ONNX model's
 * input shape: ModelProto.graph (7) -> GraphProto.input (11) ->
 * ValueInfoProto {name (1), type (2)} -> TypeProto.tensor_type (1) ->
 * {elem_type (1), shape (2)} -> TensorShapeProto.dim (1) -> Dimension
 * {dim_value (1) | dim_param (2)}; GraphProto.initializer (5) ->
 * TensorProto.name (8) to skip inputs that are weights. Every length is
 * checked against the enclosing message before it is used; unknown fields
 * are skipped by wire type; groups (deprecated) are refused. The bytes
 * are untrusted (a user's file): tests/fuzz/fuzz_onnx_proto.c.
 */
#include "onnx_proto_int.h"

#include "err.h"

#include <stdbool.h>
#include <string.h>

#define MAX_INPUTS 64

struct pb {
    const uint8_t *p, *end;
};

static bool varint(struct pb *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return false;
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/*
 * The next field of r: its number, wire type and, for length-delimited
 * ones, the bytes in *sub; for varints the value in *v. False at the end
 * or on malformed bytes (*bad set).
 */
static bool next(struct pb *r, uint32_t *field, struct pb *sub, uint64_t *v, bool *bad)
{
    if (r->p >= r->end)
        return false;
    uint64_t key;
    *bad = true;
    if (!varint(r, &key) || key >> 3 == 0 || key >> 3 >= (1u << 29))
        return false;
    *field = (uint32_t)(key >> 3);
    *v = 0;
    *sub = (struct pb){NULL, NULL};
    switch (key & 7) {
    case 0:
        if (!varint(r, v))
            return false;
        break;
    case 1:
        if (r->end - r->p < 8)
            return false;
        r->p += 8;
        break;
    case 2: {
        uint64_t n;
        if (!varint(r, &n) || n > (uint64_t)(r->end - r->p))
            return false;
        *sub = (struct pb){r->p, r->p + n};
        r->p += n;
        break;
    }
    case 5:
        if (r->end - r->p < 4)
            return false;
        r->p += 4;
        break;
    default: /* groups (3, 4) and 6, 7 */
        return false;
    }
    *field |= (uint32_t)(key & 7) << 29; /* the wire type in the top bits */
    *bad = false;
    return true;
}

#define F(num, wire) ((uint32_t)(num) | (uint32_t)(wire) << 29)

/* The name (field name_field, bytes) of a message. */
static struct pb name_of(struct pb m, uint32_t name_field, bool *bad)
{
    uint32_t f;
    struct pb sub, found = {NULL, NULL};
    uint64_t v;
    while (next(&m, &f, &sub, &v, bad))
        if (f == F(name_field, 2))
            found = sub;
    return found;
}

static bool same(struct pb a, struct pb b)
{
    return a.p && b.p && a.end - a.p == b.end - b.p && memcmp(a.p, b.p, (size_t)(a.end - a.p)) == 0;
}

/* ValueInfoProto -> elem type and dims. */
static int value_info_shape(struct pb vi, int *elem_type, int64_t *dims, size_t cap, size_t *ndims,
                            const char **why)
{
    uint32_t f;
    struct pb type = {NULL, NULL}, sub, tensor = {NULL, NULL}, shape = {NULL, NULL};
    uint64_t v;
    bool bad = false;
    while (next(&vi, &f, &sub, &v, &bad))
        if (f == F(2, 2))
            type = sub;
    while (!bad && type.p && next(&type, &f, &sub, &v, &bad))
        if (f == F(1, 2))
            tensor = sub;
    if (bad || !tensor.p) {
        *why = bad ? "input type: malformed" : "input: not a tensor";
        return HORUS_EPARSE;
    }
    *elem_type = 0;
    while (next(&tensor, &f, &sub, &v, &bad)) {
        if (f == F(1, 0))
            *elem_type = v > 1000 ? -1 : (int)v;
        else if (f == F(2, 2))
            shape = sub;
    }
    if (bad || !shape.p) {
        *why = bad ? "input tensor type: malformed" : "input: no shape";
        return HORUS_EPARSE;
    }
    *ndims = 0;
    while (next(&shape, &f, &sub, &v, &bad)) {
        if (f != F(1, 2))
            continue;
        int64_t d = -1;
        struct pb dim = sub;
        while (next(&dim, &f, &sub, &v, &bad))
            if (f == F(1, 0))
                d = v > INT64_MAX ? -1 : (int64_t)v;
        if (bad)
            break;
        if (*ndims == cap) {
            *why = "input: too many dimensions";
            return HORUS_EPARSE;
        }
        dims[(*ndims)++] = d;
    }
    if (bad) {
        *why = "input shape: malformed";
        return HORUS_EPARSE;
    }
    return 0;
}

int det_onnx_input_shape(const uint8_t *buf, size_t len, int *elem_type, int64_t *dims, size_t cap,
                         size_t *ndims, const char **why)
{
    *ndims = 0;
    *elem_type = 0;
    struct pb r = {buf, buf + len}, sub, graph = {NULL, NULL};
    uint32_t f;
    uint64_t v;
    bool bad = false;
    while (next(&r, &f, &sub, &v, &bad))
        if (f == F(7, 2) && !graph.p)
            graph = sub;
    if (bad || !graph.p) {
        *why = bad ? "not an ONNX model (malformed protobuf)" : "not an ONNX model (no graph)";
        return HORUS_EPARSE;
    }
    struct pb inputs[MAX_INPUTS], names[MAX_INPUTS];
    bool weight[MAX_INPUTS] = {0};
    size_t n = 0;
    struct pb g = graph;
    while (next(&g, &f, &sub, &v, &bad)) {
        if (f == F(11, 2) && n < MAX_INPUTS) {
            inputs[n] = sub;
            names[n] = name_of(sub, 1, &bad);
            if (bad)
                break;
            n++;
        }
    }
    g = graph;
    while (!bad && next(&g, &f, &sub, &v, &bad)) {
        if (f != F(5, 2))
            continue;
        struct pb name = name_of(sub, 8, &bad);
        for (size_t i = 0; i < n && !bad; i++)
            weight[i] |= same(name, names[i]);
    }
    if (bad) {
        *why = "graph: malformed";
        return HORUS_EPARSE;
    }
    for (size_t i = 0; i < n; i++)
        if (!weight[i])
            return value_info_shape(inputs[i], elem_type, dims, cap, ndims, why);
    *why = "graph: no input";
    return HORUS_EPARSE;
}
