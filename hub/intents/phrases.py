"""The hub's own sentences, in the home's language.

Home Assistant's intents package carries the replies of its intents ("Se ha activado la luz")
and its error messages for every language; what the hub says beyond those — its example after
"Sorry", the "Did you mean …?" question, the honest replies when nothing or nobody carried a
command out, or when it was only handed on to the home's automations — is written here, one
table per language. A language without a table speaks English, said once in the log, rather
than nothing.
"""

from __future__ import annotations

import logging
from typing import Any

_LOGGER = logging.getLogger(__name__)

#: key → text, with {placeholders} filled by `phrase`.
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "done": "Done",
        "sorry": "Sorry, I couldn't understand that",
        "example": "{sorry}. You can say, for example, {command}.",
        "did_you_mean": "Did you mean: {sentence}?",
        "nothing_acts": "I understood that, but nothing is set up to carry it out.",
        "ha_no_answer": "Sorry, Home Assistant didn't answer in time, so I can't tell whether "
                        "it worked.",
        "ha_unreachable": "Sorry, I couldn't reach Home Assistant, so nothing was changed.",
        "ha_failed_for": "Sorry, Home Assistant couldn't do that for {names}.",
        "ha_failed": "Sorry, Home Assistant couldn't do that.",
        "published": "Sent to your automations: {sentence}.",
        "and": "and",
    },
    "es": {
        "done": "Hecho",
        "sorry": "Lo siento, no he entendido",
        "example": "{sorry}. Puedes decir, por ejemplo: {command}.",
        "did_you_mean": "¿Querías decir: {sentence}?",
        "nothing_acts": "Lo he entendido, pero no hay nada configurado para hacerlo.",
        "ha_no_answer": "Lo siento, Home Assistant no ha respondido a tiempo, así que no sé si "
                        "ha funcionado.",
        "ha_unreachable": "Lo siento, no he podido contactar con Home Assistant, así que no se "
                          "ha cambiado nada.",
        "ha_failed_for": "Lo siento, Home Assistant no ha podido hacerlo con {names}.",
        "ha_failed": "Lo siento, Home Assistant no ha podido hacerlo.",
        "published": "Enviado a tus automatizaciones: {sentence}.",
        "and": "y",
    },
    "fr": {
        "done": "C'est fait",
        "sorry": "Désolé, je n'ai pas compris",
        "example": "{sorry}. Vous pouvez dire, par exemple : {command}.",
        "did_you_mean": "Vouliez-vous dire : {sentence} ?",
        "nothing_acts": "J'ai compris, mais rien n'est configuré pour le faire.",
        "ha_no_answer": "Désolé, Home Assistant n'a pas répondu à temps, je ne sais donc pas si "
                        "cela a fonctionné.",
        "ha_unreachable": "Désolé, je n'ai pas pu joindre Home Assistant, rien n'a donc été "
                          "changé.",
        "ha_failed_for": "Désolé, Home Assistant n'a pas pu le faire pour {names}.",
        "ha_failed": "Désolé, Home Assistant n'a pas pu le faire.",
        "published": "Transmis à vos automatisations : {sentence}.",
        "and": "et",
    },
    "it": {
        "done": "Fatto",
        "sorry": "Mi dispiace, non ho capito",
        "example": "{sorry}. Puoi dire, per esempio: {command}.",
        "did_you_mean": "Intendevi: {sentence}?",
        "nothing_acts": "Ho capito, ma non c'è niente configurato per farlo.",
        "ha_no_answer": "Mi dispiace, Home Assistant non ha risposto in tempo, quindi non so "
                        "se ha funzionato.",
        "ha_unreachable": "Mi dispiace, non sono riuscito a contattare Home Assistant, quindi "
                          "non è cambiato niente.",
        "ha_failed_for": "Mi dispiace, Home Assistant non è riuscito a farlo per {names}.",
        "ha_failed": "Mi dispiace, Home Assistant non è riuscito a farlo.",
        "published": "Inviato alle tue automazioni: {sentence}.",
        "and": "e",
    },
    "pt": {
        "done": "Feito",
        "sorry": "Desculpe, não percebi o pedido",
        "example": "{sorry}. Pode dizer, por exemplo: {command}.",
        "did_you_mean": "Queria dizer: {sentence}?",
        "nothing_acts": "Percebi, mas não há nada configurado para o fazer.",
        "ha_no_answer": "Desculpe, o Home Assistant não respondeu a tempo, por isso não sei se "
                        "funcionou.",
        "ha_unreachable": "Desculpe, não consegui contactar o Home Assistant, por isso nada foi "
                          "alterado.",
        "ha_failed_for": "Desculpe, o Home Assistant não conseguiu fazer isso para {names}.",
        "ha_failed": "Desculpe, o Home Assistant não conseguiu fazer isso.",
        "published": "Enviado para as suas automatizações: {sentence}.",
        "and": "e",
    },
}
#: Sentences that show a light being turned on, tried in order with the home's light name:
#: the first one the home's grammar parses is the example after "Sorry".
EXAMPLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "en": ("turn on the {name}",),
    "es": ("enciende la {name}", "enciende el {name}", "enciende {name}"),
    "fr": ("allume la {name}", "allume le {name}", "allume {name}"),
    "it": ("accendi la {name}", "accendi il {name}", "accendi {name}"),
    "pt": ("liga a {name}", "liga o {name}", "acende a {name}", "liga {name}"),
}

_warned: set[str] = set()


def table_language(language: str) -> str:
    """The table a language speaks from: its own, else English (logged once)."""
    base = language.replace("_", "-").split("-")[0].lower()
    if base in PHRASES:
        return base
    if base not in _warned:
        _warned.add(base)
        _LOGGER.warning("The hub's own replies are not written in '%s' yet: they are spoken "
                        "in English (Home Assistant's replies stay in '%s')", language, language)
    return "en"


def phrase(language: str, key: str, **values: Any) -> str:
    """One of the hub's sentences in `language`, placeholders filled."""
    return PHRASES[table_language(language)][key].format(**values)


def listing(language: str, names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' in the language's words."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {phrase(language, 'and')} {names[-1]}"


def example_commands(language: str) -> tuple[str, ...]:
    return EXAMPLE_COMMANDS[table_language(language)]
