"""`answers.by` → the answerer, or None; a choice that cannot work stops start-up by its key."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hub.answers.config import AnswersConfig
from hub.answers.speech import Answers
from hub.asr.factory import BACKENDS
from voxhub.configfile import ConfigError

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.understanding import Understander


def recognizer_answers(asr_backend: str) -> bool:
    """Whether the configured recognizer's class can answer (without loading a model)."""
    module_name, class_name = BACKENDS.get(asr_backend, ("", ""))
    if not module_name:
        return False
    cls = getattr(importlib.import_module(module_name), class_name)
    return bool(getattr(cls, "supports_answers", False))


def resolve_by(config: HubConfig) -> str:
    """`answers.by: auto` → recognizer when asr.backend answers (voxtral, openai), else none."""
    by = config.answers.by
    if by == "auto":
        return "recognizer" if recognizer_answers(config.asr.backend) else "none"
    return by


def create_answers(config: HubConfig, understander: Understander | None) -> Answers | None:
    """The hub's answers (HubConfig `config`), or None when nothing answers."""
    settings: AnswersConfig = config.answers
    by = resolve_by(config)
    if by == "none":
        return None
    if by == "openai":
        from hub.answers.openai_chat import OpenAIChatAnswerer

        assert settings.url and settings.model  # AnswersConfig checked it
        return Answers(settings, OpenAIChatAnswerer(
            settings.url, settings.model, api_key=settings.api_key(),
            prompt=settings.system_prompt, max_tokens=settings.max_tokens,
            read_timeout_s=settings.first_sentence_timeout_s))
    if by == "home_assistant":
        from hub.answers.home_assistant import HomeAssistantAgentAnswerer

        ha = config.home_assistant
        if not ha.enabled:
            raise ConfigError("answers.by: home_assistant needs home_assistant.url and a token "
                              "(or the add-on's Supervisor)")
        assert settings.agent_id
        return Answers(settings, HomeAssistantAgentAnswerer(
            ha.api_url("conversation/process"), ha.resolve_token(), settings.agent_id,
            settings.timeout_s))
    if not recognizer_answers(config.asr.backend):
        raise ConfigError(f"answers.by: recognizer needs a recognizer that answers (asr.backend "
                          f"voxtral or openai), not {config.asr.backend}")
    from hub.answers.recognizer import RecognizerAnswerer

    return Answers(settings, RecognizerAnswerer(understander))
