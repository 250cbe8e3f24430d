"""Speech understanding: audio → transcript → intent → reply, one object for the whole hub.

The CLI, the Wyoming asr/intent/handle programs and the satellite pipeline all call this one
class, so a command gives the same `UnderstandingResult` wherever it comes from. Inference and
matching are blocking and run in an executor; the event loop only awaits them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import Any

import numpy as np

from hub.asr.base import SAMPLE_RATE, Recognizer, RecognizeRequest, Transcription
from hub.asr.factory import create_recognizer
from hub.config import HubConfig
from hub.intents.engine import Decision, IntentEngine
from hub.intents.home import FileHomeSource, Home, HomeSource, example_home_path
from voxhub.result import IntentResult, UnderstandingResult

_LOGGER = logging.getLogger(__name__)


class Understander:
    def __init__(self, config: HubConfig, home_source: HomeSource | None = None) -> None:
        self.config = config
        self.home_source = home_source
        self.recognizer: Recognizer | None = None
        self.engine: IntentEngine | None = None
        #: Bias the recognizer toward the home's names (measured by the benchmark).
        self.use_prompt = True

    # -- start-up -----------------------------------------------------------------------------
    def load(self, recognizer: bool = True) -> None:
        """Load the recognizer, the home, the intents and (in the background) the fuzzy index."""
        if self.home_source is None:
            self.home_source = FileHomeSource(self.config.intents.home or example_home_path())
        cache = self.config.data_path / "understanding"
        self.engine = IntentEngine(self.config.intents, cache)
        self.engine.set_home(self.home_source.current())
        self.home_source.subscribe(self._home_changed)
        if recognizer:
            self.recognizer = create_recognizer(self.config.asr, self.config.data_path)
            self.recognizer.load()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the fuzzy index is built (tests, the CLI, the benchmark)."""
        return self._engine().wait_index(timeout)

    def _home_changed(self, home: Home) -> None:
        if self.engine is not None:
            self.engine.set_home(home)

    def _engine(self) -> IntentEngine:
        if self.engine is None:
            raise RuntimeError("Understander.load() was not called")
        return self.engine

    @property
    def home(self) -> Home:
        return self._engine().home

    @property
    def languages(self) -> list[str]:
        return list(self.recognizer.languages) if self.recognizer else [
            self.config.intents.language]

    # -- recognition --------------------------------------------------------------------------
    def _request(self, audio: np.ndarray, language: str | None,
                 tools: list[dict[str, Any]] | None = None) -> RecognizeRequest:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        limit = int(self.config.asr.max_audio_s * SAMPLE_RATE)
        if len(audio) > limit:
            _LOGGER.warning("Audio of %.1f s cut to asr.max_audio_s = %.0f s",
                            len(audio) / SAMPLE_RATE, self.config.asr.max_audio_s)
            audio = audio[:limit]
        prompt = self._engine().prompt if self.use_prompt else None
        return RecognizeRequest(audio, language or self.config.asr.language, prompt, tools)

    def transcribe_sync(self, audio: np.ndarray, language: str | None = None) -> Transcription:
        if self.recognizer is None:
            raise RuntimeError("no recognizer loaded")
        return self.recognizer.transcribe(self._request(audio, language))

    async def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcription:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, partial(self.transcribe_sync, audio, language))

    def understand_audio_sync(self, audio: np.ndarray, area: str | None = None,
                              language: str | None = None) -> UnderstandingResult:
        if self.recognizer is None:
            raise RuntimeError("no recognizer loaded")
        engine = self._engine()
        started = time.perf_counter()
        tools = self._tools() if self.recognizer.supports_tools else None
        request = self._request(audio, language, tools)
        transcription = self.recognizer.transcribe(request)
        asr_ms = (time.perf_counter() - started) * 1000
        decision = None
        if transcription.tool_call is not None:
            decision = engine.decide_tool_call(transcription.tool_call, area)
            if decision is not None and transcription.reply:
                decision.reply = transcription.reply
        if decision is None:
            decision = engine.decide(transcription.hypotheses or [transcription.text], area,
                                     asr_confidence=transcription.confidence or None)
        if decision.match is None and transcription.text and getattr(
                self.recognizer, "supports_answers", False):
            answer = self.recognizer.answer(request)  # type: ignore[attr-defined]
            if answer:
                decision.reply = answer
        timings = dict(transcription.timings_ms)
        timings["asr"] = round(asr_ms, 1)
        return self._result(transcription.text, transcription.language, decision, started,
                            timings)

    async def understand_audio(self, audio: np.ndarray, area: str | None = None,
                               language: str | None = None) -> UnderstandingResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, partial(self.understand_audio_sync, audio, area, language))

    def understand_text_sync(self, text: str, area: str | None = None,
                             language: str | None = None) -> UnderstandingResult:
        started = time.perf_counter()
        decision = self._engine().decide([text], area)
        return self._result(text.strip(), language or self.config.intents.language, decision,
                            started, {})

    async def understand_text(self, text: str, area: str | None = None,
                              language: str | None = None) -> UnderstandingResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, partial(self.understand_text_sync, text, area, language))

    @property
    def recovers_transcripts(self) -> bool:
        """`asr.recovered_transcript`, with 'auto' meaning: the home is the user's own."""
        setting = self.config.asr.recovered_transcript
        if setting == "auto":
            return self.config.intents.home is not None or self.config.home_assistant.enabled
        return setting == "on"

    def recovered_text(self, transcription: Transcription, area: str | None = None) -> str:
        """The transcript to hand on: the recovered command sentence when the hub is confident
        the recognizer slipped on a command of this home, otherwise the text as heard (a
        rejected or out-of-domain utterance is never rewritten into a command)."""
        text = transcription.text
        if not text.strip() or not self.recovers_transcripts:
            return text
        decision = self._engine().decide(transcription.hypotheses or [text], area)
        if decision.match is None or not decision.matched_text:
            return text
        if decision.method == "strict" and decision.hypothesis == 0:
            return text  # heard right: keep the recognizer's own casing and punctuation
        _LOGGER.debug("transcript '%s' recovered as '%s' (%s, %.2f)", text,
                      decision.matched_text, decision.method, decision.confidence)
        return decision.matched_text

    def is_complete_command(self, text: str, area: str | None = None) -> bool:
        """A cheap strict check, used to answer before the full end-of-speech silence."""
        return self._engine().is_complete_command(text, area)

    # -- helpers ------------------------------------------------------------------------------
    def _tools(self) -> list[dict[str, Any]]:
        from hub.asr.llm_tools import IntentSpec, build_tools

        engine = self._engine()
        home = engine.home
        specs = []
        for name, intent in engine.grammar.intents.intents.items():
            slots: set[str] = set()
            for data in intent.data:
                for sentence in data.sentences:
                    slots.update(sentence.list_names(engine.grammar.intents.expansion_rules))
                slots.update((data.slots or {}).keys())
            slots &= {"name", "area", "floor", "domain", "device_class", "brightness", "color",
                      "temperature", "position", "volume_level", "percentage", "hours",
                      "minutes", "seconds", "item", "search_query", "message", "state"}
            specs.append(IntentSpec(name, sorted(slots)))
        return build_tools(specs, [n for e in home.entities for n in e.names],
                           [n for a in home.areas for n in a.names],
                           [n for f in home.floors for n in f.names])

    def _result(self, text: str, language: str, decision: Decision, started: float,
                timings: dict[str, float]) -> UnderstandingResult:
        engine = self._engine()
        total_ms = (time.perf_counter() - started) * 1000
        timings["intent"] = round(total_ms - timings.get("asr", 0.0), 1)
        timings["total"] = round(total_ms, 1)
        if decision.match is None:
            reply = decision.reply or (engine.not_recognized_reply() if text else "")
            return UnderstandingResult(text, language, None, [], reply,
                                       round(decision.confidence, 3), timings)
        slots = {k: _plain(v) for k, v in decision.match.slots.items()}
        return UnderstandingResult(
            text, language, IntentResult(decision.match.intent, slots),
            [e.id for e in decision.resolution.targets], decision.reply,
            decision.confidence, timings)


def _plain(value: Any) -> Any:
    """JSON-friendly slot values (hassil gives 50.0 for "50%")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
