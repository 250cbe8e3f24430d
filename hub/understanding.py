"""Speech understanding: audio → transcript → intent → reply, one object for the whole hub.

The CLI, the Wyoming asr/intent/handle programs and the satellite pipeline all call this one
class, so a command gives the same `UnderstandingResult` wherever it comes from. Inference and
matching are blocking and run in an executor; the event loop only awaits them. Its surface is
async, one method per question: a caller without a loop (the CLI, a benchmark) runs one with
`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numpy as np

from hub.asr.base import SAMPLE_RATE, Recognizer, RecognizeRequest, Transcription
from hub.asr.factory import create_recognizer
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


class Understander:
    def __init__(self, config: HubConfig, home_source: HomeSource | None = None) -> None:
        self.config = config
        self.home_source = home_source
        self.recognizer: Recognizer | None = None
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

    async def understand_audio(self, audio: np.ndarray, area: str | None = None,
                               language: str | None = None, turn: Turn | None = None,
                               ) -> UnderstandingResult:
        """`turn`: who speaks in which conversation, so that a yes or no answers its open
        question (None: a request that cannot continue a conversation)."""
        self._recognizer()  # fails here, not in the executor, when none is loaded
        return await _blocking(partial(self._understand_audio, audio, area, language, turn))

    def _understand_audio(self, audio: np.ndarray, area: str | None, language: str | None,
                          turn: Turn | None) -> UnderstandingResult:
        recognizer = self._recognizer()
        engine = self.intent_engine()
        started = time.perf_counter()
        tools = self._tools() if recognizer.supports_tools else None
        request = self.request_for(audio, language, tools)
        transcription = recognizer.transcribe(request)
        asr_ms = (time.perf_counter() - started) * 1000
        decision = conversation.answer(self.conversations, engine, turn,
                                       transcription.hypotheses or [transcription.text],
                                       transcription.language or language)
        if decision is None and transcription.tool_call is not None:
            decision = engine.decide_tool_call(transcription.tool_call, area)
            if decision is not None and transcription.reply:
                decision.reply = transcription.reply
        if decision is None:
            decision = engine.decide(transcription.hypotheses or [transcription.text], area,
                                     asr_confidence=transcription.confidence or None)
        timings = dict(transcription.timings_ms)
        timings["asr"] = round(asr_ms, 1)
        return self._result(transcription.text, transcription.language, decision, started,
                            timings, turn, area)

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
            decision.confidence, timings,
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
