"""The hub's one `language` setting: what it chooses, and the combinations that cannot work.

A home speaks one language. Choosing it should not mean knowing that Whisper's `tiny.en` is
English only, that Home Assistant spells Brazilian Portuguese `pt-BR` or which Kokoro voice
speaks French, so `language` chooses the recognizer model (`asr.model`), the language told to
the recognizer (`asr.language`), the intents and replies (`intents.language`) and the default
voice (`tts.voice`). Each stays settable by its own key: only values nobody wrote (they are
`configfile.Derived`) are chosen here, and rebuilding the config for another language chooses
them again. A written value that cannot work with the language (an English-only model for a
Spanish home) stops start-up with its key named.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voxhub import language as lang
from voxhub.configfile import Derived

if TYPE_CHECKING:
    from hub.config import HubConfig


@dataclass(frozen=True)
class LanguageChoice:
    """What one language chooses when nothing else is written."""

    name: str
    #: Kokoro voice (its prefix letter is the language: e Spanish, f French…).
    voice: str
    #: Whisper model available offline from packages: tiny.en is English only, base speaks
    #: every language here.
    model: str
    #: Tested end to end by the suite (tests/test_languages_e2e.py), not only set up.
    tested: bool


#: Languages the hub is set up for: Kokoro voices whose G2P installs with the hub, Home
#: Assistant's intents and replies, and Whisper base. The others of Whisper and the intents
#: can still be chosen, with a voice written in tts.voice.
LANGUAGES: dict[str, LanguageChoice] = {
    "en": LanguageChoice("English", "af_heart", "tiny.en", True),
    "en_GB": LanguageChoice("British English", "bf_emma", "tiny.en", False),
    "es": LanguageChoice("Spanish", "ef_dora", "base", True),
    "fr": LanguageChoice("French", "ff_siwis", "base", True),
    "it": LanguageChoice("Italian", "if_sara", "base", False),
    "pt": LanguageChoice("Portuguese", "pf_dora", "base", False),
}
#: Whisper's English-only models and the multilingual model of the same size.
ENGLISH_ONLY_MODELS = {"tiny.en": "tiny", "base.en": "base", "small.en": "small",
                       "medium.en": "medium", "distil-small.en": "small",
                       "distil-medium.en": "medium"}


def choice_for(tag: str) -> LanguageChoice | None:
    """The choice for a tag, its region's first ('en_GB'), else its language's ('es_MX')."""
    tag = lang.normalize(tag)
    return LANGUAGES.get(tag) or LANGUAGES.get(lang.base(tag))


def intents_language(tag: str) -> str:
    """Home Assistant's spelling of a language for its intents: 'pt_BR' → 'pt-BR',
    'es_MX' → 'es', 'zh' → 'zh-CN'; the tag's base when the package is not installed."""
    tag = lang.normalize(tag)
    try:
        from hub.intents.grammar import builtin_languages

        known = builtin_languages()
    except ModuleNotFoundError:  # a satellite-only install still reads hub.yaml (config-doc)
        return lang.base(tag)
    wanted = tag.replace("_", "-")
    by_case = {k.casefold(): k for k in known}
    for candidate in (wanted, lang.base(tag)):
        if candidate.casefold() in by_case:
            return by_case[candidate.casefold()]
    regional = sorted(k for k in known if k.split("-")[0] == lang.base(tag))
    if regional:
        return regional[0]
    raise ValueError(f"language: Home Assistant's intents have no '{tag}'; allowed: "
                      f"{', '.join(known)}")


def is_english_only(model: str) -> bool:
    return model in ENGLISH_ONLY_MODELS or model.endswith(".en")


def apply(config: HubConfig) -> None:
    """Fill in what `config.language` chooses and check what was written against it.

    `config` is a HubConfig, changed in place: its sections are replaced by copies (a section
    may be shared with the config it was rebuilt from by `configfile.override`)."""
    language = config.language
    written = config.intents.language  # None: an empty flag, as good as not written
    if isinstance(language, Derived) and written is not None \
            and not isinstance(written, Derived):
        # An older hub.yaml that set only intents.language: the home speaks that language.
        language = Derived(lang.base(written))
    try:
        language = type(language)(lang.normalize(language))
    except ValueError as err:
        raise ValueError(f"language: {err}") from None
    config.language = language
    choice = choice_for(language)
    base = lang.base(language)

    asr_changes: dict[str, Any] = {}
    if _derived(config.asr.model) and choice is not None:
        asr_changes["model"] = Derived(choice.model if base == "en" else "base")
    elif _derived(config.asr.model):
        asr_changes["model"] = Derived("tiny.en" if base == "en" else "base")
    if isinstance(config.asr.language, Derived):  # None: the recognizer detects it
        asr_changes["language"] = Derived(base)
    if asr_changes:
        config.asr = dataclasses.replace(config.asr, **asr_changes)
    if _derived(config.intents.language):
        config.intents = dataclasses.replace(config.intents,
                                             language=Derived(intents_language(language)))
    if _derived(config.tts.voice):
        voice = choice.voice if choice is not None else None
        if voice is None and {"tts", "pipeline"} & set(config.server.programs):
            raise ValueError(
                f"language: no Kokoro voice of voxhub's speaks '{language}' (voices are chosen "
                f"for {', '.join(LANGUAGES)}): write tts.voice, or serve without speech "
                "(server.programs without tts and pipeline)")
        config.tts = dataclasses.replace(config.tts, voice=Derived(voice or "af_heart"))
    _check(config, language)


def _check(config: HubConfig, language: str) -> None:
    """Written values that cannot work with `language`, each named by its key."""
    base = lang.base(language)
    model = str(config.asr.model)
    if config.asr.backend == "whisper" and base != "en" and is_english_only(model):
        twin = ENGLISH_ONLY_MODELS.get(model, model.removesuffix(".en"))
        hint = " (installed offline: base, from the whisper-base extra)" if twin != "base" \
            else " (the whisper-base extra)"
        raise ValueError(
            f"asr.model: '{model}' understands English only, but language is '{language}': "
            f"use the multilingual '{twin}'{hint}, or leave asr.model out so that language "
            "chooses it")
    spoken = config.asr.language
    if config.asr.backend == "whisper" and spoken and lang.base(spoken) != "en" \
            and is_english_only(model):
        raise ValueError(f"asr.language: '{spoken}' cannot be heard by the English-only "
                          f"asr.model '{model}'")


def _derived(value: Any) -> bool:
    """Nobody wrote it: the language chooses it (None is how an empty flag arrives)."""
    return value is None or isinstance(value, Derived)
