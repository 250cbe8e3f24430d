"""Settings of the satellite pipeline (endpointing and streaming the reply).

Endpointing is where satellites feel slow or rude: too short a silence cuts people off mid-sentence,
too long keeps the room waiting ("it was still listening ten seconds after I stopped").
Early answering shortens the wait for the common case of a short, complete home command.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.configfile import setting


@dataclass
class PipelineConfig:
    silence_s: float = setting(0.7, "Silence that ends a command.", minimum=0.1, maximum=5.0)
    min_speech_s: float = setting(0.3, "Shorter speech is ignored (coughs, clicks).", minimum=0.0)
    # Both bound the audio a run keeps, which a satellite may choose per run: hence a maximum.
    max_speech_s: float = setting(15.0, "A command is cut after this long.", minimum=1.0,
                                  maximum=60.0)
    no_speech_s: float = setting(8.0, "A run with no speech at all ends after this long "
                                 "(the wake word was a false alarm).", minimum=1.0,
                                 maximum=60.0)
    vad_threshold: float = setting(0.5, "Silero speech probability that counts as voice.",
                                   minimum=0.05, maximum=0.95)
    early_answer: bool = setting(True, "When a short pause already holds a complete home command, "
                                 "answer without waiting for the full silence.")
    early_pause_s: float = setting(0.25, "Pause after which a partial transcript is checked for "
                                   "a complete command (early answer).", minimum=0.05,
                                   maximum=5.0)
    reply_chunk_ms: int = setting(100, "Reply audio per audio-chunk event.", minimum=10,
                                  maximum=1000)
    vad_threads: int = setting(2, "Threads running voice activity detection for all "
                               "satellites (about 40 ms CPU per second of audio each).",
                               minimum=1, maximum=32)
    max_runs: int = setting(16, "Pipeline runs at once across all satellites; one more is "
                            "refused with an error (code too-many-runs) and its connection "
                            "closed.", minimum=1, maximum=1000)
    audio_timeout_s: float = setting(5.0, "A run that receives no audio for this long ends "
                                     "with an error (code no-audio), so a client cannot hold "
                                     "a run (and its memory) by sending nothing.",
                                     minimum=0.5, maximum=120.0)
