"""First audio of a streamed answer against the complete answer, through the real pipeline.

A satellite-like client asks "how far away is the moon" (espeak-ng); Whisper and the intents
reject it, and the hub's OpenAI answerer streams a three-sentence answer from the test chat
server (tests/plugins/chat_server.py: server-sent events as Ollama sends them) at a realistic
20 tokens/s. Per round, from the moment the server starts answering: when the satellite gets
its first audio, and when the last token was generated. The reference, measured in the same
run on the same texts, is a hub that waits for the whole answer and then speaks it: the
complete answer plus Kokoro's first audio of the whole text. Each round's answer has other
numbers in it, so nothing comes from the TTS cache. Prints JSON with the medians and ratios.

    .venv/bin/python benchmarks/answers.py [--rounds 5] [--tokens-per-s 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxhub.protocol import EventType, WyomingType  # noqa: E402

if TYPE_CHECKING:
    from hub.tts.engine import Synthesizer

QUESTION = "how far away is the moon"


def answer_text(round_: int) -> str:
    km = 384400 + 1013 * round_
    return (f"The Moon is about {km:,} kilometres from Earth, on average. Light crosses that "
            f"distance in about {1.2 + round_ / 100:.2f} seconds. The Apollo astronauts "
            f"needed {3 + round_ % 2} days to get there.")


async def first_audio_of_whole_text(synthesizer: Synthesizer, text: str) -> float:
    """What a non-streaming hub adds after the answer is complete: Kokoro's first audio."""
    started = time.monotonic()
    request = synthesizer.request(text)
    async for piece in synthesizer.stream(request):
        if piece:
            return time.monotonic() - started
    return time.monotonic() - started


async def measure(args: argparse.Namespace) -> dict:
    from hub import data
    from hub.answers.config import AnswersConfig
    from hub.answers.openai_chat import OpenAIChatAnswerer
    from hub.answers.speech import Answers
    from hub.config import HubConfig, default_data_dir
    from hub.pipeline.config import PipelineConfig
    from hub.pipeline.program import PipelineProgram
    from hub.tts.config import TtsConfig
    from hub.tts.engine import Synthesizer
    from hub.understanding import Understander
    from rehearsal.speech import espeak, silence
    from tests.plugins.chat_server import running_chat_server, tokens_of
    from tests.plugins.hub import ThreadedHub
    from tests.plugins.pipeline import run_command

    data_dir = default_data_dir()
    data.prepare(data_dir)
    config = HubConfig()
    config.intents.home = ROOT / "config" / "home.yaml"
    understander = Understander(config)
    understander.load()
    understander.wait_ready(120)
    synthesizer = Synthesizer(TtsConfig(), data_dir)
    synthesizer.load()
    synthesizer.synthesize("A warm-up sentence of Kokoro's.")
    audio = np.concatenate([silence(0.4), espeak(QUESTION), silence(1.5)])
    rounds = []
    with running_chat_server() as server:
        settings = AnswersConfig(by="openai", url=server.url, model="bench")
        answers = Answers(settings, OpenAIChatAnswerer(server.url, "bench",
                                                       prompt=settings.system_prompt))
        hub = ThreadedHub([PipelineProgram(PipelineConfig(), understander, synthesizer,
                                           answers=answers)])
        try:
            for index in range(args.rounds):
                server.reset(answer=answer_text(index), token_s=1.0 / args.tokens_per_s)
                log = await run_command(hub.uri, audio)
                stream = server.streams[0]
                result = dict(log.first(EventType.INTENT_RESULT).data)
                if result.get("answered_by") != "openai" or stream.finished is None:
                    raise RuntimeError(f"round {index}: not answered: {result.get('text')!r} "
                                       f"→ {result.get('reply')!r}")
                first = log.time_of(WyomingType.AUDIO_CHUNK) - stream.started
                complete = stream.finished - stream.started
                tts_whole = await first_audio_of_whole_text(synthesizer,
                                                            answer_text(index + 1000))
                rounds.append({"tokens": len(tokens_of(server.answer)),
                               "first_audio_s": round(first, 3),
                               "answer_complete_s": round(complete, 3),
                               "ratio": round(first / complete, 3),
                               "reference_first_audio_s": round(complete + tts_whole, 3),
                               "last_voiced_to_first_audio_s": round(
                                   log.first(EventType.RUN_END).data["timings_ms"]
                                   ["last_voiced_to_first_audio"] / 1000.0, 3)})
        finally:
            hub.call(answers.close())
            hub.close()
            synthesizer.close()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    return {
        "benchmark": "answers",
        "tokens_per_s": args.tokens_per_s,
        "rounds": len(rounds),
        "first_audio_s": median("first_audio_s"),
        "answer_complete_s": median("answer_complete_s"),
        "first_audio_over_complete_answer": median("ratio"),
        "reference_first_audio_s": median("reference_first_audio_s"),
        "streamed_over_reference": round(median("first_audio_s")
                                         / median("reference_first_audio_s"), 3),
        "last_voiced_to_first_audio_s": median("last_voiced_to_first_audio_s"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "per_round": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens-per-s", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args)), indent=2))


if __name__ == "__main__":
    main()
