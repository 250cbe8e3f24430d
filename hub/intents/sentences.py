"""The sentences a home can say: templates expanded with the home's names, sampled per template.

The full grammar of even a small home runs to billions of sentences, so each template is sampled
a fixed number of times: alternatives and optional words at random (seeded, so an index is
reproducible), the template's first name/area list round-robin so that every name of the home
appears in every phrasing, numbers kept as the placeholder `#` and free text as `*`. Name values
are only sampled where the template's `requires_context` admits them ("open {name}" only with
covers), so every sentence in the index is one the strict matcher accepts.

The result is cached on disk per (grammar, home) fingerprint: building costs seconds, loading a
cached index a fraction of that.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import random
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hassil.expression import (
    Alternative,
    Group,
    ListReference,
    Permutation,
    RuleReference,
    Sentence,
    TextChunk,
)
from hassil.intents import (
    IntentData,
    RangeSlotList,
    SlotList,
    TextSlotList,
    TextSlotValue,
    WildcardSlotList,
)

from hub.intents.grammar import Grammar

_LOGGER = logging.getLogger(__name__)

NUMBER = "#"
WILDCARD = "*"
#: Placeholders of the skeleton index, where the home's names are left out of the sentences.
SLOT_TOKENS = {"name": "xnamex", "area": "xareax", "floor": "xfloorx"}
INDEX_VERSION = "3"

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s#*%'.]")


def canonical(text: str) -> str:
    """The form both index sentences and transcripts are compared in."""
    text = text.casefold().replace("’", "'").replace("%", " percent")
    text = _PUNCT.sub(" ", text)
    text = re.sub(r"\.(?!\d)", " ", text)
    return _SPACES.sub(" ", text).strip()


#: A language's word for per cent, as canonical() writes "%" ("40 %" heard, "40 pourcent" sampled).
_PERCENT_WORDS = re.compile(r"\b(?:pourcent|por ciento|per cento|por cento|prozent|procent)\b")


def comparable(text: str) -> str:
    """A canonical text as similarity is scored on: accents folded and per cent one word.

    Whisper drops accents as often as it keeps them ("Regle la lumière" for "Règle") and
    writes "%" where a template spells the word out; neither is a slip worth a point of
    similarity. Only scoring uses this form: the strict matcher still reads the sentence as
    the grammar wrote it. An ASCII text comes back as the same object (the index's keys cost
    no memory in English).
    """
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))
    return _PERCENT_WORDS.sub("percent", text)


class _Sampler:
    def __init__(self, grammar: Grammar, data: IntentData, rng: random.Random, turn: int,
                 skeleton: bool = False, fillers: dict[str, list[str]] | None = None) -> None:
        self.skeleton = skeleton
        #: Concrete sentences (test workloads): real numbers, and free text from these lists.
        self.fillers = fillers
        self.lists: dict[str, SlotList] = {**grammar.intents.slot_lists, **grammar.slot_lists,
                                           **(data.slot_lists or {})}
        self.rules: dict[str, Sentence] = {**grammar.intents.expansion_rules,
                                           **(data.expansion_rules or {})}
        self.data = data
        self.rng = rng
        self.turn = turn
        self.round_robin_used = False
        self._names = [v for v in self._values("name") if self._admits(v)]

    def _values(self, list_name: str) -> list[TextSlotValue]:
        slot_list = self.lists.get(list_name)
        return slot_list.values if isinstance(slot_list, TextSlotList) else []

    def _admits(self, value: TextSlotValue) -> bool:
        """Whether a name's domain/device class satisfies the template's context rules."""
        context = value.context or {}
        for key, required in (self.data.requires_context or {}).items():
            if isinstance(required, dict):
                required = required.get("value")
            if required is None or key == "area":
                continue
            actual = context.get(key)
            if isinstance(required, (list, tuple, set)):
                if actual not in required:
                    return False
            elif actual != required:
                return False
        for key, excluded in (self.data.excludes_context or {}).items():
            actual = context.get(key)
            if actual is None:
                continue
            if isinstance(excluded, (list, tuple, set)) and actual in excluded:
                return False
            if actual == excluded:
                return False
        return True

    def sample(self, expression: Any, depth: int = 0) -> str:
        if depth > 40:
            raise RecursionError("expansion rules nest too deep")
        if isinstance(expression, TextChunk):
            return expression.original_text or expression.text
        if isinstance(expression, Alternative):
            return self.sample(self.rng.choice(expression.items), depth + 1)
        if isinstance(expression, Permutation):
            items = list(expression.items)
            self.rng.shuffle(items)
            return " ".join(self.sample(i, depth + 1) for i in items)
        if isinstance(expression, Group):
            return "".join(self.sample(i, depth + 1) for i in expression.items)
        if isinstance(expression, RuleReference):
            return self.sample(self.rules[expression.rule_name].expression, depth + 1)
        if isinstance(expression, ListReference):
            return self._sample_list(expression, depth)
        raise ValueError(f"unexpected expression {expression!r}")

    def _sample_list(self, ref: ListReference, depth: int) -> str:
        slot_list = self.lists.get(ref.list_name)
        if isinstance(slot_list, RangeSlotList):
            if self.fillers is not None:
                number = self.rng.choice(list(slot_list.get_numbers()))
                return f"{int(number) if float(number).is_integer() else number}"
            return f" {NUMBER} "
        if isinstance(slot_list, WildcardSlotList) or ref.list_name in (
                self.data.wildcard_list_names or ()):
            if self.fillers is not None:
                if not self.fillers.get(ref.list_name):
                    raise LookupError(ref.list_name)
                return self.rng.choice(self.fillers[ref.list_name])
            return f" {WILDCARD} "
        if self.skeleton and ref.list_name in SLOT_TOKENS:
            return f" {SLOT_TOKENS[ref.list_name]} "
        values = self._names if ref.list_name == "name" else self._values(ref.list_name)
        if not values:
            raise LookupError(ref.list_name)
        if not self.round_robin_used and ref.list_name in ("name", "area", "floor"):
            self.round_robin_used = True
            value = values[self.turn % len(values)]
        else:
            value = self.rng.choice(values)
        return self.sample(value.text_in, depth + 1)


def sample_sentences(grammar: Grammar, per_template: int, seed: int = 0,
                     skeleton: bool = False) -> Iterator[str]:
    """Distinct canonical sentences, up to `per_template` per template.

    A skeleton index keeps names, areas and floors as placeholders: it covers the phrasings of
    every template far better for the same size, and the heard names are put back into it.
    """
    seen: set[str] = set()
    for intent in grammar.intents.intents.values():
        for data in intent.data:
            for number, sentence in enumerate(data.sentences):
                # Seeded per template, so that adding templates (custom or colloquial
                # sentences) leaves every other template's samples as they were.
                rng = random.Random(f"{seed}:{intent.name}:{sentence.text or number}")
                produced = 0
                for turn in range(per_template * 3):
                    if produced >= per_template:
                        break
                    sampler = _Sampler(grammar, data, rng, turn, skeleton)
                    try:
                        text = canonical(sampler.sample(sentence.expression))
                    except LookupError:
                        break  # a list this home has no values for (no names of this domain)
                    if text and text not in seen:
                        seen.add(text)
                        produced += 1
                        yield text


def sample_commands(grammar: Grammar, per_template: int, seed: int,
                    fillers: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(intent, concrete sentence) pairs with real numbers and free text, for test workloads."""
    rng = random.Random(seed)
    for intent in grammar.intents.intents.values():
        for data in intent.data:
            for sentence in data.sentences:
                for turn in range(per_template):
                    sampler = _Sampler(grammar, data, rng, turn + rng.randrange(1000),
                                       fillers=fillers)
                    try:
                        text = _SPACES.sub(" ", sampler.sample(sentence.expression)).strip()
                    except LookupError:
                        break
                    if text:
                        yield intent.name, text


def fingerprint(grammar: Grammar, home_fingerprint: str, per_template: int) -> str:
    digest = hashlib.sha256()
    for part in (INDEX_VERSION, grammar.language, str(per_template), home_fingerprint,
                 repr(sorted(grammar.intents.intents)), str(len(repr(grammar.data)))):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


#: Index files kept in the cache folder, most recently used first: a hub uses one per language
#: and home (plus a skeleton), so this keeps a few homes and languages and drops the rest.
KEEP_CACHED = 8


def load_or_build(grammar: Grammar, home_fingerprint: str, per_template: int,
                  cache_dir: Path | None, skeleton: bool = False) -> list[str]:
    """The sampled sentences, from the disk cache when it matches this grammar and home."""
    path = None
    if skeleton:
        home_fingerprint = "skeleton"
    if cache_dir is not None:
        path = cache_dir / f"sentences-{fingerprint(grammar, home_fingerprint, per_template)}.gz"
        if path.exists():
            try:
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    sentences = f.read().split("\n")
                path.touch()  # recently used: kept by _prune
                return sentences
            except (OSError, EOFError) as err:
                _LOGGER.warning("Rebuilding unreadable sentence cache %s: %s", path, err)
    sentences = list(sample_sentences(grammar, per_template, skeleton=skeleton))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            with gzip.open(partial, "wt", encoding="utf-8") as f:
                f.write("\n".join(sentences))
            partial.replace(path)
            _prune(path.parent)
        except OSError as err:
            _LOGGER.warning("Cannot cache the sentence index in %s: %s", path, err)
    return sentences


def _prune(cache_dir: Path) -> None:
    """Delete all but the KEEP_CACHED most recently used index files (older homes' indexes)."""
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # deleted meanwhile by another hub sharing the folder
            return 0.0

    for old in sorted(cache_dir.glob("sentences-*.gz"), key=used, reverse=True)[KEEP_CACHED:]:
        old.unlink(missing_ok=True)
