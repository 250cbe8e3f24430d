"""Speech understanding: audio → transcript → intent → reply, one object for the whole hub.

The CLI, the Wyoming asr/intent/handle programs and the satellite pipeline all call this one
class, so a command gives the same `UnderstandingResult` wherever it comes from. Inference and
matching are blocking and run in an executor; the event loop only awaits them. Its surface is
async, one method per question: a caller without a loop (the CLI, a benchmark) runs one with
`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import numpy as np

from hub.asr.base import SAMPLE_RATE, Recognizer, RecognizeRequest, Transcription
from hub.asr.factory import create_recognizer, create_second_recognizer
from hub.asr.llm_tools import IntentSpec, build_tools
from hub.asr.recent import RecentTranscriptions
from hub.config import HubConfig
from hub.intents import conversation
from hub.intents.conversation import Conversations, Turn
from hub.intents.engine import Decision, IntentEngine
from hub.intents.home import FileHomeSource, Home, HomeSource, example_home_path
from voxhub.result import IntentResult, UnderstandingResult

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


async def _blocking(work: Callable[[], _T]) -> _T:
    """Run blocking inference or matching in the default executor."""
    return await asyncio.get_running_loop().run_in_executor(None, work)


@dataclass
class Heard:
    """What was heard in an utterance and the decision on it (`Understander.hear`)."""

    transcription: Transcription
    decision: Decision
    #: True when the second-opinion recognizer (asr.second_model) was asked.
    second_opinion: bool = False


class Understander:
    def __init__(self, config: HubConfig, home_source: HomeSource | None = None) -> None:
        self.config = config
        self.home_source = home_source
        self.recognizer: Recognizer | None = None
        #: A larger model asked only when the first one's words lead to no action.
        self.second: Recognizer | None = None
        self.engine: IntentEngine | None = None
        #: Bias the recognizer toward the home's names (measured by the benchmark).
        self.use_prompt = True
        #: "Did you mean …?" questions waiting for a yes or no (`hub/intents/conversation.py`).
        self.conversations = Conversations()
        #: What the recognizer heard for the texts the speech-to-text program handed out: the
        #: same text coming back to be understood is decided with all its hypotheses.
        self.recent = RecentTranscriptions()

    # -- start-up -----------------------------------------------------------------------------
    def load(self, recognizer: bool = True) -> None:
        """Load the recognizer, the home, the intents and (in the background) the fuzzy index."""
        if self.home_source is None:
            self.home_source = FileHomeSource(self.config.intents.home or example_home_path(
                self.config.intents.language_code))
        cache = self.config.data_path / "understanding"
        self.engine = IntentEngine(self.config.intents, cache)
        self.engine.set_home(self.home_source.current())
        self.home_source.subscribe(self._home_changed)
        if recognizer:
            self.recognizer = create_recognizer(self.config.asr, self.config.data_path)
            self.recognizer.load()
            self.second = create_second_recognizer(self.config.asr, self.config.data_path)
            if self.second is not None:
                self.second.load()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the fuzzy index is built (tests, the CLI, the benchmark)."""
        return self.intent_engine().wait_index(timeout)

    def _home_changed(self, home: Home) -> None:
        if self.engine is not None:
            self.engine.set_home(home)

    def intent_engine(self) -> IntentEngine:
        """The loaded intents engine (RuntimeError before `load()`)."""
        if self.engine is None:
            raise RuntimeError("Understander.load() was not called")
        return self.engine

    @property
    def home(self) -> Home:
        return self.intent_engine().home

    @property
    def languages(self) -> list[str]:
        return list(self.recognizer.languages) if self.recognizer else [
            self.config.intents.language_code]

    # -- recognition --------------------------------------------------------------------------
    def request_for(self, audio: np.ndarray, language: str | None = None,
                    tools: list[dict[str, Any]] | None = None) -> RecognizeRequest:
        """The recognizer's request for `audio` as transcription builds it (cut to
        asr.max_audio_s, the home's prompt): the recognizer answerer and the streaming
        speech-to-text program ask with the same."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        limit = int(self.config.asr.max_audio_s * SAMPLE_RATE)
        if len(audio) > limit:
            _LOGGER.warning("Audio of %.1f s cut to asr.max_audio_s = %.0f s",
                            len(audio) / SAMPLE_RATE, self.config.asr.max_audio_s)
            audio = audio[:limit]
        prompt = self.intent_engine().prompt if self.use_prompt else None
        return RecognizeRequest(audio, language or self.config.asr.language, prompt, tools)

    def _recognizer(self) -> Recognizer:
        if self.recognizer is None:
            raise RuntimeError("no recognizer loaded")
        return self.recognizer

    async def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcription:
        recognizer = self._recognizer()
        request = self.request_for(audio, language)
        return await _blocking(partial(recognizer.transcribe, request))

    async def transcribe_command(self, audio: np.ndarray,
                                 language: str | None = None) -> Transcription:
        """The transcript of what is likely a home command (the speech-to-text program): with
        the second opinion (asr.second_model) folded in when the first model's words lead to
        no action, so Home Assistant's own agent hears what the pipeline would."""
        if self.second is None:
            return await self.transcribe(audio, language)
        heard = await _blocking(partial(self.hear, audio, None, language))
        return heard.transcription

    async def understand_audio(self, audio: np.ndarray, area: str | None = None,
                               language: str | None = None, turn: Turn | None = None,
                               ) -> UnderstandingResult:
        """`turn`: who speaks in which conversation, so that a yes or no answers its open
        question (None: a request that cannot continue a conversation)."""
        self._recognizer()  # fails here, not in the executor, when none is loaded
        return await _blocking(partial(self._understand_audio, audio, area, language, turn))

    def _understand_audio(self, audio: np.ndarray, area: str | None, language: str | None,
                          turn: Turn | None) -> UnderstandingResult:
        started = time.perf_counter()
        heard = self.hear(audio, area, language, turn)
        transcription = heard.transcription
        timings = dict(transcription.timings_ms)
        return self._result(transcription.text, transcription.language, heard.decision,
                            started, timings, turn, area)

    def hear(self, audio: np.ndarray, area: str | None = None, language: str | None = None,
             turn: Turn | None = None) -> Heard:
        """Audio → what was heard and the decision (blocking): an open question's yes or no,
        a one-pass recognizer's tool call, or the intents engine on the hypotheses; then,
        when none of that leads to an action or a question, the second opinion."""
        recognizer = self._recognizer()
        engine = self.intent_engine()
        started = time.perf_counter()
        tools = self._tools() if recognizer.supports_tools else None
        request = self.request_for(audio, language, tools)
        transcription = recognizer.transcribe(request)
        transcription.timings_ms["asr"] = round((time.perf_counter() - started) * 1000, 1)
        decision = conversation.answer(self.conversations, engine, turn,
                                       transcription.hypotheses or [transcription.text],
                                       transcription.language or language)
        if decision is not None:
            return Heard(transcription, decision)
        if transcription.tool_call is not None:
            decision = engine.decide_tool_call(transcription.tool_call, area)
            if decision is not None:
                if transcription.reply:
                    decision.reply = transcription.reply
                return Heard(transcription, decision)
        decision = engine.decide(transcription.hypotheses or [transcription.text], area,
                                 asr_confidence=transcription.confidence or None)
        if decision.match is not None or decision.confirm or self.second is None \
                or not transcription.text.strip():
            return Heard(transcription, decision)
        return self._second_opinion(request, transcription, decision, area)

    def _second_opinion(self, request: RecognizeRequest, first: Transcription,
                        decision: Decision, area: str | None) -> Heard:
        """Ask the second recognizer; its hypotheses, then the first's, are decided together
        (the same rules and threshold: a second chance at hearing, not a lower bar). What it
        heard replaces the first transcript only when it leads to an action or a question."""
        assert self.second is not None
        started = time.perf_counter()
        again = self.second.transcribe(request)
        second_ms = round((time.perf_counter() - started) * 1000, 1)
        timings = {**first.timings_ms, "asr_second": second_ms}
        timings["asr"] = round(timings.get("asr", 0.0) + second_ms, 1)
        hypotheses = list(dict.fromkeys((again.hypotheses or [again.text])
                                        + (first.hypotheses or [first.text])))
        retried = self.intent_engine().decide(hypotheses, area,
                                              asr_confidence=again.confidence or None)
        if retried.match is None and not retried.confirm:
            return Heard(dataclasses.replace(first, timings_ms=timings), decision, True)
        _LOGGER.debug("second opinion: '%s' heard as '%s'", first.text, again.text)
        return Heard(dataclasses.replace(again, hypotheses=hypotheses, timings_ms=timings),
                     retried, True)

    async def understand_text(self, text: str, area: str | None = None,
                              language: str | None = None, turn: Turn | None = None,
                              ) -> UnderstandingResult:
        return await _blocking(partial(self._understand_text, text, area, language, turn))

    def _understand_text(self, text: str, area: str | None, language: str | None,
                         turn: Turn | None) -> UnderstandingResult:
        started = time.perf_counter()
        engine = self.intent_engine()
        decision = conversation.answer(self.conversations, engine, turn, [text], language)
        if decision is None:
            heard = self.recent.take(text)  # text the hub itself produced from audio
            decision = engine.decide(heard.hypotheses if heard else [text], area,
                                     asr_confidence=heard.confidence if heard else None)
        return self._result(text.strip(), language or self.config.intents.language_code,
                            decision, started, {}, turn, area)

    @property
    def recovers_transcripts(self) -> bool:
        """`asr.recovered_transcript`, with 'auto' meaning: the home is the user's own."""
        setting = self.config.asr.recovered_transcript
        if setting == "auto":
            return self.config.intents.home is not None or self.config.home_assistant.enabled
        return setting == "on"

    async def recovered_text(self, transcription: Transcription, area: str | None = None) -> str:
        """The transcript to hand on: the recovered command sentence when the hub is confident
        the recognizer slipped on a command of this home, otherwise the text as heard (a
        rejected or out-of-domain utterance is never rewritten into a command)."""
        return await _blocking(partial(self._recovered_text, transcription, area))

    def _recovered_text(self, transcription: Transcription, area: str | None) -> str:
        text = transcription.text
        if not text.strip() or not self.recovers_transcripts:
            return text
        decision = self.intent_engine().decide(transcription.hypotheses or [text], area)
        if decision.match is None or not decision.matched_text:
            return text
        if decision.method == "strict" and decision.hypothesis == 0:
            return text  # heard right: keep the recognizer's own casing and punctuation
        _LOGGER.debug("transcript '%s' recovered as '%s' (%s, %.2f)", text,
                      decision.matched_text, decision.method, decision.confidence)
        return decision.matched_text

    async def is_complete_command(self, text: str, area: str | None = None) -> bool:
        """A cheap strict check, used to answer before the full end-of-speech silence."""
        return await _blocking(partial(self.intent_engine().is_complete_command, text, area))

    # -- helpers ------------------------------------------------------------------------------
    def _tools(self) -> list[dict[str, Any]]:
        """The home's intents as tools for a recognizer that picks the intent itself."""
        engine = self.intent_engine()
        home = engine.home
        specs = [IntentSpec(name, slots) for name, slots in engine.grammar.intent_slots().items()]
        return build_tools(specs, [n for e in home.entities for n in e.names],
                           [n for a in home.areas for n in a.names],
                           [n for f in home.floors for n in f.names])

    def _result(self, text: str, language: str, decision: Decision, started: float,
                timings: dict[str, float], turn: Turn | None = None,
                area: str | None = None) -> UnderstandingResult:
        engine = self.intent_engine()
        total_ms = (time.perf_counter() - started) * 1000
        timings["intent"] = round(total_ms - timings.get("asr", 0.0), 1)
        timings["total"] = round(total_ms, 1)
        if decision.match is None:
            reply = decision.reply or (engine.not_recognized_reply() if text else "")
            result = UnderstandingResult(text, language, None, [], reply,
                                         round(decision.confidence, 3), timings)
            if decision.confirm:
                result = conversation.asked(result, self.conversations, decision, turn, area)
            return result
        slots = {k: _plain(v) for k, v in decision.match.slots.items()}
        return UnderstandingResult(
            text, language, IntentResult(decision.match.intent, slots),
            [e.id for e in decision.resolution.targets], decision.reply,
            decision.confidence, timings, understood=decision.match.text,
            conversation_id=turn.conversation_id if decision.method in (
                "confirmed", "declined") and turn is not None else None)


def _plain(value: Any) -> Any:
    """JSON-friendly slot values (hassil gives 50.0 for "50%")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
