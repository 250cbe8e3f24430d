"""Settings of intent recognition, the home model and replies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxhub.configfile import Derived, setting


@dataclass
class IntentsConfig:
    language: str | None = setting(Derived("en"), "Language of Home Assistant's sentence "
                                   "templates and replies (en, es, fr, pt-BR…). Left out: "
                                   "`language`.")
    @property
    def language_code(self) -> str:
        """`language` as the intents stage uses it: None (an empty flag, before HubConfig
        derives it from `language`) is the setting's own default, English."""
        return self.language or "en"

    home: Path | None = setting(None, "Home model YAML (floors, areas, entities); reloaded when "
                                "it changes. Empty uses the example home in config/home.yaml.")
    custom_sentences: Path | None = setting(None, "Folder of Home Assistant custom_sentences "
                                            "(<folder>/<language>/*.yaml or <folder>/*.yaml).")
    colloquial: bool = setting(True, "Also understand the hub's everyday phrasings of Home "
                               "Assistant's intents ('put the lamp on', 'kill the lights', 'dim "
                               "the lamp to 20 percent', politeness and fillers): "
                               "hub/intents/colloquial/<language>.yaml, English only for now. Off: "
                               "Home Assistant's sentences and custom_sentences only.")
    fuzzy: bool = setting(True, "Recover recognizer slips by snapping the transcript to the "
                          "nearest sentence the home can say; off means strict matching only.")
    min_confidence: float = setting(0.72, "Fuzzy matches below this confidence are answered "
                                    "'not recognized' (a wrong action is worse than 'Sorry'). "
                                    "Calibrated on out-of-domain speech by "
                                    "benchmarks/understanding.py.", minimum=0.0, maximum=1.0)
    name_similarity: float = setting(80.0, "How close (0-100, word by word) a heard phrase must "
                                     "be to one of the home's names to count as that name.",
                                     minimum=50.0, maximum=100.0)
    sentences_per_template: int = setting(100, "Sentences sampled per template for the fuzzy "
                                          "index (more: slower start-up, more memory, slightly "
                                          "better recovery).", minimum=1, maximum=5000)
    cache_index: bool = setting(True, "Cache the sampled sentence index in the data directory.")
    act: str = setting("auto", "Who carries out a recognized intent. home_assistant: the hub "
                       "calls Home Assistant's intent API (its own handlers and exposure rules) "
                       "and speaks what really happened; mqtt: the intent is published on the "
                       "satellite's MQTT `intent` topic for automations to act on, and the reply "
                       "says it was handed on, not that it was done; none: nothing "
                       "acts and replies say so. auto: home_assistant when Home Assistant is "
                       "known (the add-on, or home_assistant.url), else mqtt.",
                       choices=("auto", "home_assistant", "mqtt", "none"))
    prompt_words: int = setting(30, "Frequent command words put in the recognizer's prompt, "
                                "next to the home's area and entity names (0: no prompt).",
                                minimum=0, maximum=200)
