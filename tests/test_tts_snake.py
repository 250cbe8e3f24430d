"""The Snake rewrite: the vocoder's activations as multiply-adds, equal to within float rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hub.tts.fast_model import Rewrites, build
from hub.tts.snake import coefficients, rewrite_snakes

# Per-channel α as Kokoro's are: mostly 0.2–2.3, a few tiny or negative.
ALPHAS = np.array([2.33, 1.0, 0.85, 0.2, 0.01, 1e-4, -1e-3, -0.026], np.float32)


def snake_model(alpha: np.ndarray, extra_sin_user: bool = False,
                scale: np.ndarray | None = None) -> onnx.ModelProto:
    """One Snake as the Kokoro export writes it: x + (1/α)·sin(αx)^2 (or another `scale`)."""
    nodes = [
        helper.make_node("Mul", ["alpha", "x"], ["ax"], name="scale"),
        helper.make_node("Sin", ["ax"], ["s"], name="sin"),
        helper.make_node("Pow", ["s", "two"], ["s2"]),
        helper.make_node("Mul", ["inverse", "s2"], ["term"]),
        helper.make_node("Add", ["x", "term"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if extra_sin_user:  # the sine is also read elsewhere: not a Snake to fold
        nodes.append(helper.make_node("Neg", ["s"], ["other"]))
        outputs.append(helper.make_tensor_value_info("other", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes, "snake", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)], outputs,
        [numpy_helper.from_array(alpha.reshape(1, -1, 1), "alpha"),
         numpy_helper.from_array(np.array(2.0, np.float32), "two"),
         numpy_helper.from_array((1 / alpha if scale is None else scale).reshape(1, -1, 1),
                                 "inverse")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def test_the_polynomial_is_within_one_part_in_ten_thousand_of_sin_squared() -> None:
    f = np.linspace(-0.5, 0.5, 200_001)
    f = f[f != 0]
    u = f * f
    approx = u * np.polynomial.polynomial.polyval(u, coefficients())
    assert np.max(np.abs(approx / np.sin(np.pi * f) ** 2 - 1)) < 1e-4


def test_a_rewritten_snake_equals_the_original_to_within_float_rounding() -> None:
    model = snake_model(ALPHAS)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 2, 4000), rng.uniform(-200, 200, 4000)]).astype(np.float32)
    x = np.broadcast_to(x, (1, len(ALPHAS), len(x))).copy()
    (before,) = run(model, x)
    assert rewrite_snakes(model) == 1
    assert "Sin" not in {n.op_type for n in model.graph.node}
    (after,) = run(model, x)
    alpha = ALPHAS.astype(np.float64).reshape(1, -1, 1)
    term = np.sin(alpha * x) ** 2 / alpha  # exact, for the scale of the allowed error
    # The polynomial's 1e-4 of the Snake term, plus float32 rounding of αx (large x), which
    # the original's Sin has as well.
    allowed = 1e-4 * np.abs(term) + 1e-6 * np.abs(x) + 1e-6
    assert np.all(np.abs(after - before) <= allowed)


@pytest.mark.parametrize("model", [snake_model(ALPHAS, extra_sin_user=True),
                                   snake_model(ALPHAS, scale=np.full_like(ALPHAS, 0.5))],
                         ids=["sine-read-elsewhere", "not-divided-by-alpha"])
def test_anything_but_a_snake_is_left_as_it_is(model: onnx.ModelProto) -> None:
    x = np.random.default_rng(1).normal(size=(1, len(ALPHAS), 50)).astype(np.float32)
    before = run(model, x)
    assert rewrite_snakes(model) == 0
    for a, b in zip(before, run(model, x), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_rewritten_file_keeps_no_dead_nodes_or_weights_and_replaces_older_ones(
        tmp_path: Path) -> None:
    onnx.save(snake_model(ALPHAS), str(tmp_path / "a.onnx"))
    (tmp_path / "a.matmul1.onnx").write_bytes(b"made for other settings")
    target = Rewrites(snake=True).path_for(tmp_path / "a.onnx")
    build(tmp_path / "a.onnx", target, Rewrites(snake=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "a.snake1.onnx"]
    graph = onnx.load(str(target)).graph
    read = {name for node in graph.node for name in node.input}
    assert {"alpha", "two", "inverse"}.isdisjoint(i.name for i in graph.initializer)
    assert all(i.name in read for i in graph.initializer)


def _log_spectrum(audio: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(audio, 1024)[::256] * np.hanning(1024)
    return 20 * np.log10(np.abs(np.fft.rfft(frames)) + 1e-4)


def _difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(log-spectral distance over the speech, dB; level difference, dB)."""
    assert len(a) == len(b)
    sa, sb = _log_spectrum(a), _log_spectrum(b)
    speech = sa.max(axis=1) > sa.max() - 50
    distance = float(np.mean(np.sqrt(np.mean((sa[speech] - sb[speech]) ** 2, axis=1))))
    return distance, float(10 * np.log10(np.mean(b ** 2) / np.mean(a ** 2)))


@pytest.mark.parametrize("text", ["Turned on the kitchen lights.", "The garage door"])
def test_kokoro_with_its_snakes_rewritten_sounds_as_a_one_in_a_million_voice_nudge_does(
        synthesizer, data_dir: Path, text: str) -> None:
    """The int8 model's waveform is chaotic at the float-rounding level: moving the voice
    vector by one part in a million changes it as much. The rewrite must stay within that,
    with the same length and level (all 48 Snakes rewritten, the 3 other sines kept)."""
    from hub import data
    from hub.tts.onnx import OnnxBackend

    model = synthesizer.backend.model_path
    assert model == Rewrites.for_config(synthesizer.config).path_for(
        data.ensure_kokoro_onnx(data_dir))
    assert [n.op_type for n in onnx.load(str(model)).graph.node].count("Sin") == 3
    shipped = OnnxBackend(data.ensure_kokoro_onnx(data_dir), threads=synthesizer.config.threads)
    tokens = synthesizer.phonemizer.tokens(synthesizer.phonemizer.phonemes(text, "en-us"))
    style = synthesizer.voices.style("af_heart", len(tokens))
    reference = shipped.infer(tokens, style, 1.0)
    nudge = style * (1 + 1e-6 * np.random.default_rng(3).standard_normal(style.shape))
    nudged = shipped.infer(tokens, nudge.astype(np.float32), 1.0)
    rewritten = synthesizer.backend.infer(tokens, style, 1.0)

    nudge_distance, nudge_level = _difference(reference, nudged)
    distance, level = _difference(reference, rewritten)
    assert nudge_distance > 1  # the nudge did move the waveform: the yardstick is real
    assert distance < 1.5 * nudge_distance
    assert abs(level) < 0.2 and abs(nudge_level) < 0.2
