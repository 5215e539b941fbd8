#!/usr/bin/env python3
"""Write tiny synthetic ONNX models, one per detection head, for tests.

Each model has the input [1,3,64,64] (unused) and outputs that are constants of the shapes a
real model of that head gives, for 2 labels, holding one known box (docs/design/0044). They
test that src/detect/object/onnx.c recognises the head and decodes it end to end through ONNX
Runtime, where no real YOLO or SSD weights are reachable. Uses tfjs2onnx's protobuf writer.

Usage: synth_heads.py OUTDIR   (writes yolov5.onnx yolov8.onnx centernet.onnx ssd_raw.onnx
                                ssd_post.onnx)
The one box of every model: label 1, input pixels x 24..40, y 28..36, score 0.72 (YOLOv5:
objectness 0.9 x class 0.8), else 0.8.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs2onnx as t  # noqa: E402

S = 64


def model(outputs):
    """outputs: [(name, shape, flat values)] -> ONNX bytes."""
    o = t.Onnx()
    graph_outputs = []
    for name, shape, values in outputs:
        n = 1
        for d in shape:
            n *= d
        assert len(values) == n, (name, len(values), n)
        c = o.init_floats("const", shape, values)
        o.node("Identity", [c], [name])
        graph_outputs.append((name, shape))
    return o.serialise([("input", [1, 3, S, S])], graph_outputs)


def yolov5():
    rows = [[32, 32, 16, 8, 0.9, 0.1, 0.8], [10, 10, 4, 4, 0.1, 0.9, 0.0], [50, 50, 8, 8, 0.2, 0.3, 0.1]]
    return [("output0", [1, 3, 7], [v for r in rows for v in r])]


def yolov8():
    cols = [[32, 32, 16, 8, 0.1, 0.8], [10, 10, 4, 4, 0.2, 0.1], [50, 50, 8, 8, 0.3, 0.1]]
    return [("output0", [1, 6, 3], [cols[i][k] for k in range(6) for i in range(3)])]


def centernet():
    g = 16  # stride 4
    hm = [0.0] * (g * g * 2)
    wh = [0.0] * (g * g * 4)
    x, y = 8, 8  # centre (32, 32)
    hm[(y * g + x) * 2 + 1] = 0.8
    hm[(y * g + x - 1) * 2 + 1] = 0.6  # a neighbour: no second box
    wh[(y * g + x) * 4:(y * g + x) * 4 + 4] = [8, 4, 8, 4]
    return [("keypoints", [1, g, g, 2], hm), ("wh", [1, g, g, 4], wh)]


BOX = [28 / S, 24 / S, 36 / S, 40 / S]  # ymin, xmin, ymax, xmax


def ssd_raw():
    boxes = BOX + [0, 0, 1, 1] + [0, 0, 0.5, 0.5]
    scores = [0.1, 0.1, 0.8] + [0.9, 0.05, 0.05] + [0.8, 0.1, 0.1]  # background, 0, 1
    return [("boxes", [1, 3, 4], boxes), ("scores", [1, 3, 3], scores)]


def ssd_post():
    boxes = BOX + [0, 0, 1, 1] + [0, 0, 0.5, 0.5]
    return [("detection_boxes", [1, 3, 4], boxes), ("detection_scores", [1, 3], [0.8, 0.3, 0.9]),
            ("detection_classes", [1, 3], [1, 0, 0]), ("num_detections", [1], [2])]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for fn in (yolov5, yolov8, centernet, ssd_raw, ssd_post):
        with open(os.path.join(out, fn.__name__ + ".onnx"), "wb") as f:
            f.write(model(fn()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
