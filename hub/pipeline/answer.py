"""A satellite run's answer to what is not a command: spoken sentence by sentence.

Only a result the home grammar rejected comes here (no intent, and no "Did you mean …?" waiting
for a yes), so nothing on this path acts on the home. The answer is streamed to the satellite
while it is generated (`stream_sentences`); the `intent-result` follows with everything that
was said, `answered_by` set when it was an answer, and the conversation to continue. A
barge-in cancels the run task, which closes the answer (and its HTTP request) on the way out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from wyoming.pipeline import PipelineStage
from wyoming.tts import Synthesize

from hub.answers.base import Question
from hub.answers.speech import wants_answer
from hub.pipeline.reply import stream_sentences
from voxhub.protocol import IntentResultEvent
from voxhub.result import UnderstandingResult

if TYPE_CHECKING:
    from hub.pipeline.session import PipelineSession

__all__ = ["speak_answer", "wants_answer"]


async def speak_answer(session: PipelineSession, result: UnderstandingResult,
                       audio: np.ndarray | None) -> dict[str, float] | None:
    """Answer `result.text` on the session's connection; the speech's timings (None when the
    run ends before TTS)."""
    request, conn, answers = session.request, session.conn, session.answers
    if answers is None:
        raise RuntimeError("speak_answer on a session without an answerer")
    question = Question(result.text, result.language or request.language or "en",
                        area=request.area, satellite=request.satellite,
                        conversation_id=request.conversation_id, audio=audio)
    tts: dict[str, float] | None = None
    async with answers.speak(question) as spoken:
        if request.end_stage == PipelineStage.TTS:
            tts = await stream_sentences(conn, session.synthesizer, spoken.sentences(),
                                         request.snd_format, session.reply_chunk_ms,
                                         voice=request.voice)
        else:
            async for _ in spoken.sentences():
                pass
    outcome = spoken.outcome
    result = replace(result, reply=outcome.text, answered_by=outcome.answered_by,
                     conversation_id=outcome.conversation_id or result.conversation_id,
                     continue_conversation=outcome.continue_conversation,
                     timings_ms={**result.timings_ms,
                                 **{f"answer_{k}": v for k, v in outcome.timings_ms.items()}})
    if outcome.cut:
        session.timings["answer_cut"] = 1.0
    if tts is not None and outcome.text:  # what the audio said, as `synthesize` says it
        await conn.send(Synthesize(text=outcome.text).event())
    await conn.send(IntentResultEvent(result).event())
    return tts
