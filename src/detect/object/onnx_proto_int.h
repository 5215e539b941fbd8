/*
 * The input of an ONNX model, read from the file's protobuf bytes alone
 * (onnx_proto.c): the opencv backend needs the model's input size, which
 * OpenCV 4.6's DNN API does not report before a first forward pass.
 */
#ifndef HORUS_DETECT_ONNX_PROTO_INT_H
#define HORUS_DETECT_ONNX_PROTO_INT_H

#include <stddef.h>
#include <stdint.h>

/* ONNX TensorProto.DataType FLOAT */
#define DET_ONNX_FLOAT 1

/*
 * Finds the model's first graph input that is not an initializer (older
 * exporters list weights as inputs too) in len bytes of a serialized ONNX
 * ModelProto, and writes its element type, its dims (at most cap; a
 * symbolic or missing dim is -1) and their number. Returns 0, or
 * HORUS_EPARSE with *why (a static sentence) when the bytes are not a
 * model with such an input. Reads only inside buf; allocates nothing;
 * any thread.
 */
int det_onnx_input_shape(const uint8_t *buf, size_t len, int *elem_type, int64_t *dims, size_t cap,
                         size_t *ndims, const char **why);

#endif
