"""Yes and no in the languages the hub has replies for: the answer to "Did you mean …?".

A whole utterance counts as an answer only when every word of it belongs to one side, fillers
("please", "thanks") aside: "Yes.", "Yeah, do it.", "Sí.", "Oui, vas-y." confirm; "No.", "No,
thanks.", "Don't." decline. "Yes, turn off the kitchen lights" is neither, and neither is
"yes no": such an utterance is a new command, and the question it followed is dropped (a
half-heard yes must never open a door). Accents are optional, since recognizers drop them
("si" for "sí", "nao" for "não").

The reply to a no is here too (the question itself is `did_you_mean` in
`hub/intents/phrases.py`); a language without an entry uses English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from voxhub import language as lang


@dataclass(frozen=True)
class Words:
    yes: frozenset[str]
    no: frozenset[str]
    #: Words that say nothing either way ("yes please", "no thank you").
    fillers: frozenset[str]
    #: The reply to a no: nothing was done.
    declined: str


def _words(yes: str, no: str, fillers: str, declined: str) -> Words:
    """Phrases separated by '|', written as people say them (normalised like what is heard)."""
    def split(phrases: str) -> frozenset[str]:
        return frozenset(_normal(p) for p in phrases.split("|") if _normal(p))
    return Words(split(yes), split(no), split(fillers), declined)


def _normal(text: str) -> str:
    """Lower case, without accents and punctuation (an apostrophe stays: "don't", "d'accord")."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(w.strip("'") for w in re.sub(r"[^\w']+", " ", text).split() if w.strip("'"))


WORDS: dict[str, Words] = {
    "en": _words(
        "yes|yeah|yep|yup|ya|sure|ok|okay|correct|right|that's right|that is right|exactly|"
        "do it|go ahead|please do|yes please|affirmative|of course|absolutely|indeed|i did|"
        "i do|yes i did|confirm|confirmed|sure thing|go on",
        "no|nope|nah|don't|do not|don't do it|do not do it|cancel|never mind|nevermind|stop|"
        "no way|wrong|not that|i didn't|i did not|negative|no thanks|no thank you",
        "please|thanks|thank you|uh|um|oh|well|then|just",
        "OK, I won't."),
    "es": _words(
        "sí|si|claro|vale|de acuerdo|hazlo|adelante|por supuesto|correcto|exacto|eso es|"
        "venga|dale|confirmo|ok|okay",
        "no|no lo hagas|cancela|cancelar|para|déjalo|olvídalo|nada|incorrecto|de ninguna manera",
        "por favor|gracias|pues|bueno|eh|mm",
        "De acuerdo, no lo haré."),
    "fr": _words(
        "oui|ouais|d'accord|vas-y|allez-y|fais-le|faites-le|bien sûr|exactement|c'est ça|"
        "ok|okay|absolument|tout à fait|correct|je confirme|volontiers",
        "non|annule|annuler|laisse tomber|pas du tout|ne le fais pas|surtout pas|non merci|"
        "pas ça",
        "merci|s'il te plaît|s'il vous plaît|euh|alors|bah",
        "D'accord, je ne le fais pas."),
    "it": _words(
        "sì|si|certo|va bene|fallo|esatto|d'accordo|ok|okay|sicuro|giusto|procedi|certamente|"
        "confermo",
        "no|annulla|lascia stare|non farlo|non lo fare|sbagliato|assolutamente no|no grazie",
        "grazie|per favore|ehm|allora|beh",
        "Va bene, non lo faccio."),
    "pt": _words(
        "sim|claro|pode|pode fazer|faça|faz|isso|isso mesmo|exato|certo|com certeza|ok|okay|"
        "está bem|tá bom|ta bom|vai em frente|confirmo",
        "não|cancela|cancelar|não faça|não faz|deixa pra lá|deixa|nada|errado|de jeito nenhum",
        "obrigado|obrigada|por favor|é|hum",
        "Está bem, não vou fazer."),
    "de": _words(
        "ja|jawohl|genau|klar|mach das|mach es|mach|okay|ok|richtig|gerne|sicher|stimmt|"
        "ja bitte|bestätigt",
        "nein|nee|abbrechen|lass es|lass das|nicht|auf keinen fall|falsch|nein danke",
        "bitte|danke|äh|also|doch",
        "Okay, dann nicht."),
    "nl": _words(
        "ja|jazeker|zeker|doe maar|prima|ok|oké|okay|klopt|graag|precies|goed",
        "nee|niet doen|annuleer|laat maar|nee dank je|fout",
        "alsjeblieft|alstublieft|dank je|dank u|eh|nou",
        "Oké, dan niet."),
}


def words_for(language: str | None) -> Words:
    """The language's phrases (en-US and en_us are en); English for a language without any."""
    try:
        key = lang.base(language) if language else "en"
    except ValueError:
        key = "en"
    return WORDS.get(key, WORDS["en"])


def read(text: str, language: str | None) -> bool | None:
    """True for a yes, False for a no, None for anything else (a new command, both, neither)."""
    table = words_for(language)
    words = _normal(text).split()
    sides: set[bool] = set()
    longest = max(len(p.split()) for p in table.yes | table.no | table.fillers)
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + size])
            if phrase in table.yes or phrase in table.no or phrase in table.fillers:
                if phrase in table.yes:
                    sides.add(True)
                elif phrase in table.no:
                    sides.add(False)
                i += size
                break
        else:
            return None  # a word that is no answer: this is something else
    return sides.pop() if len(sides) == 1 else None


def declined(language: str | None) -> str:
    return words_for(language).declined
