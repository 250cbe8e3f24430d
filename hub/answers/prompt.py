"""The system prompt of a chat answerer, filled in for each question.

A model knows neither the hub's language, nor the time, nor where the speaker stands; without
them it answers in English, guesses the time, and cannot take "here" for a room. Translation
requests ("how do you say good night in Spanish") are answers too: the home grammar rejects
them, and the default prompt (`answers.system_prompt`) has the model answer in the hub's language
with the asked-for words in the other one.
"""

from __future__ import annotations

from datetime import datetime

from hub.answers.base import Question
from voxhub import language as language_tags

#: Language names as a model understands them best (in English); other codes pass as they are.
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "it": "Italian",
                  "pt": "Portuguese", "de": "German", "nl": "Dutch", "pl": "Polish",
                  "sv": "Swedish", "da": "Danish", "nb": "Norwegian", "fi": "Finnish",
                  "ca": "Catalan", "cs": "Czech", "ru": "Russian", "uk": "Ukrainian",
                  "tr": "Turkish", "ja": "Japanese", "zh": "Chinese"}


def language_name(tag: str) -> str:
    code = language_tags.base(tag) if tag else "en"
    return LANGUAGE_NAMES.get(code, code)


def system_prompt(template: str, question: Question, now: datetime | None = None) -> str:
    now = now or datetime.now().astimezone()
    return template.format(language=language_name(question.language),
                           time=now.strftime("%H:%M"),
                           date=now.strftime("%A %d %B %Y").replace(" 0", " "),
                           area=question.area or "home")
