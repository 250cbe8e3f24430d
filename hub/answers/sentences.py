"""Streamed text → whole sentences, so each can be spoken as soon as it is complete.

A sentence ends at `.`, `!`, `?` or `…` (with any closing quote or bracket) followed by a space
and then something that can start a sentence, or at a blank line. Not at a number's point
("3.5"), an abbreviation ("Dr. Smith", "e.g. this"), an initial ("J. R. R. Tolkien") or a point
followed by a lower-case word. Whether a point ends a sentence is only known once the next word
starts, which costs one token of waiting; the last sentence comes from `flush`.
"""

from __future__ import annotations

import re

#: Abbreviations (lower case, without their point) after which a point is no sentence end;
#: none that is also a word a sentence may end with ("no", "sun", "max").
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "approx",
    "vol", "fig", "ca", "cf", "inc", "ltd", "corp", "dept", "jan", "feb", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "sra", "srta", "dña", "mme", "mlle", "av",
})
_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s)""")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*$")
#: Markup a chat model may emit that must not be read aloud.
_MARKUP = re.compile(r"[*_#`~>|]+|\[(?=[^\]]*\]\()|\]\([^)]*\)")
#: A sentence this long without an end is cut at a comma (or a space) so speech keeps flowing.
SOFT_LIMIT = 250


def speakable(text: str) -> str:
    """Text without markdown emphasis, headings, code marks and link targets; spaces folded."""
    return " ".join(_MARKUP.sub("", text).split())


class SentenceSplitter:
    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text; the sentences it completed, in order."""
        self._buffer += text
        found: list[str] = []
        while True:
            cut = self._boundary()
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut], self._buffer[cut:].lstrip()
            if speakable(sentence):
                found.append(speakable(sentence))
        return found

    def flush(self) -> list[str]:
        """What is left at the end of the stream (the last sentence)."""
        rest, self._buffer = speakable(self._buffer), ""
        return [rest] if rest else []

    def _boundary(self) -> int | None:
        buffer = self._buffer
        paragraph = buffer.find("\n\n")
        for match in _END.finditer(buffer):
            if 0 <= paragraph < match.start():
                break
            after = buffer[match.end():].lstrip()
            if not after:
                return None  # the next word has not arrived yet
            if self._ends_sentence(buffer[:match.end()], buffer[match.start()], after[0]):
                return match.end()
        if paragraph >= 0:
            return paragraph
        if len(buffer) > SOFT_LIMIT:
            comma = max(buffer.rfind(", ", 0, SOFT_LIMIT), buffer.rfind("; ", 0, SOFT_LIMIT))
            space = buffer.rfind(" ", 0, SOFT_LIMIT)
            cut = comma + 1 if comma > SOFT_LIMIT // 2 else space
            return cut if cut > 0 else SOFT_LIMIT
        return None

    @staticmethod
    def _ends_sentence(head: str, mark: str, next_char: str) -> bool:
        if next_char.islower():
            return False  # "e.g. the", "approx. five"
        if mark != ".":
            return True
        word = _WORD_BEFORE.search(head.rstrip("\"'”’»)]"))
        if word is None:
            return True
        token = word.group(1).rstrip(".").lower()
        if token in ABBREVIATIONS:
            return False
        return not (len(token) == 1 and token.isalpha())  # an initial: "J. R. R. Tolkien"
