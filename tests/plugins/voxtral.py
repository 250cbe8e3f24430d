"""A tiny random Voxtral checkpoint on disk, so the real transformers path runs on a CPU in seconds.

No model hub is reachable here and the real checkpoints weigh 9.5–55 GB, so the session builds a
folder shaped like `mistralai/Voxtral-Mini-3B-2507`: `config.json` + weights of a random
`VoxtralConfig` with a few tiny layers, `preprocessor_config.json` (Whisper features, 128 mel bins)
and an audio-capable `tekken.json`. The tokenizer file is derived from the one mistral-common ships
(`tekken_240911.json`, a real Tekken vocabulary) by adding what Voxtral's file has on top: version
v7, the audio special tokens at their real ranks and an `audio` section. The weights are random, so
what the model *says* is noise; what runs is the real tokenizer, the real chat template with
tools, the real feature extraction and the real `generate`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

#: Special tokens of Voxtral's tekken.json, in rank order (rank = id); the rest are fillers.
#: [AUDIO] must be id 24 (VoxtralProcessor hard-codes it), [BEGIN_AUDIO] 25, [TRANSCRIBE] 34.
VOXTRAL_SPECIAL_TOKENS = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
    "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]",
]
_EXTRA_SPECIAL = {24: "[AUDIO]", 25: "[BEGIN_AUDIO]", 32: "[ARGS]", 33: "[CALL_ID]",
                  34: "[TRANSCRIBE]"}

#: Vocabulary kept from the bundled Tekken file: small enough for a tiny embedding table, large
#: enough to spell any English command byte by byte (the first 256 ranks are the raw bytes).
TINY_VOCAB = 2000
NUM_SPECIAL = 1000


def build_audio_tekken(path: Path, vocab_size: int = TINY_VOCAB) -> Path:
    """Write an audio-capable tekken.json derived from mistral-common's bundled tokenizer."""
    import mistral_common

    bundled = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    data: dict[str, Any] = json.loads(bundled.read_text(encoding="utf-8"))
    names = {i: name for i, name in enumerate(VOXTRAL_SPECIAL_TOKENS)} | _EXTRA_SPECIAL
    data["special_tokens"] = [
        {"rank": i, "token_str": names.get(i, f"<SPECIAL_{i}>"), "is_control": True}
        for i in range(NUM_SPECIAL)
    ]
    data["vocab"] = data["vocab"][:vocab_size]
    data["config"].update(version="v7", num_vocab_tokens=vocab_size,
                          default_vocab_size=vocab_size + NUM_SPECIAL,
                          default_num_special_tokens=NUM_SPECIAL)
    data.pop("image", None)
    data["audio"] = {
        "sampling_rate": 16000,
        "frame_rate": 12.5,
        "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400},
        "chunk_length_s": 30.0,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def build_tiny_voxtral(folder: Path) -> Path:
    """Save a random, tiny VoxtralForConditionalGeneration with its processor files to `folder`."""
    import torch
    from transformers import (
        VoxtralConfig,
        VoxtralForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    build_audio_tekken(folder / "tekken.json")
    vocab = TINY_VOCAB + NUM_SPECIAL
    config = VoxtralConfig(
        audio_config={"hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 1,
                      "num_attention_heads": 2, "num_mel_bins": 128, "max_source_positions": 1500,
                      "vocab_size": vocab},
        text_config={"vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "head_dim": 16, "max_position_embeddings": 4096},
        audio_token_id=24,
    )
    torch.manual_seed(0)
    model = VoxtralForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = 11
    model.generation_config.eos_token_id = 2
    model.generation_config.bos_token_id = 1
    model.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160,
                            chunk_length=30, n_fft=400).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_voxtral_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random Voxtral checkpoint, built once per test session."""
    return build_tiny_voxtral(tmp_path_factory.mktemp("voxtral") / "tiny-voxtral")


def build_tiny_voxtral_realtime(folder: Path) -> Path:
    """Save a random, tiny Voxtral Realtime checkpoint (streaming tokenizer and features).

    Its tokenizer is the same derived Tekken file with the realtime model's streaming audio
    section (480 ms delay, left padding) and [STREAMING_PAD]/[STREAMING_WORD] at their ranks.
    The output head is untied from the embeddings: tied random weights only ever repeat the
    streaming pad, which would leave nothing to stream.
    """
    import torch
    from transformers import (
        VoxtralRealtimeConfig,
        VoxtralRealtimeFeatureExtractor,
        VoxtralRealtimeForConditionalGeneration,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tekken = build_audio_tekken(folder / "tekken.json")
    data = json.loads(tekken.read_text(encoding="utf-8"))
    data["special_tokens"][35]["token_str"] = "[STREAMING_PAD]"
    data["special_tokens"][36]["token_str"] = "[STREAMING_WORD]"
    data["audio"] = {
        "sampling_rate": 16000, "frame_rate": 12.5,
        "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400},
        "chunk_length_s": None, "transcription_format": "streaming",
        "transcription_delay_ms": 480, "streaming_look_ahead_ms": 2.5,
        "streaming_look_back_ms": 52.5, "streaming_n_left_pad_tokens": 32,
    }
    tekken.write_text(json.dumps(data), encoding="utf-8")
    vocab = TINY_VOCAB + NUM_SPECIAL
    config = VoxtralRealtimeConfig(
        audio_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                      "num_attention_heads": 2, "head_dim": 16, "vocab_size": vocab},
        text_config={"vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "head_dim": 16, "tie_word_embeddings": False},
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    VoxtralRealtimeForConditionalGeneration(config).eval().save_pretrained(folder)
    VoxtralRealtimeFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160,
                                    win_length=400, n_fft=400).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_voxtral_realtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random Voxtral Realtime checkpoint, built once per session."""
    return build_tiny_voxtral_realtime(tmp_path_factory.mktemp("voxtral-rt") / "tiny-realtime")
