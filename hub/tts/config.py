"""Settings of the text-to-speech stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxhub.configfile import Derived, setting


@dataclass
class TtsConfig:
    backend: str = setting("onnx", "Inference backend: 'onnx' (onnxruntime, CPU or CUDA) or "
                           "'torch' (hexgrad's kokoro KModel, for GPU hubs).",
                           choices=("onnx", "torch"))
    model: str | None = setting(None, "Model file (.onnx for onnx, .pth for torch) or a model-hub "
                                "id when online. Empty: the Kokoro ONNX assembled in the data "
                                "directory.")
    torch_config: Path | None = setting(None, "config.json that goes with a torch .pth model "
                                        "(default: the Kokoro v1.0 config shipped with voxhub).")
    device: str = setting("cpu", "Where inference runs: 'cpu' or 'cuda'.", choices=("cpu", "cuda"))
    int8_matmul: bool = setting(True, "On x86 CPUs with VNNI, run the built-in "
                                "int8 model's convolutions as signed int8 matrix products: the "
                                "same audio bit for bit, about a third faster. false runs the "
                                "model as shipped.")
    fast_snake: bool = setting(True, "On CPU, compute the built-in model's Snake activations "
                               "(x + sin²(αx)/α) as multiply-adds on every thread instead of "
                               "onnxruntime's single-threaded Sin: up to 15 % faster; the "
                               "audio changes less than nudging the voice by one part in a "
                               "million does. false runs them as shipped.")
    threads: int = setting(2, "CPU threads for one inference.", minimum=1, maximum=64)
    voice: str | None = setting(Derived("af_heart"), "Default voice, or a weighted blend such "
                                "as 'af_heart:0.7,af_bella:0.3'. Left out: a voice of "
                                "`language` (af_heart, ef_dora, ff_siwis, if_sara, pf_dora).")
    speed: float = setting(1.0, "Default speaking rate.", minimum=0.5, maximum=2.0)

    offered_languages: list[str] = setting(
        factory=list, doc="Languages whose voices the hub advertises (en_US, en, fr…; 'en' "
        "offers every English voice). Empty: the default voice's language only, because Home "
        "Assistant takes any one advertised language as its TTS default. Every voice that can "
        "speak here can still be asked for by name.")
    voices_dir: Path | None = setting(None, "Extra folder of voice .bin/.npy files "
                                      "(default: the data directory's voices).")
    lexicon: Path | None = setting(None, "YAML file of word → phonemes for household names.")
    max_text_chars: int = setting(10000, "Longest text accepted in one request.", minimum=1)
    chunk_samples: int = setting(2400, "Samples per audio-chunk event (2400 = 100 ms at 24 kHz).",
                                 minimum=128)
    cache_mb: int = setting(64, "Memory for cached rendered replies; 0 disables the cache.",
                            minimum=0)
    cache_max_chars: int = setting(300, "Only texts up to this length are cached.", minimum=0)
    first_piece_chars: int = setting(16, "Target length of the first piece, rendered on its own so "
                                     "the first audio leaves early; it is cut where a speaker "
                                     "would pause (a comma, before 'and', 'is', 'in'…), and a "
                                     "short sentence without such a place stays whole. 0 renders "
                                     "whole sentences.", minimum=0)
    workers: int = setting(1, "Syntheses run at once; more queue (each uses `threads`).",
                           minimum=1, maximum=16)

    @property
    def default_voice(self) -> str:
        """`voice` as the synthesizer uses it: None (an empty flag, before HubConfig derives
        it from `language`) is the setting's own default, af_heart."""
        return self.voice or "af_heart"
