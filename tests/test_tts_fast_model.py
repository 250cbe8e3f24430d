"""Which rewrites of the offline Kokoro a hub runs, and the file each combination lives in."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hub.tts import fast_model
from hub.tts.config import TtsConfig
from hub.tts.fast_model import Rewrites

SHIPPED = Path("/data/kokoro/kokoro-v1.0.int8.onnx")


@pytest.mark.parametrize("vnni", [True, False])
def test_a_default_cpu_hub_rewrites_its_snakes_and_with_vnni_its_convolutions(
        monkeypatch: pytest.MonkeyPatch, vnni: bool) -> None:
    monkeypatch.setattr(fast_model.int8_convs, "cpu_has_vnni", lambda: vnni)
    assert Rewrites.for_config(TtsConfig()) == Rewrites(int8_matmul=vnni, snake=True)


@pytest.mark.parametrize("change", [{"device": "cuda"}, {"backend": "torch"},
                                    {"model": "my-kokoro.onnx"},
                                    {"int8_matmul": False, "fast_snake": False}])
def test_gpu_hubs_other_models_and_both_switches_off_run_the_model_as_given(
        monkeypatch: pytest.MonkeyPatch, change: dict) -> None:
    monkeypatch.setattr(fast_model.int8_convs, "cpu_has_vnni", lambda: True)
    assert not Rewrites.for_config(replace(TtsConfig(), **change))


def test_each_combination_and_version_has_its_own_file() -> None:
    names = {Rewrites(a, b).path_for(SHIPPED).name for a in (False, True) for b in (False, True)
             if a or b}
    assert names == {"kokoro-v1.0.int8.matmul1.onnx", "kokoro-v1.0.int8.snake1.onnx",
                     "kokoro-v1.0.int8.matmul1.snake1.onnx"}
