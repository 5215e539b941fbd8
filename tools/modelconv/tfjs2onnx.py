#!/usr/bin/env python3
"""Convert a TensorFlow.js graph model (model.json + weight shards) to ONNX.

Horus's own converter (docs/design/0035-object-detection-runtime.md). Python's standard
library only: the ONNX protobuf is written by hand (a few message types), float16 weights
are widened with struct's 'e' format. The output is deterministic: the same input and
options give the same bytes, which scripts/deps-detect checks against a recorded digest.

What it does:
- TF graphs are NHWC; ONNX convolutions are NCHW. The converter tracks, for every tensor,
  the permutation between its TF view and the ONNX tensor that holds it, so TF Transpose
  nodes cost nothing and an ONNX Transpose is emitted only where an op needs a specific
  layout (Reshape, graph outputs). A graph converted from ONNX to TF (onnx-tf, as NanoDet's
  was) comes back with almost no Transpose left.
- Constant subgraphs (SparseToDense/AddV2 on shape constants) are folded here.
- Conv2D + a following bias Add become one Conv.
- Opset 12 with explicit shapes on the outputs, so OpenCV 4.6's importer can read it too.
- --size N re-targets a fixed-size model to an N x N input (Resize sizes are scaled).

Supported ops: Placeholder, Const, Identity, Conv2D, MaxPool, Pad, PadV2, Add, AddV2,
BiasAdd, Mul, LeakyRelu, Relu, Relu6, Sigmoid, ConcatV2, Reshape, Transpose, SplitV,
ResizeBilinear, SparseToDense (constant only). Anything else is a clear error.

Usage: tfjs2onnx.py [--size N] model.json out.onnx
"""

import argparse
import json
import os
import struct
import sys


class ConvertError(Exception):
    pass


# --- protobuf wire format (just what ONNX needs) ---------------------------------------


def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def pb_int(field, v):
    return _key(field, 0) + _varint(int(v))


def pb_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return _key(field, 2) + _varint(len(b)) + b


def pb_float(field, v):
    return _key(field, 5) + struct.pack("<f", v)


# ONNX enums
FLOAT, INT32, INT64 = 1, 6, 7
A_FLOAT, A_INT, A_STRING, A_INTS = 1, 2, 3, 7


def attr(name, v):
    msg = pb_bytes(1, name)
    if isinstance(v, float):
        msg += pb_float(2, v) + pb_int(20, A_FLOAT)
    elif isinstance(v, int):
        msg += pb_int(3, v) + pb_int(20, A_INT)
    elif isinstance(v, str):
        msg += pb_bytes(4, v) + pb_int(20, A_STRING)
    elif isinstance(v, (list, tuple)):
        msg += b"".join(pb_int(8, x) for x in v) + pb_int(20, A_INTS)
    else:
        raise TypeError(v)
    return msg


def tensor_proto(name, dtype, dims, raw):
    msg = b"".join(pb_int(1, d) for d in dims)
    msg += pb_int(2, dtype) + pb_bytes(8, name) + pb_bytes(9, raw)
    return msg


def value_info(name, shape):
    dims = b"".join(pb_bytes(1, pb_int(1, d)) for d in shape)
    tensor_type = pb_int(1, FLOAT) + pb_bytes(2, dims)
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, tensor_type))


# --- the model being built ------------------------------------------------------------


class Onnx:
    def __init__(self):
        self.nodes = []  # serialised NodeProto
        self.inits = []  # serialised TensorProto
        self.count = 0

    def name(self, hint):
        self.count += 1
        return "%s_%d" % (hint, self.count)

    def init_floats(self, hint, dims, values):
        n = self.name(hint)
        self.inits.append(tensor_proto(n, FLOAT, dims, struct.pack("<%df" % len(values), *values)))
        return n

    def init_int64(self, hint, values):
        n = self.name(hint)
        self.inits.append(
            tensor_proto(n, INT64, [len(values)], struct.pack("<%dq" % len(values), *values))
        )
        return n

    def node(self, op, inputs, outputs, **attrs):
        msg = b"".join(pb_bytes(1, i) for i in inputs)
        msg += b"".join(pb_bytes(2, o) for o in outputs)
        msg += pb_bytes(3, outputs[0]) + pb_bytes(4, op)
        msg += b"".join(pb_bytes(5, attr(k, attrs[k])) for k in sorted(attrs))
        self.nodes.append([op, inputs, outputs, msg])
        return self.nodes[-1]

    def serialise(self, inputs, outputs):
        graph = b"".join(pb_bytes(1, n[3]) for n in self.nodes)
        graph += pb_bytes(2, "horus-tfjs2onnx")
        graph += b"".join(pb_bytes(5, t) for t in self.inits)
        graph += b"".join(pb_bytes(11, value_info(n, s)) for n, s in inputs)
        graph += b"".join(pb_bytes(12, value_info(n, s)) for n, s in outputs)
        model = pb_int(1, 7)  # IR version 7 goes with opset 12
        model += pb_bytes(2, "horus-tfjs2onnx") + pb_bytes(3, "1")
        model += pb_bytes(7, graph)
        model += pb_bytes(8, pb_bytes(1, "") + pb_int(2, 12))
        return model


# --- reading the TFJS model ---------------------------------------------------------------


def load_weights(model_path, manifest):
    """Returns {name: (kind, shape, values)} with kind 'f' (float32 list) or 'i' (int list)."""
    base = os.path.dirname(model_path)
    out = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = 1
            for d in w["shape"]:
                n *= d
            q = w.get("quantization")
            if q and q.get("dtype") == "float16":
                fmt, size, kind = "e", 2, "f"
            elif q:
                raise ConvertError("weight '%s': quantization %s is not supported" % (w["name"], q))
            elif w["dtype"] == "float32":
                fmt, size, kind = "f", 4, "f"
            elif w["dtype"] == "int32":
                fmt, size, kind = "i", 4, "i"
            else:
                raise ConvertError("weight '%s': dtype %s is not supported" % (w["name"], w["dtype"]))
            if off + n * size > len(blob):
                raise ConvertError("weight '%s': the weight files are too short" % w["name"])
            out[w["name"]] = (kind, list(w["shape"]), list(struct.unpack_from("<%d%s" % (n, fmt), blob, off)))
            off += n * size
        if off != len(blob):
            raise ConvertError("weight files of %s: %d bytes left over" % (group["paths"], len(blob) - off))
    return out


def tf_name(ref):
    """'node:1' -> ('node', 1); '^ctrl' inputs are dropped by the caller."""
    if ":" in ref:
        n, i = ref.rsplit(":", 1)
        return n, int(i)
    return ref, 0


# --- conversion ---------------------------------------------------------------------------


class Tensor:
    """A TF tensor held by ONNX tensor `name`: TF dim i is ONNX dim perm[i]; shape is TF's."""

    def __init__(self, name, perm, shape):
        self.name, self.perm, self.shape = name, list(perm), list(shape)


NHWC_IN_NCHW = [0, 2, 3, 1]


class Converter:
    def __init__(self, model, weights, size):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        self.size = size
        self.scale = 1.0
        self.o = Onnx()
        self.vals = {}  # (tf node, index) -> Tensor or ('const', kind, shape, values)
        self.consumers = {}
        for n in self.nodes.values():
            for ref in n.get("input", []):
                if not ref.startswith("^"):
                    k = tf_name(ref)
                    self.consumers[k] = self.consumers.get(k, 0) + 1
        self.conv_of = {}  # ONNX output name -> [node record, out channels] of a bias-less Conv
        self.inputs = []

    # values

    def get(self, ref):
        key = tf_name(ref)
        if key not in self.vals:
            self.convert(key[0])
        if key not in self.vals:
            raise ConvertError("node '%s' has no output %d" % key)
        return self.vals[key]

    def const(self, ref, what):
        v = self.get(ref)
        if not isinstance(v, tuple):
            raise ConvertError("%s: input '%s' must be a constant" % (what, ref))
        return v

    def ensure(self, t, perm):
        """An ONNX tensor holding TF tensor t with the given permutation."""
        if t.perm == perm:
            return t.name
        # out dim perm[i] must be in dim t.perm[i]
        onnx_perm = [0] * len(perm)
        for i in range(len(perm)):
            onnx_perm[perm[i]] = t.perm[i]
        out = self.o.name("transpose")
        self.o.node("Transpose", [t.name], [out], perm=onnx_perm)
        return out

    def onnx_shape(self, t):
        s = [0] * len(t.shape)
        for i, d in enumerate(t.shape):
            s[t.perm[i]] = d
        return s

    # nodes

    def convert(self, name):
        stack = [name]
        while stack:  # iterative depth-first order: deep graphs do not hit the recursion limit
            cur = stack[-1]
            node = self.nodes.get(cur)
            if node is None:
                raise ConvertError("input '%s' names no node" % cur)
            missing = [
                tf_name(r)[0]
                for r in node.get("input", [])
                if not r.startswith("^") and tf_name(r) not in self.vals and tf_name(r)[0] not in stack
            ]
            if missing:
                stack.append(missing[0])
                continue
            stack.pop()
            if (cur, 0) not in self.vals:
                self.convert_one(node)

    def convert_one(self, node):
        op, name = node["op"], node["name"]
        ins = [r for r in node.get("input", []) if not r.startswith("^")]
        a = node.get("attr", {})
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise ConvertError("node '%s': op %s is not supported" % (name, op))
        fn(name, ins, a)

    def set(self, name, value, index=0):
        self.vals[(name, index)] = value

    def op_Const(self, name, ins, a):
        w = self.weights.get(name)
        if w is None:
            raise ConvertError("constant '%s' has no weights in the manifest" % name)
        self.set(name, ("const",) + w)

    def op_Placeholder(self, name, ins, a):
        dims = [int(d.get("size", -1)) for d in a["shape"]["shape"]["dim"]]
        if len(dims) != 4 or dims[0] not in (1, -1) or dims[2] != dims[3]:
            raise ConvertError("input '%s': shape %s, expected [1, C, S, S] or [1, S, S, C]" % (name, dims))
        if dims[1] in (1, 3):  # NCHW
            shape, native = [1, dims[1], self.size, self.size], dims[2]
        elif dims[3] in (1, 3):
            shape, native = [1, self.size, self.size, dims[3]], dims[1]
        else:
            raise ConvertError("input '%s': shape %s has no channel dimension of 1 or 3" % (name, dims))
        if native > 0:
            self.scale = self.size / native
        self.inputs.append(("input", shape))
        self.set(name, Tensor("input", range(4), shape))

    def op_Identity(self, name, ins, a):
        self.set(name, self.get(ins[0]))

    def op_SparseToDense(self, name, ins, a):
        idx = self.const(ins[0], name)
        out_shape = self.const(ins[1], name)[3]
        default = self.const(ins[3], name)[3]
        if idx[2][0] != 0:
            raise ConvertError("node '%s': SparseToDense with indices is not supported" % name)
        n = 1
        for d in out_shape:
            n *= d
        self.set(name, ("const", "i", list(out_shape), [default[0]] * n))

    def binary(self, name, ins, op):
        x, y = self.get(ins[0]), self.get(ins[1])
        if isinstance(x, tuple) and isinstance(y, tuple):  # fold shape arithmetic
            if x[1] != "i" or y[1] != "i" or len(x[3]) != len(y[3]) or op != "Add":
                raise ConvertError("node '%s': constant %s is not supported" % (name, op))
            self.set(name, ("const", "i", x[2], [p + q for p, q in zip(x[3], y[3])]))
            return
        if isinstance(x, tuple):
            x, y = y, x
        if isinstance(y, tuple):
            self.binary_const(name, x, y, op)
            return
        yname = self.ensure(y, x.perm)
        out = self.o.name(op.lower())
        self.o.node(op, [x.name, yname], [out])
        shape = [max(p, q) for p, q in zip(x.shape, y.shape)]
        self.set(name, Tensor(out, x.perm, shape))

    def binary_const(self, name, x, c, op):
        kind, cshape, values = c[1], c[2], c[3]
        if kind != "f":
            raise ConvertError("node '%s': %s with an integer constant is not supported" % (name, op))
        rank = len(x.shape)
        full = [1] * (rank - len(cshape)) + list(cshape)
        big = [i for i, d in enumerate(full) if d != 1]
        if len(big) > 1:
            raise ConvertError("node '%s': %s with a constant of shape %s is not supported" % (name, op, cshape))
        conv = self.conv_of.get(x.name)
        if (op == "Add" and conv and big and full[big[0]] == conv[1] and big[0] == rank - 1
                and x.perm == NHWC_IN_NCHW and self.consumers.get((conv[2], 0)) == 1):
            bias = self.o.init_floats("bias", [len(values)], values)
            node = conv[0]
            self.o.nodes.remove(node)
            self.o.node("Conv", node[1] + [bias], node[2], **conv[3])
            del self.conv_of[x.name]
            self.set(name, x)
            return
        onnx_dims = [1] * rank
        for i in range(rank):
            onnx_dims[x.perm[i]] = full[i]
        cname = self.o.init_floats("const", onnx_dims, values)
        out = self.o.name(op.lower())
        self.o.node(op, [x.name, cname], [out])
        self.set(name, Tensor(out, x.perm, x.shape))

    def op_Add(self, name, ins, a):
        self.binary(name, ins, "Add")

    op_AddV2 = op_Add
    op_BiasAdd = op_Add

    def op_Mul(self, name, ins, a):
        self.binary(name, ins, "Mul")

    def unary(self, name, ins, op, **attrs):
        x = self.get(ins[0])
        out = self.o.name(op.lower())
        self.o.node(op, [x.name], [out], **attrs)
        self.set(name, Tensor(out, x.perm, x.shape))

    def op_LeakyRelu(self, name, ins, a):
        self.unary(name, ins, "LeakyRelu", alpha=float(a.get("alpha", {}).get("f", 0.2)))

    def op_Relu(self, name, ins, a):
        self.unary(name, ins, "Relu")

    def op_Relu6(self, name, ins, a):
        # Clip with constant min/max inputs; OpenCV 4.6 reads those as ReLU6
        x = self.get(ins[0])
        lo = self.o.init_floats("min", [], [0.0])
        hi = self.o.init_floats("max", [], [6.0])
        out = self.o.name("clip")
        self.o.node("Clip", [x.name, lo, hi], [out])
        self.set(name, Tensor(out, x.perm, x.shape))

    def op_Sigmoid(self, name, ins, a):
        self.unary(name, ins, "Sigmoid")

    def op_Transpose(self, name, ins, a):
        x = self.get(ins[0])
        q = self.const(ins[1], name)[3]
        self.set(name, Tensor(x.name, [x.perm[i] for i in q], [x.shape[i] for i in q]))

    def pad(self, name, x, paddings, value):
        rank = len(x.shape)
        if len(paddings) != 2 * rank:
            raise ConvertError("node '%s': paddings of %d values for rank %d" % (name, len(paddings), rank))
        pads = [0] * (2 * rank)
        for i in range(rank):
            pads[x.perm[i]] = paddings[2 * i]
            pads[rank + x.perm[i]] = paddings[2 * i + 1]
        p = self.o.init_int64("pads", pads)
        v = self.o.init_floats("pad_value", [], [value])
        out = self.o.name("pad")
        self.o.node("Pad", [x.name, p, v], [out], mode="constant")
        shape = [d + paddings[2 * i] + paddings[2 * i + 1] for i, d in enumerate(x.shape)]
        self.set(name, Tensor(out, x.perm, shape))

    def op_Pad(self, name, ins, a):
        self.pad(name, self.get(ins[0]), self.const(ins[1], name)[3], 0.0)

    def op_PadV2(self, name, ins, a):
        self.pad(name, self.get(ins[0]), self.const(ins[1], name)[3], float(self.const(ins[2], name)[3][0]))

    def window(self, name, a):
        if a.get("data_format", {}).get("s", "TkhXQw==") != "TkhXQw==":  # base64 "NHWC"
            raise ConvertError("node '%s': only NHWC data is supported" % name)
        if a.get("padding", {}).get("s") != "VkFMSUQ=":  # base64 "VALID"
            raise ConvertError("node '%s': only VALID padding is supported" % name)
        strides = [int(s) for s in a.get("strides", {}).get("list", {}).get("i", [1, 1, 1, 1])]
        return strides[1:3]

    def op_Conv2D(self, name, ins, a):
        x = self.get(ins[0])
        kind, wshape, w = self.const(ins[1], name)[1:]
        kh, kw, ci, co = wshape
        if x.shape[3] != ci:
            raise ConvertError("node '%s': %d input channels, the filter has %d" % (name, x.shape[3], ci))
        strides = self.window(name, a)
        dil = [int(s) for s in a.get("dilations", {}).get("list", {}).get("i", [1, 1, 1, 1])][1:3]
        # HWIO -> OIHW
        oihw = []
        for o in range(co):
            seg = w[o::co]
            for i in range(ci):
                oihw.extend(seg[i::ci])
        wname = self.o.init_floats("weight", [co, ci, kh, kw], oihw)
        xin = self.ensure(x, NHWC_IN_NCHW)
        out = self.o.name("conv")
        attrs = dict(kernel_shape=[kh, kw], strides=strides, dilations=dil, pads=[0, 0, 0, 0], group=1)
        node = self.o.node("Conv", [xin, wname], [out], **attrs)
        self.conv_of[out] = [node, co, name, attrs]
        h = (x.shape[1] - dil[0] * (kh - 1) - 1) // strides[0] + 1
        wd = (x.shape[2] - dil[1] * (kw - 1) - 1) // strides[1] + 1
        self.set(name, Tensor(out, NHWC_IN_NCHW, [x.shape[0], h, wd, co]))

    def op_MaxPool(self, name, ins, a):
        x = self.get(ins[0])
        strides = self.window(name, a)
        k = [int(s) for s in a["ksize"]["list"]["i"]][1:3]
        xin = self.ensure(x, NHWC_IN_NCHW)
        out = self.o.name("maxpool")
        self.o.node("MaxPool", [xin], [out], kernel_shape=k, strides=strides, pads=[0, 0, 0, 0])
        h = (x.shape[1] - k[0]) // strides[0] + 1
        wd = (x.shape[2] - k[1]) // strides[1] + 1
        self.set(name, Tensor(out, NHWC_IN_NCHW, [x.shape[0], h, wd, x.shape[3]]))

    def op_ConcatV2(self, name, ins, a):
        axis = self.const(ins[-1], name)[3][0]
        xs = [self.get(r) for r in ins[:-1]]
        rank = len(xs[0].shape)
        if axis < 0:
            axis += rank
        perm = xs[0].perm
        names = [self.ensure(x, perm) for x in xs]
        out = self.o.name("concat")
        self.o.node("Concat", names, [out], axis=perm[axis])
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        self.set(name, Tensor(out, perm, shape))

    def op_SplitV(self, name, ins, a):
        x = self.get(ins[0])
        sizes = self.const(ins[1], name)[3]
        axis = self.const(ins[2], name)[3][0]
        if axis < 0:
            axis += len(x.shape)
        if -1 in sizes:
            rest = x.shape[axis] - sum(s for s in sizes if s != -1)
            sizes = [rest if s == -1 else s for s in sizes]
        if sum(sizes) != x.shape[axis]:
            raise ConvertError("node '%s': split sizes %s do not add up to %d" % (name, sizes, x.shape[axis]))
        outs = [self.o.name("split") for _ in sizes]
        self.o.node("Split", [x.name], outs, axis=x.perm[axis], split=list(sizes))
        for i, s in enumerate(sizes):
            shape = list(x.shape)
            shape[axis] = s
            self.set(name, Tensor(outs[i], x.perm, shape), i)

    def op_Reshape(self, name, ins, a):
        x = self.get(ins[0])
        target = list(self.const(ins[1], name)[3])
        xin = self.ensure(x, list(range(len(x.shape))))
        total = 1
        for d in x.shape:
            total *= d
        known = 1
        for d in target:
            if d != -1:
                known *= d
        if -1 in target:
            target[target.index(-1)] = total // known
        elif known != total:
            raise ConvertError("node '%s': cannot reshape %s to %s (input size changed?)" % (name, x.shape, target))
        shp = self.o.init_int64("shape", [d if d > 0 else -1 for d in self.const(ins[1], name)[3]])
        out = self.o.name("reshape")
        self.o.node("Reshape", [xin, shp], [out])
        self.set(name, Tensor(out, range(len(target)), target))

    def op_ResizeBilinear(self, name, ins, a):
        x = self.get(ins[0])
        native = self.const(ins[1], name)[3]
        size = []
        for d in native:
            s = d * self.scale
            if abs(s - round(s)) > 1e-6:
                raise ConvertError("node '%s': resize to %s does not scale to input %d" % (name, native, self.size))
            size.append(int(round(s)))
        if a.get("align_corners", {}).get("b"):
            mode = "align_corners"
        elif a.get("half_pixel_centers", {}).get("b"):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        shape = [x.shape[0], size[0], size[1], x.shape[3]]
        t = Tensor(None, x.perm, shape)
        roi = self.o.init_floats("roi", [0], [])
        scales = self.o.init_floats("scales", [0], [])
        sizes = self.o.init_int64("sizes", self.onnx_shape(t))
        out = self.o.name("resize")
        self.o.node("Resize", [x.name, roi, scales, sizes], [out], mode="linear",
                    coordinate_transformation_mode=mode)
        t.name = out
        self.set(name, t)


def convert(model_path, size):
    with open(model_path) as f:
        model = json.load(f)
    if model.get("format") != "graph-model":
        raise ConvertError("%s: format '%s', expected a TFJS graph-model" % (model_path, model.get("format")))
    weights = load_weights(model_path, model["weightsManifest"])
    c = Converter(model, weights, size)
    outs = model.get("signature", {}).get("outputs")
    if not outs:
        raise ConvertError("%s: no signature outputs" % model_path)
    graph_outputs = []
    for key in sorted(outs):
        t = c.get(key)
        if isinstance(t, tuple):
            raise ConvertError("output '%s' is a constant" % key)
        src = c.ensure(t, list(range(len(t.shape))))
        out = tf_name(key)[0]
        c.o.node("Identity", [src], [out])
        graph_outputs.append((out, t.shape))
    return c.o.serialise(c.inputs, graph_outputs), graph_outputs


def write_model(out, data, outputs, prog):
    """Writes the model bytes to out atomically (tmp + rename) and says what it wrote."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    print("%s: %s: %d bytes, outputs %s" % (prog, out, len(data),
          ", ".join("%s%s" % (n, s) for n, s in outputs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=416, help="square input size (a multiple of 32)")
    ap.add_argument("model", help="TFJS model.json (weights beside it)")
    ap.add_argument("out", help="ONNX file to write")
    args = ap.parse_args()
    if args.size < 32 or args.size % 32:
        print("tfjs2onnx: --size: must be a positive multiple of 32", file=sys.stderr)
        return 2
    try:
        data, outputs = convert(args.model, args.size)
    except (ConvertError, OSError, ValueError, KeyError) as e:
        print("tfjs2onnx: %s" % e, file=sys.stderr)
        return 1
    write_model(args.out, data, outputs, "tfjs2onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
