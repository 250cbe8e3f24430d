"""`voxhub understand FILE.wav`: one recording through the hub's understanding, offline.

Prints the same result object a satellite publishes over MQTT, so a user can check what the hub
would do with a recording before wiring anything up. What the home grammar rejects goes to the
configured answerer as in the hub (`answers.by`; auto: the recognizer when it answers), and the
result carries its answer with `answered_by`. `--translate LANG` asks the recognizer for the
speech translated into LANG in its one pass (Voxtral; Whisper into English only) and prints
the translation as the result's text, without deciding an intent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from voxhub.result import UnderstandingResult

if TYPE_CHECKING:
    import numpy as np

    from hub.answers.speech import Answers
    from hub.understanding import Understander


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", help="WAV file (any rate, width or channel count); '-' reads "
                        "stdin. With --text, the command text instead.")
    parser.add_argument("--text", action="store_true", help="treat the argument as text and "
                        "skip speech recognition")
    parser.add_argument("--home", help="home model YAML (default: intents.home from the config, "
                        "else the example home)")
    parser.add_argument("--area", help="area the command was spoken in (id or name)")
    parser.add_argument("--language", help="spoken language (default: asr.language)")
    parser.add_argument("--translate", metavar="LANG", help="print the speech translated into "
                        "LANG by the recognizer (voxtral, openai; whisper: en only) instead of "
                        "understanding it")
    parser.add_argument("--config", help="hub.yaml")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from hub.answers.factory import create_answers
    from hub.config import load_hub_config
    from hub.intents.home import HomeError, StaticHomeSource, load_home
    from hub.understanding import Understander
    from voxhub import language as lang
    from voxhub.configfile import ConfigError

    if args.translate and args.text:
        print("error: --translate translates speech: it needs a recording, not --text",
              file=sys.stderr)
        return 2
    try:
        if args.translate:
            lang.normalize(args.translate)
        config = load_hub_config(args.config)
        source = StaticHomeSource(load_home(args.home)) if args.home else None
        if source is None and config.intents.home is not None:
            source = StaticHomeSource(load_home(config.intents.home))
        understander = Understander(config, source)
        answers = None if args.translate else create_answers(config, understander)
    except (ConfigError, HomeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        if args.text:
            understander.load(recognizer=False)
            understander.wait_ready()
            audio = None
        else:
            audio = read_audio(args.audio)
            if audio is None:
                return 2
            understander.load()
            understander.wait_ready()
            if args.translate:
                return translate(understander, audio, args)
        result = asyncio.run(understand(understander, answers, audio, args))
    except (ValueError, RuntimeError, OSError) as err:
        logging.getLogger(__name__).debug("understand failed", exc_info=True)
        print(f"error: {err}", file=sys.stderr)
        return 1
    show(result, args.json)
    return 0


def read_audio(name: str) -> np.ndarray | None:
    """The recording as 16 kHz mono float32; None (the error printed) when it cannot be read."""
    from pathlib import Path

    from voxhub.audio import read_wav, to_mono16k

    try:
        if name == "-":
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                tmp.write(sys.stdin.buffer.read())
                tmp.flush()
                pcm, rate, width, channels = read_wav(tmp.name)
        else:
            if not Path(name).exists():
                print(f"error: {name}: no such file", file=sys.stderr)
                return None
            pcm, rate, width, channels = read_wav(name)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    return to_mono16k(pcm, rate, width, channels)


async def understand(understander: Understander, answers: Answers | None,
                     audio: np.ndarray | None, args: argparse.Namespace) -> UnderstandingResult:
    """The recording (or with --text the command) understood, answered when the home grammar
    rejected it and an answerer is configured."""
    if audio is None:
        result = await understander.understand_text(args.audio, args.area, args.language)
    else:
        result = await understander.understand_audio(audio, args.area, args.language)
    if answers is not None:
        result = await answered(answers, understander, result, audio, args.area)
    return result


def translate(understander: Understander, audio: np.ndarray, args: argparse.Namespace) -> int:
    """The recognizer's translation as the result's text (2: it cannot translate into it)."""
    from hub.asr.base import TranslationUnsupported

    recognizer = understander.recognizer
    if recognizer is None:
        raise RuntimeError("no recognizer loaded")
    try:
        target = recognizer.check_translation(args.translate)
    except TranslationUnsupported as err:
        print(f"error: --translate {args.translate}: {err}", file=sys.stderr)
        return 2
    request = understander.request_for(audio, args.language)
    request.translate_to = target
    heard = recognizer.transcribe(request)
    show(UnderstandingResult(heard.text, heard.language, confidence=heard.confidence,
                             timings_ms=heard.timings_ms), args.json)
    return 0


async def answered(answers: Answers, understander: Understander, result: UnderstandingResult,
                   audio: np.ndarray | None, area: str | None) -> UnderstandingResult:
    """The result with the answerer's answer, when the home grammar rejected it; as the
    hub's pipeline gives it (`hub/pipeline/answer.py`), the spoken text being the reply."""
    from hub.answers.base import Question
    from hub.answers.speech import wants_answer

    try:
        if not wants_answer(result) or (audio is None and not answers.takes_text):
            return result
        place = understander.home.find_area(area) if area else None
        outcome = await answers.complete(Question(
            result.text, result.language or understander.config.intents.language_code,
            area=place.name if place else area, audio=audio))
    finally:
        await answers.close()
    return replace(result, reply=outcome.text, answered_by=outcome.answered_by,
                   conversation_id=outcome.conversation_id or result.conversation_id,
                   continue_conversation=outcome.continue_conversation,
                   timings_ms={**result.timings_ms,
                               **{f"answer_{k}": v for k, v in outcome.timings_ms.items()}})


def show(result: UnderstandingResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    intent = result.intent.name if result.intent else "(not recognized)"
    print(f"heard:   {result.text}")
    print(f"intent:  {intent} {result.intent.slots if result.intent else ''}")
    print(f"targets: {', '.join(result.targets) or '-'}")
    print(f"reply:   {result.reply}")
    if result.answered_by:
        print(f"answer:  by {result.answered_by}")
    print(f"confidence {result.confidence:.2f}, {result.timings_ms.get('total', 0):.0f} ms")
