"""Rewrite the Kokoro int8 export's convolutions onto onnxruntime's fast int8 matrix product.

The offline Kokoro is a dynamically quantized ONNX: every convolution is a `ConvInteger` with
unsigned 8-bit weights (per-tensor zero point). onnxruntime runs unsigned×unsigned products on
its widening AVX-512/AVX2 kernels, while unsigned-activation × signed-weight products get the
VNNI dot-product instruction (`vpdpbusd`), about twice as fast. Two thirds of a
Kokoro inference is those convolutions, mostly in the vocoder at the audio frame rate, so the
rewrite cuts the time to first audio and the real-time factor by roughly a third.

Each `ConvInteger` becomes: gather the quantized input into (frames × kernel·channels)
columns, then `MatMulInteger` with the weights made signed by subtracting their zero point.
Every Kokoro weight lies within 127 steps of its zero point, so this is exact: the int32
result, and so the audio, is bit for bit the original's (a weight that would not fit keeps
its convolution as it was). Without VNNI, x86's signed kernels saturate 16-bit intermediate
sums, so the rewrite is used only where the CPU has VNNI.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto

#: Bumped when the rewrite changes, so files made by an older version are made again.
REWRITE_VERSION = 1


def cpu_has_vnni() -> bool:
    """True on x86 CPUs with VNNI, where u8×s8 products are both exact and fast.

    Elsewhere the model runs as shipped: other x86 CPUs may saturate, and on ARM onnxruntime's
    kernel choice for u8×s8 was not measured here.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def rewrite_convs(model: ModelProto) -> int:
    """Rewrite the model's ConvInteger nodes in place; returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}

    def const(name: str, value: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    added: dict[int, list[NodeProto]] = {}
    count = 0
    for index, conv in enumerate(graph.node):
        if conv.op_type != "ConvInteger" or conv.input[1] not in inits or len(conv.input) < 4:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        if attrs.get("group", 1) != 1 or attrs.get("auto_pad", b"NOTSET") != b"NOTSET":
            continue
        w_u8 = numpy_helper.to_array(inits[conv.input[1]]).astype(np.int16)
        centred = w_u8 - int(numpy_helper.to_array(inits[conv.input[3]]))
        if centred.min() < -128 or centred.max() > 127:
            continue  # would not be exact in signed 8 bits: keep this one as it is
        w_s8 = centred.astype(np.int8)
        c_out, c_in, k = w_s8.shape
        dilation = int(attrs.get("dilations", [1])[0])
        stride = int(attrs.get("strides", [1])[0])
        pad_l, pad_r = (int(p) for p in attrs.get("pads", [0, 0]))

        p = f"{conv.name}_mm"
        x_q, x_zp = conv.input[0], conv.input[2]
        nodes = [
            helper.make_node("Transpose", [x_q], [f"{p}_xt"], perm=[0, 2, 1]),
            helper.make_node("Pad", [f"{p}_xt", const(f"{p}_pads", np.array(
                [0, pad_l, 0, 0, pad_r, 0], np.int64)), x_zp], [f"{p}_xp"]),
            helper.make_node("Shape", [f"{p}_xp"], [f"{p}_shape"], start=1, end=2),
            # frames out = (padded - dilation·(k-1) - 1) // stride + 1
            helper.make_node("Sub", [f"{p}_shape", const(f"{p}_span", np.array(
                [dilation * (k - 1) + 1], np.int64))], [f"{p}_room"]),
            helper.make_node("Div", [f"{p}_room", const(f"{p}_stride", np.array(
                [stride], np.int64))], [f"{p}_last"]),
            helper.make_node("Add", [f"{p}_last", const(f"{p}_one", np.array([1], np.int64))],
                             [f"{p}_frames"]),
            helper.make_node("Squeeze", [f"{p}_frames"], [f"{p}_n"]),
            helper.make_node("Range", [const(f"{p}_zero", np.array(0, np.int64)), f"{p}_n",
                                       const(f"{p}_delta", np.array(1, np.int64))],
                             [f"{p}_range"]),
            helper.make_node("Mul", [f"{p}_range", f"{p}_stride"], [f"{p}_starts"]),
            helper.make_node("Unsqueeze", [f"{p}_starts", const(f"{p}_axis1", np.array(
                [1], np.int64))], [f"{p}_col"]),
            helper.make_node("Add", [f"{p}_col", const(f"{p}_taps", (np.arange(
                k, dtype=np.int64) * dilation)[None, :])], [f"{p}_idx"]),
            helper.make_node("Gather", [f"{p}_xp", f"{p}_idx"], [f"{p}_cols4"], axis=1),
            helper.make_node("Reshape", [f"{p}_cols4", const(f"{p}_flat", np.array(
                [0, 0, -1], np.int64))], [f"{p}_cols"]),
            helper.make_node("MatMulInteger", [f"{p}_cols", const(f"{p}_w", np.ascontiguousarray(
                w_s8.transpose(2, 1, 0).reshape(k * c_in, c_out))), x_zp], [f"{p}_acc"]),
            helper.make_node("Transpose", [f"{p}_acc"], [conv.output[0]], perm=[0, 2, 1]),
        ]
        added[index] = nodes
        count += 1

    new_nodes = []
    for index, node in enumerate(graph.node):
        new_nodes.extend(added.get(index, [node]))
    del graph.node[:]
    graph.node.extend(new_nodes)
    return count

