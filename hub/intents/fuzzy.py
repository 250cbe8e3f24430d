"""Recovering recognizer slips: snap a transcript to the nearest sentence the home can say.

Strict matching loses about a third of spoken commands to one-word slips ("open the garbage
door"). Three repairs are tried, each ending in the strict matcher so that only sentences the
grammar accepts come out:

1. name repair: a span that sounds like one of the home's names ("garbage door", "first four")
   is replaced by that name;
2. nearest sentence: the closest sentence of the sampled index (numbers kept as `#`);
3. wildcard templates ("add * to my shopping list"): the template's fixed words are aligned with
   the transcript and the free text fills the wildcard, which may cover only part of it.

Each candidate keeps an honest similarity to what was heard, and the names it introduces must be
(fuzzily) present in the transcript: a nearest-sentence matcher otherwise maps any out-of-domain
speech onto some command. The caller turns similarities and agreement between hypotheses into a
confidence and rejects what falls below the configured threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from hub.intents.home import Area, Home
from hub.intents.recognize import IntentMatch, StrictMatcher
from hub.intents.rejection import FILLERS
from hub.intents.sentences import NUMBER, SLOT_TOKENS, WILDCARD, canonical, comparable

_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)?$")

#: Slots whose words must have been heard (a snapped sentence may not invent a target).
NAMED_SLOTS = ("name", "area", "floor")
#: Letters a name run together (or split) may differ by from the heard span and still be it.
JOINED_LENGTH_SLACK = 2


@dataclass
class Candidate:
    match: IntentMatch
    similarity: float
    method: str  # "strict", "names", "nearest", "wildcard"
    text: str


def _numbers_to_placeholders(tokens: list[str]) -> tuple[list[str], list[str]]:
    numbers = [t for t in tokens if _NUMBER_RE.match(t)]
    return [NUMBER if _NUMBER_RE.match(t) else t for t in tokens], numbers


class FuzzyMatcher:
    def __init__(self, strict: StrictMatcher, home: Home, sentences: list[str] | None,
                 nearest: int = 8, name_score: float = 80.0) -> None:
        self.strict = strict
        self.home = home
        self.nearest = nearest
        self.name_score = name_score
        #: canonical name → slot it fills (an area's name wins over an entity of the same name)
        kinds: dict[str, str] = {}
        for kind, group in (("floor", home.floors), ("area", home.areas),
                            ("name", home.entities)):
            for item in group:
                for n in item.names:
                    kinds.setdefault(canonical(n), kind)
        self._kinds = kinds
        self._name_keys = sorted(kinds, key=lambda k: -len(k.split()))
        self.skeletons: list[str] = []
        self.sentences: list[str] = []
        self.wild: list[str] = []
        #: The same lists as similarity compares them (comparable(), parallel by position).
        self._skeleton_keys: list[str] = []
        self._sentence_keys: list[str] = []
        self._wild_keys: list[str] = []
        #: Words of the commands themselves, outside the home's names (from the skeletons).
        self._grammar_words: frozenset[str] = frozenset()
        #: comparable() form → sentence, where the two differ (languages with accents).
        self._respellings: dict[str, list[str]] = {}
        if sentences is not None:
            self.set_sentences(sentences)

    def set_skeletons(self, skeletons: list[str]) -> None:
        self.skeletons = [s for s in skeletons if WILDCARD not in s]
        self._skeleton_keys = [comparable(s) for s in self.skeletons]
        self._grammar_words = frozenset(
            w for s in self.skeletons for w in s.split()
            if w not in SLOT_TOKENS.values() and w != NUMBER and not _NUMBER_RE.match(w))
        self._add_respellings(self.skeletons, self._skeleton_keys)

    def set_sentences(self, sentences: list[str]) -> None:
        self.sentences = [s for s in sentences if WILDCARD not in s]
        self.wild = [s for s in sentences if WILDCARD in s]
        self._sentence_keys = [comparable(s) for s in self.sentences]
        self._add_respellings(self.sentences, self._sentence_keys)
        self._wild_keys = [comparable(_SPACE.sub(" ", s.replace(WILDCARD, " ")).strip())
                           for s in self.wild]

    def _add_respellings(self, sentences: list[str], keys: list[str]) -> None:
        for sentence, key in zip(sentences, keys, strict=True):
            if key is not sentence and key != sentence:
                spellings = self._respellings.setdefault(key, [])
                if sentence not in spellings:
                    spellings.append(sentence)

    def respelled(self, text: str, area: Area | None) -> IntentMatch | None:
        """The strict match of the index sentence that `text` is but for accents and how per
        cent is written ("Regle la lumière de la cuisine à 40 %" → "règle la lumière … 40
        pourcent"): no slip, so it counts as heard. None where there is none."""
        if not self._respellings:
            return None
        heard = canonical(text)
        shape, values = self._skeleton(heard)
        tokens, numbers = _numbers_to_placeholders(heard.split())
        for key, fill in ((shape, lambda t: _fill_slots(t, values)),
                          (" ".join(tokens), lambda t: _fill(t, numbers))):
            for sentence in self._respellings.get(comparable(key), []):
                filled = fill(sentence.split())
                match = self.strict.match(filled, area) if filled else None
                if match is not None:
                    return match
        return None

    # -- the three repairs ----------------------------------------------------------------------
    def proposals(self, text: str) -> list[tuple[float, str, str]]:
        """Repaired sentences (similarity to what was heard, method, text), not yet checked."""
        heard = canonical(text)
        if not heard:
            return []
        key = comparable(heard)
        found: dict[str, tuple[float, str, str]] = {}

        def add(texts: list[str | None], method: str,
                similarities: dict[str, float] | None = None) -> None:
            for candidate in texts:
                if not candidate:
                    continue
                if similarities is not None:
                    similarity = similarities[candidate]
                else:
                    similarity = fuzz.ratio(key, comparable(canonical(candidate))) / 100.0
                if candidate not in found or similarity > found[candidate][0]:
                    found[candidate] = (similarity, method, candidate)

        repaired = self.repair_names(heard)
        if repaired != heard:
            add([repaired], "names")
        tokens, numbers = _numbers_to_placeholders(heard.split())
        query = comparable(" ".join(tokens))
        if self.skeletons:
            shape, values = self._skeleton(repaired)
            if values:
                hits = process.extract(comparable(shape), self._skeleton_keys,
                                       scorer=fuzz.ratio,
                                       limit=self.nearest, score_cutoff=60)
                add([_fill_slots(self.skeletons[i].split(), values) for _, _, i in hits],
                    "skeleton")
        if self.sentences:
            hits = process.extract(query, self._sentence_keys, scorer=fuzz.ratio,
                                   limit=self.nearest, score_cutoff=60)
            add([_fill(self.sentences[i].split(), numbers) for _, _, i in hits], "nearest")
        if self.wild:
            hits = process.extract(query, self._wild_keys, scorer=fuzz.token_set_ratio,
                                   limit=self.nearest, score_cutoff=70)
            # Fixed words heard in pieces ("broad as that …") share few whole tokens with the
            # template; a partial match on the characters still finds it.
            hits += process.extract(query, self._wild_keys, scorer=fuzz.partial_ratio,
                                    limit=self.nearest // 2, score_cutoff=85)
            scored: dict[str, float] = {}
            for _, _, i in hits:
                aligned = _align_wildcard(self.wild[i].split(), tokens)
                if aligned is None:
                    continue
                filled = _fill(aligned[0], numbers)
                if filled and aligned[1] > scored.get(filled, -1.0):
                    scored[filled] = aligned[1]
            add(list(scored), "wildcard", scored)
        return sorted(found.values(), reverse=True)

    def best(self, text: str, area: Area | None,
             accept: Callable[[IntentMatch], bool] = lambda m: True) -> Candidate | None:
        """The most similar repair that parses strictly, is honest and is accepted.

        Proposals are checked best first and the search stops at the first good one: strict
        matching is the expensive step (milliseconds per sentence).
        """
        heard = canonical(text)
        for similarity, method, candidate in self.proposals(text):
            match = self.strict.match(candidate, area)
            if match is not None and self._honest(match, heard) and accept(match):
                return Candidate(match, similarity, method, candidate)
        return None

    def candidates(self, text: str, area: Area | None) -> list[Candidate]:
        """Every proposal that parses strictly and honestly (for inspection and tests)."""
        heard = canonical(text)
        out = []
        for similarity, method, candidate in self.proposals(text):
            match = self.strict.match(candidate, area)
            if match is not None and self._honest(match, heard):
                out.append(Candidate(match, similarity, method, candidate))
        return out

    def repair_names(self, heard: str) -> str:
        """Replace spans that sound like a home name by the name ("garbage door" → garage door)."""
        words = heard.split()
        # A name heard exactly is not a slip for another inside it ("living room" is not
        # "living roomba"); a longer name around it still may be ("kitchen light").
        exact = [(start, start + len(key.split())) for start in range(len(words))
                 for key in self._name_keys
                 if " ".join(words[start:start + len(key.split())]) == key]
        spans: list[tuple[float, int, int, str]] = []
        for start in range(len(words)):
            for key in self._name_keys:
                size = len(key.split())
                # The same number of words, or one more or fewer: merged or split words
                # ("playcorner" for "play corner", "bath room" for "bathroom").
                for width in (size, size - 1, size + 1):
                    end = start + width
                    if width < 1 or end > len(words):
                        continue
                    span = " ".join(words[start:end])
                    if span == key or len(span) < 4:
                        continue
                    if any(s <= start and end <= e and end - start < e - s for s, e in exact):
                        continue
                    if width > size and self._said_as_grammar(words[start:end], key):
                        continue
                    score = (phrase_score(span, key) if width == size
                             else joined_score(span, key))
                    if score >= self.name_score:
                        spans.append((score + width, start, end, key))
        if not spans:
            return heard
        used = [False] * len(words)
        chosen: list[tuple[int, int, str]] = []
        for _, start, end, name in sorted(spans, reverse=True):
            if any(used[start:end]):
                continue
            used[start:end] = [True] * (end - start)
            chosen.append((start, end, name))
        for start, end, name in sorted(chosen, reverse=True):
            words[start:end] = [name]
        return " ".join(words)

    def _said_as_grammar(self, span: list[str], name: str) -> bool:
        """Whether the words a split name would be made of are each a word the commands use on
        their own: "are any lights" is the question it sounds like, not "garden lights" split
        in two; "bath room" can be the Bathroom ("bath" is no word of the grammar)."""
        pieces = set(span) - set(name.split())
        return bool(pieces) and pieces <= self._grammar_words

    def _skeleton(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Exact home names replaced by their slot's placeholder, longest names first."""
        words = text.split()
        out: list[str] = []
        values: list[tuple[str, str]] = []
        i = 0
        while i < len(words):
            for key in self._name_keys:
                size = len(key.split())
                if " ".join(words[i:i + size]) == key:
                    kind = self._kinds[key]
                    out.append(SLOT_TOKENS[kind])
                    values.append((SLOT_TOKENS[kind], key))
                    i += size
                    break
            else:
                out.append(NUMBER if _NUMBER_RE.match(words[i]) else words[i])
                if _NUMBER_RE.match(words[i]):
                    values.append((NUMBER, words[i]))
                i += 1
        return " ".join(out), values

    def _honest(self, match: IntentMatch, heard: str) -> bool:
        """Names, areas and floors of the snapped sentence must have been (nearly) heard."""
        for slot in NAMED_SLOTS:
            said = match.slot_texts.get(slot)
            if not said or slot in match.context_slots:
                continue
            if not heard_somewhere(canonical(said), heard, self.name_score):
                return False
        for slot in match.wildcard_slots:
            said = canonical(match.slot_texts.get(slot, ""))
            if said and len(said.split()) > max(1, 0.75 * len(heard.split())):
                return False
        return True


_SPACE = re.compile(r"\s+")


def phrase_score(span: str, name: str, word_min: float = 65.0) -> float:
    """Similarity of two phrases of the same length, word by word (0 when any word is far off).

    Whole-string similarity alone accepts "the lights" for "kitchen lights"; recognizer slips
    change a word's sound, not which words are there. A small word of the sentence ("the",
    "in") is never a slip for a word of the name: "the lights" is not "den lights".
    """
    a, b = span.split(), name.split()
    if len(a) != len(b):
        return 0.0
    for x, y in zip(a, b, strict=True):
        if x != y and (x in FILLERS or fuzz.ratio(x, y) < word_min):
            return 0.0
    return fuzz.ratio(span, name)


def joined_score(span: str, name: str) -> float:
    """Similarity of two phrases with the spaces taken out ("playcorner" / "play corner"); 0
    for short ones, where leaving out a space changes too little to be told apart, and when
    the heard span has a small word the name lacks ("the playcorner" is "the" + the name) or
    is letters shorter or longer than the name ("lights" is not "den lights" run together)."""
    if any(w in FILLERS for w in set(span.split()) - set(name.split())):
        return 0.0
    a, b = span.replace(" ", ""), name.replace(" ", "")
    if min(len(a), len(b)) < 6 or abs(len(a) - len(b)) > JOINED_LENGTH_SLACK:
        return 0.0
    return fuzz.ratio(a, b)


def heard_somewhere(said: str, heard: str, threshold: float) -> bool:
    """Whether `said` (a name) matches a window of what was heard: of the same length, word by
    word, or one word longer or shorter with the words run together."""
    size = len(said.split())
    words = heard.split()
    if any(phrase_score(" ".join(words[i:i + size]), said) >= threshold
           for i in range(len(words) - size + 1)):
        return True
    return any(joined_score(" ".join(words[i:i + width]), said) >= threshold
               for width in (size - 1, size + 1) if width >= 1
               for i in range(len(words) - width + 1))


def _fill(template: list[str], numbers: list[str]) -> str | None:
    """Put the heard numbers back into the template's `#` places, in order."""
    if template.count(NUMBER) != len(numbers):
        return None
    it = iter(numbers)
    return " ".join(next(it) if t == NUMBER else t for t in template)


def _fill_slots(template: list[str], values: list[tuple[str, str]]) -> str | None:
    """Put heard names and numbers back into a skeleton's placeholders, each kind in order."""
    queues: dict[str, list[str]] = {}
    for kind, value in values:
        queues.setdefault(kind, []).append(value)
    out = []
    for token in template:
        if token == NUMBER or token in SLOT_TOKENS.values():
            queue = queues.get(token)
            if not queue:
                return None
            out.append(queue.pop(0))
        else:
            out.append(token)
    if any(queues.values()):
        return None  # something heard would be dropped
    return " ".join(out)


def _word_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return 1.0 - fuzz.ratio(a, b) / 100.0


def _align_wildcard(template: list[str], query: list[str]) -> tuple[list[str], float] | None:
    """Edit-distance alignment where each `*` absorbs one or more heard words at no cost.

    Returns the template with every `*` replaced by the words it absorbed and a similarity: that
    of the fixed words (1 - cost / fixed words), lowered by the share of the transcript the
    wildcards absorbed; None when the fixed words are too far from what was heard or too few to
    say anything (a template that is mostly free text matches everything).
    """
    n, m = len(template), len(query)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            here = cost[i][j]
            if here == inf:
                continue
            if i < n and template[i] == WILDCARD:
                for k in range(j + 1, m + 1):  # absorb query[j:k]
                    if here < cost[i + 1][k]:
                        cost[i + 1][k], back[i + 1][k] = here, (i, j)
                continue
            if i < n and j < m:
                c = here + _word_cost(template[i], query[j])
                if c < cost[i + 1][j + 1]:
                    cost[i + 1][j + 1], back[i + 1][j + 1] = c, (i, j)
            if i < n and j + 1 < m:  # one word heard as two ("broad as" for "broadcast")
                c = here + _word_cost(template[i], query[j] + query[j + 1]) + 0.1
                if c < cost[i + 1][j + 2]:
                    cost[i + 1][j + 2], back[i + 1][j + 2] = c, (i, j)
            if i < n and here + 1 < cost[i + 1][j]:
                cost[i + 1][j], back[i + 1][j] = here + 1, (i, j)
            if j < m and here + 1 < cost[i][j + 1]:
                cost[i][j + 1], back[i][j + 1] = here + 1, (i, j)
    fixed = sum(1 for t in template if t != WILDCARD)
    if fixed < 2 or cost[n][m] == inf or cost[n][m] > 0.34 * fixed:
        return None
    out: list[str] = []
    absorbed = 0
    i, j = n, m
    while (i, j) != (0, 0):
        prev = back[i][j]
        assert prev is not None
        pi, pj = prev
        if pi == i - 1 and template[pi] == WILDCARD:
            out.append(" ".join(query[pj:j]))
            absorbed += j - pj
        elif pi == i - 1:
            out.append(template[pi])
        i, j = pi, pj
    # Free text copied from the transcript proves nothing: the more of it, the less sure.
    coverage = absorbed / max(m, 1)
    return out[::-1], (1.0 - cost[n][m] / fixed) * (1.0 - 0.5 * coverage)
