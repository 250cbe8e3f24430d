"""The int8 convolution rewrite: the same numbers as the shipped graph, only on a faster kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hub.tts.fast_model import Rewrites, build
from hub.tts.int8_convs import cpu_has_vnni, rewrite_convs

# (kernel, pads, dilation, stride): every convolution shape the Kokoro export uses.
KOKORO_SHAPES = [(5, 2, 1, 1), (1, 0, 1, 1), (3, 1, 1, 1), (3, 1, 1, 2), (12, 3, 1, 6),
                 (7, 3, 1, 1), (11, 5, 1, 1), (7, 9, 3, 1), (11, 25, 5, 1), (3, 5, 5, 1)]


def conv_model(path: Path, kernel: int, pads: int, dilation: int, stride: int,
               weights: np.ndarray, zero_point: int) -> None:
    """Dynamic quantization as onnxruntime's quantizer writes it: the int32 result is an output."""
    c_in = weights.shape[1]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], name="conv",
                         kernel_shape=[kernel], pads=[pads, pads], dilations=[dilation],
                         strides=[stride], group=1),
    ]
    graph = helper.make_graph(
        nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c_in, None])],
        [helper.make_tensor_value_info("acc", TensorProto.INT32, None)],
        [numpy_helper.from_array(weights, "w"),
         numpy_helper.from_array(np.array(zero_point, np.uint8), "wz")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def rewrite(source: Path, target: Path) -> int:
    model = onnx.load(str(source))
    count = rewrite_convs(model)
    onnx.save(model, str(target))
    return count


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize(("kernel", "pads", "dilation", "stride"), KOKORO_SHAPES)
def test_a_rewritten_convolution_gives_the_same_int32_result(tmp_path: Path, kernel: int,
                                                              pads: int, dilation: int,
                                                              stride: int) -> None:
    rng = np.random.default_rng(kernel * 100 + dilation * 10 + stride)
    # Weights within ±60 of the zero point: exact on every x86 kernel, VNNI or not.
    weights = (rng.integers(-60, 61, (16, 8, kernel)) + 100).astype(np.uint8)
    conv_model(tmp_path / "a.onnx", kernel, pads, dilation, stride, weights, 100)
    assert rewrite(tmp_path / "a.onnx", tmp_path / "b.onnx") == 1
    rewritten = onnx.load(str(tmp_path / "b.onnx"))
    assert "ConvInteger" not in {n.op_type for n in rewritten.graph.node}
    for frames in (8, 37, 400):
        x = rng.normal(size=(1, 8, frames)).astype(np.float32)
        expected = run(tmp_path / "a.onnx", x)
        np.testing.assert_array_equal(run(tmp_path / "b.onnx", x), expected)


def test_a_weight_that_would_not_fit_in_signed_8_bits_keeps_its_convolution(
        tmp_path: Path) -> None:
    weights = np.full((4, 4, 3), 200, np.uint8)  # 200 steps above a zero point of 0
    conv_model(tmp_path / "a.onnx", 3, 1, 1, 1, weights, 0)
    assert rewrite(tmp_path / "a.onnx", tmp_path / "b.onnx") == 0
    x = np.random.default_rng(0).normal(size=(1, 4, 20)).astype(np.float32)
    np.testing.assert_array_equal(run(tmp_path / "b.onnx", x), run(tmp_path / "a.onnx", x))


def test_the_rewritten_kokoro_gives_the_shipped_models_audio_bit_for_bit(
        synthesizer, data_dir: Path, tmp_path: Path) -> None:
    """The hub uses this rewrite only where the CPU has VNNI (elsewhere u8×s8 may saturate)."""
    from hub import data
    from hub.tts.onnx import OnnxBackend

    if not cpu_has_vnni():
        assert not Rewrites.for_config(synthesizer.config).int8_matmul
        return

    shipped = data.ensure_kokoro_onnx(data_dir)
    build(shipped, tmp_path / "matmul.onnx", Rewrites(int8_matmul=True))
    rewritten = OnnxBackend(tmp_path / "matmul.onnx", threads=synthesizer.config.threads)
    original = OnnxBackend(shipped, threads=synthesizer.config.threads)
    tokens = synthesizer.phonemizer.tokens(
        synthesizer.phonemizer.phonemes("Turned on the kitchen lights.", "en-us"))
    style = synthesizer.voices.style("af_heart", len(tokens))
    np.testing.assert_array_equal(rewritten.infer(tokens, style, 1.0),
                                  original.infer(tokens, style, 1.0))


def test_a_broken_rewrite_falls_back_to_the_model_as_shipped(
        data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from hub import data
    from hub.tts.config import TtsConfig
    from hub.tts.engine import Synthesizer

    shipped = data.ensure_kokoro_onnx(data_dir)
    kokoro = tmp_path / "kokoro"
    kokoro.mkdir()
    for item in (shipped, shipped.with_suffix(".sha256"), data.voices_dir(data_dir)):
        (kokoro / item.name).symlink_to(item)
    config = TtsConfig()
    Rewrites.for_config(config).path_for(kokoro / shipped.name).write_bytes(b"not a model")
    synth = Synthesizer(config, tmp_path)
    synth.load()
    try:
        assert synth.backend.model_path == kokoro / shipped.name
        assert "rewrite for this CPU failed" in caplog.text
        assert len(synth.synthesize("Ready.")) > 0
    finally:
        synth.close()
