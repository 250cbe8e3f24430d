"""From recognizer hypotheses to one decision: intent, targets, reply and an honest confidence.

Order of trust: a hypothesis that parses strictly (best first) — this is what Home Assistant
itself would accept; then the fuzzy repairs across the first hypotheses, where the confidence is
the similarity between what was heard and the snapped sentence, weighted by how many hypotheses
agree on the same action. A fuzzy result must also resolve to something in the home: "turn on
the kitchen fan" in a kitchen without a fan is no better a guess than "Sorry". Below the
configured threshold the answer is not-recognized.

The home model can change at any time (file edit, Home Assistant registry update): everything
derived from it is rebuilt into a new `_State` and swapped in one assignment, and the sentence
index is rebuilt in a background thread while requests keep being served by the strict stage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.asr.base import ToolCall
from hub.intents import phrases, rejection
from hub.intents.config import IntentsConfig
from hub.intents.described import DescribedNames
from hub.intents.fuzzy import FuzzyMatcher
from hub.intents.grammar import Grammar
from hub.intents.home import Home
from hub.intents.recognize import IntentMatch, StrictMatcher
from hub.intents.replies import Replies
from hub.intents.safety import (
    UNSAFE_CONFIDENCE,
    is_unsafe,
    names_only,
    places_heard_exactly,
    widens_scope,
)
from hub.intents.sentences import canonical, load_or_build, sample_sentences
from hub.intents.slots import (
    SlotChecks,
    free_text_agreement,
    implausible_free_text,
    prefer_supported_numbers,
    without_implausible_name,
)
from hub.intents.targets import Resolution, resolve

_LOGGER = logging.getLogger(__name__)

#: Fuzzy repairs run on this many distinct hypotheses (each costs tens of milliseconds).
FUZZY_HYPOTHESES = 3
#: A repaired match is never as sure as a strict parse: below UNSAFE_CONFIDENCE, so that an
#: unsafe action that was not heard exactly is always asked about.
REPAIR_CONFIDENCE = 0.94
#: Strict parses are tried on this many (a few milliseconds each).
STRICT_HYPOTHESES = 5


def _pick_strict(hits: list[tuple[int, IntentMatch, Resolution]]
                 ) -> tuple[int, IntentMatch, Resolution]:
    """The first parse that resolves; when it holds free text ("pause well hour timer") and a
    later hypothesis gives the same intent without any ("pause 1 hour timer"), that one; when
    its free text is implausible ("named T"), a later one of the same intent whose free text
    is not ("named tea"); and a later one that heard the same words and more, when the words
    it adds make it another intent."""
    good = [h for h in hits if h[2].error is None] or hits[:1]
    first = good[0]
    if first[1].wildcard_slots:
        for hit in good[1:]:
            if hit[1].intent == first[1].intent and not hit[1].wildcard_slots:
                return hit
    if implausible_free_text(first[1]):
        for hit in good[1:]:
            if hit[1].intent == first[1].intent and not implausible_free_text(hit[1]):
                return hit
    heard = canonical(first[1].text).split()
    for hit in good[1:]:
        # "Bedside lamp" (a bare name: turn it on) best, "bedside lamp off" below: the best
        # hypothesis lost the last word, and the word that was heard decides.
        longer = canonical(hit[1].text).split()
        if hit[1].intent != first[1].intent and len(longer) > len(heard) \
                and longer[:len(heard)] == heard:
            return hit
    return first


@dataclass
class Decision:
    match: IntentMatch | None
    resolution: Resolution = field(default_factory=Resolution)
    reply: str = ""
    confidence: float = 0.0
    method: str = "none"  # strict, names, nearest, wildcard, tool, none
    hypothesis: int = 0
    #: The sentence that was finally matched (differs from the transcript after a repair).
    matched_text: str = ""
    #: True when the reply is a "Did you mean …?" question: an unsafe action (unlock, open the
    #: garage, every light off, cancel all timers) heard with too little confidence. Nothing
    #: acts; after a "yes", `IntentEngine.confirmed(decision)` gives the decision that does.
    confirm: bool = False
    #: The proposed match of a confirm question.
    pending: IntentMatch | None = None
    #: Why a match was refused or questioned: confidence, scope, number, timer, unsafe.
    reason: str | None = None


@dataclass
class Assessment:
    """The best match for an utterance and its evidence, before the thresholds."""

    match: IntentMatch
    resolution: Resolution
    method: str
    hypothesis: int
    confidence: float
    features: dict[str, float] = field(default_factory=dict)
    #: Set when a hard rule refuses the match (scope, number, timer) or it is below threshold.
    rejected: str | None = None
    #: What the match's places are checked against, canonical: the hypothesis a repair came
    #: from; the best hypothesis for a strict parse.
    heard: str = ""


@dataclass
class _State:
    home: Home
    grammar: Grammar
    strict: StrictMatcher
    fuzzy: FuzzyMatcher
    replies: Replies
    prompt: str
    described: DescribedNames
    index_ready: threading.Event = field(default_factory=threading.Event)


class IntentEngine:
    def __init__(self, config: IntentsConfig, cache_dir: Path | None = None) -> None:
        self.config = config
        self.cache_dir = cache_dir if config.cache_index else None
        self.base = Grammar.load(config.language_code, config.custom_sentences,
                                 config.colloquial)
        self._state: _State | None = None
        self._build_lock = threading.Lock()

    # -- the home model -----------------------------------------------------------------------
    @property
    def home(self) -> Home:
        return self._require().home

    @property
    def grammar(self) -> Grammar:
        return self._require().grammar

    @property
    def prompt(self) -> str:
        return self._require().prompt

    def _require(self) -> _State:
        if self._state is None:
            raise RuntimeError("IntentEngine.set_home() was not called")
        return self._state

    def set_home(self, home: Home, background: bool = True) -> None:
        """Use a new home model now; its fuzzy index follows (in a thread unless told not to)."""
        current = self._state
        if current is not None and current.home.fingerprint() == home.fingerprint():
            # Same names and areas (a reconnect, a state-only change): keep grammar and index.
            self._state = _State(home, current.grammar, current.strict, current.fuzzy,
                                 current.replies, current.prompt, current.described,
                                 current.index_ready)
            return
        grammar = self.base.with_home(home)
        strict = StrictMatcher(grammar)
        strict.match("warm up")  # hassil compiles on first use (~150 ms): not on a request
        state = _State(home, grammar, strict,
                       FuzzyMatcher(strict, home, None, name_score=self.config.name_similarity),
                       Replies(grammar), build_prompt(grammar, home, self.config.prompt_words),
                       DescribedNames(home))
        self._state = state
        if not self.config.fuzzy:
            state.index_ready.set()
        elif background:
            threading.Thread(target=self._build_index, args=(state,), daemon=True,
                             name="sentence-index").start()
        else:
            self._build_index(state)

    def wait_index(self, timeout: float | None = None) -> bool:
        return self._require().index_ready.wait(timeout)

    def _build_index(self, state: _State) -> None:
        with self._build_lock:
            if state is not self._state:
                return  # a newer home arrived meanwhile
            started = time.perf_counter()
            try:
                sentences = load_or_build(state.grammar, state.home.fingerprint(),
                                          self.config.sentences_per_template, self.cache_dir)
            except Exception:
                _LOGGER.exception("Building the sentence index failed: strict matching only")
                state.index_ready.set()
                return
            try:
                skeletons = load_or_build(state.grammar, "", self.config.sentences_per_template,
                                          self.cache_dir, skeleton=True)
            except Exception:
                _LOGGER.exception("Building the skeleton index failed")
                skeletons = []
            state.fuzzy.set_sentences(sentences)
            state.fuzzy.set_skeletons(skeletons)
            state.index_ready.set()
            _LOGGER.info("Sentence index: %d sentences in %.1f s", len(sentences),
                         time.perf_counter() - started)

    # -- decisions ----------------------------------------------------------------------------
    def is_complete_command(self, text: str, area: str | None = None) -> bool:
        state = self._require()
        match = state.strict.match(text, state.home.find_area(area))
        return match is not None and resolve(match, state.home).error is None

    def decide(self, hypotheses: list[str], area: str | None = None, *,
               asr_confidence: float | None = None,
               timers: list[str] | None = None) -> Decision:
        """The decision for one utterance.

        `asr_confidence`: the recognizer's confidence in its best hypothesis (Transcription's
        `confidence`), when there was audio. `timers`: the names of the timers running on the
        satellite, when known: a timer name must then be one of them.
        """
        state = self._require()
        found = self.assess(hypotheses, area, asr_confidence=asr_confidence, timers=timers)
        if found is None:
            return Decision(None)
        if found.rejected:
            return Decision(None, found.resolution, confidence=found.confidence,
                            method="rejected", hypothesis=found.hypothesis,
                            matched_text=found.match.text, reason=found.rejected)
        several = (len(found.resolution.targets) > 1
                   and not places_heard_exactly(found.match, found.heard))
        if (is_unsafe(found.match, found.resolution) or several) \
                and found.confidence < UNSAFE_CONFIDENCE:
            return Decision(None, found.resolution,
                            reply=phrases.phrase(state.grammar.language, "did_you_mean",
                                                 sentence=found.match.text),
                            confidence=found.confidence, method="confirm",
                            hypothesis=found.hypothesis, matched_text=found.match.text,
                            confirm=True, pending=found.match,
                            reason="unsafe" if not several else "several")
        return self._finish(state, found.match, found.resolution, found.confidence,
                            found.method, found.hypothesis)

    def confirmed(self, decision: Decision) -> Decision:
        """The action a "Did you mean …?" question proposed, after the person said yes."""
        if not decision.confirm or decision.pending is None:
            raise ValueError("not a decision that asks for confirmation")
        state = self._require()
        res = resolve(decision.pending, state.home)
        return self._finish(state, decision.pending, res, 1.0, "confirmed", decision.hypothesis)

    def assess(self, hypotheses: list[str], area: str | None = None, *,
               asr_confidence: float | None = None,
               timers: list[str] | None = None) -> Assessment | None:
        """The best match with its evidence, before the thresholds (the benchmark's fit reads
        `features`); `rejected` says why a match is refused whatever its confidence."""
        state = self._require()
        home = state.home
        area_obj = home.find_area(area)
        distinct: list[str] = []
        seen: set[str] = set()
        for text in hypotheses:
            said = canonical(text)
            if said and said not in seen:
                seen.add(said)
                distinct.append(text)
        if not distinct:
            return None
        # Numbers are voted on by every hypothesis, repeats included (five hypotheses that
        # differ only in punctuation are five votes).
        checks = SlotChecks(home, [h for h in hypotheses if h.strip()], timers)

        # 1. Strict parses, best hypothesis first; one that resolves in the home wins, but free
        #    text the hypotheses disagree on gives way to a parse without it.
        strict_hits: list[tuple[int, IntentMatch, Resolution]] = []
        #: Matches that took a part of a name for the whole ("the vacuum"): a guess.
        completed: set[int] = set()
        for i, text in enumerate(distinct[:STRICT_HYPOTHESES]):
            match = state.strict.match(text, area_obj)
            if match is None:  # "the heater in the bedroom": the Bedroom Heater, reordered
                described = state.described.rewrite(canonical(text), area_obj)
                match = state.strict.match(described, area_obj) if described else None
            if match is None:  # "Regle la lumière": "Règle", its accent not heard
                match = state.fuzzy.respelled(text, area_obj)
            if match is None:  # "send the vacuum home": the Robot Vacuum, the only one
                whole = state.described.completed(canonical(text), area_obj)
                match = state.strict.match(whole, area_obj) if whole else None
                if match is not None:
                    completed.add(id(match))
            if match is not None:
                strict_hits.append((i, match, resolve(match, home)))
        # Spoken, a bare name does not say what to do: a hypothesis or repair that does decides.
        spoken = asr_confidence is not None
        if spoken:
            strict_hits = [hit for hit in strict_hits if not names_only(hit[1])]
        if strict_hits:
            i, match, res = prefer_supported_numbers(checks, _pick_strict(strict_hits),
                                                     strict_hits)
            named = match
            match = without_implausible_name(match)
            if match is not named:
                res = resolve(match, home)
            confidence = 1.0 if i == 0 else 0.9
            if id(named) in completed:  # as sure as a repair: an unsafe one is asked about
                confidence = min(confidence, REPAIR_CONFIDENCE)
            if match.wildcard_slots:
                confidence *= free_text_agreement(match, strict_hits, len(distinct))
                if asr_confidence is not None:
                    confidence = min(confidence, 0.4 + asr_confidence)
            # A place only a lower hypothesis has ("dining room" best, "living room" third)
            # is checked against the best one, as a repair's is against what it repaired.
            found = Assessment(match, res, "strict", i, confidence,
                               heard=canonical(distinct[0]))
            found.rejected = checks.check(match, strict_hits)
            if found.rejected is None and res.error is None and len(distinct) > 1:
                # A number the other hypotheses do not share (heard 19, 90 among them).
                found.confidence *= checks.number_agreement(match)
            if found.rejected is None and found.confidence < self.config.min_confidence:
                found.rejected = "confidence"
            return found

        # 2. Fuzzy repairs across the first hypotheses; the calibrated rule judges them.
        if not self.config.fuzzy:
            return None
        considered = distinct[:FUZZY_HYPOTHESES]
        best: dict[Any, tuple[float, int, Any, Resolution]] = {}
        support: Counter[Any] = Counter()
        resolutions: dict[int, Resolution] = {}

        def resolves(match: IntentMatch) -> bool:
            if spoken and names_only(match):
                return False
            resolutions[id(match)] = res = resolve(match, home)
            return res.error is None

        for i, text in enumerate(considered):
            cand = state.fuzzy.best(text, area_obj, resolves)
            if cand is None:
                continue
            key = cand.match.key()
            support[key] += 1
            if key not in best or cand.similarity > best[key][0]:
                best[key] = (cand.similarity, i, cand, resolutions[id(cand.match)])
        if not best:
            return None
        scored = []
        for key, (similarity, i, cand, res) in best.items():
            # Agreement counts the hypotheses that lead nowhere as votes against.
            # What was heard with the home's names repaired ("first four" → first floor,
            # "playcorner" → play corner): those repairs are already vetted word by word.
            heard = state.fuzzy.repair_names(canonical(considered[i]))
            values = rejection.features(heard, canonical(cand.text),
                                        similarity, support[key] / len(considered),
                                        asr_confidence)
            probability = rejection.probability(values) * checks.number_agreement(cand.match)
            scored.append((probability, i, cand, res, values))
        confidence, i, cand, res, values = max(scored, key=lambda s: s[0])
        confidence = min(confidence, REPAIR_CONFIDENCE)
        match = without_implausible_name(cand.match)
        if match is not cand.match:
            res = resolve(match, home)
        found = Assessment(match, res, cand.method, i, confidence, values,
                           heard=canonical(considered[i]))
        heard_words = set(canonical(considered[i]).split())
        if widens_scope(match, res, heard_words):
            found.rejected = "scope"
        else:
            found.rejected = checks.check(match, [])
        if found.rejected is None and confidence < self.config.min_confidence:
            found.rejected = "confidence"
        return found

    def decide_tool_call(self, call: ToolCall, area: str | None = None) -> Decision | None:
        """A one-pass audio-LLM's choice, accepted only if it fits the grammar and the home."""
        state = self._require()
        if call.name not in state.grammar.intents.intents:
            return None
        home = state.home
        slots: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for key, value in (call.arguments or {}).items():
            if value in (None, ""):
                continue
            if key == "name":
                entity = next((e for e in home.entities
                               if any(n.casefold() == str(value).casefold() for n in e.names)),
                              None)
                if entity is None:
                    return None
                slots[key], texts[key] = entity.name, str(value)
            elif key in ("area", "floor"):
                found = (home.find_area if key == "area" else home.find_floor)(str(value))
                if found is None:
                    return None
                slots[key], texts[key] = found.id, str(value)
            else:
                slots[key] = value
        context: set[str] = set()
        area_obj = home.find_area(area)
        if area_obj is not None and "area" not in slots and "floor" not in slots \
                and "name" not in slots:
            slots["area"] = area_obj.id
            context.add("area")
        responses = state.grammar.responses.get(call.name, {})
        response = "default" if "default" in responses else next(iter(responses), "default")
        match = IntentMatch(call.name, slots, texts, response, context, set(), "")
        res = resolve(match, home)
        if res.error is not None:
            return None
        return self._finish(state, match, res, 0.9, "tool", 0)

    def not_recognized_reply(self) -> str:
        state = self._require()
        return state.replies.not_recognized(
            state.home, lambda sentence: state.strict.match(sentence) is not None)

    def _finish(self, state: _State, match: IntentMatch, res: Resolution, confidence: float,
                method: str, hypothesis: int) -> Decision:
        reply = state.replies.render(match, res, state.home)
        return Decision(match, res, reply, round(confidence, 3), method, hypothesis, match.text)


def build_prompt(grammar: Grammar, home: Home, words: int) -> str:
    """Frequent command words of the grammar, then the home's area and entity names.

    Names alone can hurt (Whisper starts copying the list); the command words keep the prompt
    looking like the commands it should bias toward.
    """
    if words <= 0:
        return ""
    counts: Counter[str] = Counter()
    for sentence in sample_sentences(grammar, 2, seed=1):
        counts.update(w for w in sentence.split() if w.isalpha() and len(w) > 3)
    names = {canonical(n) for e in home.entities for n in e.names}
    names |= {canonical(n) for a in home.areas for n in a.names}
    common = [w for w, _ in counts.most_common(words * 2) if w not in names][:words]
    areas = [a.name for a in home.areas]
    entities = list(dict.fromkeys(e.name for e in home.entities))
    return f"{', '.join(common)}. {', '.join(areas)}. {', '.join(entities)}."
