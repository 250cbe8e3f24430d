"""`voxhub demo`: the whole loop on this machine, with the time of every stage.

It starts a real `voxhub hub` (Kokoro, Whisper, intents, the example home in config/home.yaml)
with its embedded MQTT broker, has the hub speak "Okay, Nabu … turn on the kitchen lights" in a
different voice than the reply voice, and plays that recording in real time to a real satellite.
Every MQTT message prints as it arrives, as an automation would see it; then the stages are timed
from the end of the spoken command, and the reply is saved as a WAV. Generated audio goes to the
data directory and the output folder, never into the source tree's history.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

COMMAND = "Turn on the kitchen lights."
#: language → (the user's command, the user's Kokoro voice, the satellite's area): a command of
#: that language's example home, in a voice of the language other than the reply voice (French
#: has one voice, the reply's: the user is it blended with an Italian one).
DEMOS: dict[str, tuple[str, str, str]] = {
    "en": (COMMAND, "am_michael", "Kitchen"),
    "es": ("Enciende la luz de la cocina.", "em_alex", "Cocina"),
    "fr": ("Allume la lumière de la cuisine.", "ff_siwis:0.7,if_sara:0.3", "Cuisine"),
    "it": ("Accendi la luce della cucina.", "im_nicola", "Cucina"),
    "pt": ("Liga a luz da cozinha.", "pm_alex", "Cozinha"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="folder for the reply WAV (default ./out)")
    parser.add_argument("--language", default="en", help="the hub's language and the demo's: "
                        f"{', '.join(DEMOS)} (the example home of that language)")
    parser.add_argument("--command", help="what the user says after the wake word (default: "
                        "a light of the language's example home)")
    parser.add_argument("--command-voice",
                        help="Kokoro voice of the user (default: one of the language that is "
                        "not the reply voice)")
    parser.add_argument("--area", help="area of the demo satellite")
    parser.add_argument("--hub-log", type=Path, help="hub log file (default: in the data dir)")


def run(args: argparse.Namespace) -> int:
    from voxhub import language as lang
    from voxhub.configfile import ConfigError

    try:
        demo = DEMOS[lang.base(args.language)]
    except (KeyError, ValueError):
        raise ConfigError(f"--language: '{args.language}' has no demo; allowed: "
                          f"{', '.join(DEMOS)}") from None
    args.command = args.command or demo[0]
    args.command_voice = args.command_voice or demo[1]
    args.area = args.area or demo[2]
    return asyncio.run(_demo(args))


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, text: str, at: float | None = None) -> None:
        stamp = (at if at is not None else time.monotonic()) - self.start
        print(f"[{stamp:7.3f} s] {text}", flush=True)


async def _demo(args: argparse.Namespace) -> int:
    from hub.config import default_data_dir
    from rehearsal.hub_process import HubProcess
    from rehearsal.ports import free_port
    from rehearsal.speech import build_recording
    from rehearsal.timed_satellite import TimedSatellite

    clock = Clock()
    demo_dir = default_data_dir() / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    mqtt_port = free_port()
    hub = HubProcess(args.hub_log or demo_dir / "hub.log", mqtt_port=mqtt_port,
                     language=None if args.language == "en" else args.language)
    clock.say(f"starting the hub in '{args.language}': Kokoro TTS, Whisper, intents, example "
              "home, embedded MQTT")
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, hub.start)
    except RuntimeError as err:
        print(f"voxhub demo: {err}")
        return 1
    clock.say(f"hub ready on {hub.uri}; MQTT broker on mqtt://127.0.0.1:{mqtt_port} "
              f"(log: {hub.log_path})")
    try:
        wav, ends = await build_recording(hub.uri, demo_dir / "command.wav",
                                          [(args.command, "")], voice=args.command_voice,
                                          wake_voice=DEMOS["en"][1])
        clock.say(f'recorded "Okay, Nabu. … {args.command}" in voice {args.command_voice} '
                  f"→ {wav}")
        return await _converse(args, clock, hub.uri, mqtt_port, wav, ends, TimedSatellite)
    finally:
        await loop.run_in_executor(None, hub.stop)


async def _converse(args: argparse.Namespace, clock: Clock, uri: str, mqtt_port: int,
                    wav: Path, ends: list[tuple[float, str]], satellite_type: Any) -> int:
    import aiomqtt

    from voxhub.audio import write_wav

    name = "demo-kitchen"
    events: list[tuple[str, float]] = []

    def listen(what: str, detail: Any) -> None:
        now = time.monotonic()
        events.append((what, now))
        if what == "wake":
            clock.say(f"satellite: wake word '{detail.name}' detected", now)
        elif what == "last-voiced":
            clock.say("satellite: the user stopped speaking (last voiced sample fed)", now)
        elif what in ("voice_stopped", "transcript", "intent", "first_audio", "reply_end"):
            clock.say(f"satellite ← hub: {detail.type}", now)

    from hub.config import default_data_dir
    from hub.mqtt.broker import broker_credentials

    user, password = broker_credentials(default_data_dir())  # the embedded broker's
    satellite = satellite_type(uri, wav, ends, name, args.area, settings=[
        ("mqtt.url", f"mqtt://{user}:{password}@127.0.0.1:{mqtt_port}"),
        ("snd.sink", "file"), ("snd.file", str(args.out / "played.wav"))], listener=listen)
    async with aiomqtt.Client("127.0.0.1", mqtt_port, identifier="voxhub-demo",
                              username=user, password=password) as client:
        await client.subscribe("voxhub/#", qos=1)
        await client.subscribe("homeassistant/#", qos=1)
        printer = asyncio.create_task(_print_mqtt(client, clock))
        clock.say(f"satellite '{name}' (area {args.area}) listens to the recording in real time")
        try:
            runs = await satellite.run()
            await asyncio.sleep(0.5)  # the last MQTT messages
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
    if not runs or runs[0].latency is None:
        print("\nNo reply came back: see the hub log above.")
        return 1
    run = runs[0]
    args.out.mkdir(parents=True, exist_ok=True)
    reply_path = args.out / "reply.wav"
    write_wav(reply_path, bytes(run.reply_pcm), run.reply_rate)
    _print_summary(run, satellite.wake_times, reply_path)
    return 0 if run.intent else 1


async def _print_mqtt(client: Any, clock: Clock) -> None:
    discovery = 0
    async for message in client.messages:
        topic = str(message.topic)
        payload = message.payload.decode(errors="replace") if isinstance(
            message.payload, bytes) else str(message.payload)
        if topic.startswith("homeassistant/"):
            discovery += 1
            if discovery == 1:
                clock.say(f"MQTT {topic}  (Home Assistant discovery; more follow)")
            continue
        if topic.endswith("/intent"):
            with contextlib.suppress(ValueError):
                data = json.loads(payload)
                payload = json.dumps({k: data.get(k) for k in ("text", "intent", "targets",
                                                               "reply", "action")})
        clock.say(f"MQTT {topic}: {payload[:300]}")


def _print_summary(run: Any, wake_times: list[float], reply_path: Path) -> None:
    start = run.last_voiced

    def since(key: str) -> str:
        return f"{run.times[key] - start:6.3f} s" if key in run.times else "     —  "

    result = run.result
    print("\nStages, from the end of the spoken command:")
    print(f"  hub heard the end of speech (voice-stopped) {since('voice_stopped')}"
          f"{'   (early answer)' if run.hub_timings.get('early_answer') else ''}")
    print(f"  transcript                                  {since('transcript')}")
    print(f"  intent                                      {since('intent')}")
    print(f"  first reply audio at the satellite          {since('first_audio')}")
    print(f"  reply fully received                        {since('reply_end')}")
    if run.hub_timings:
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in run.hub_timings.items()
                          if k != "early_answer")
        print(f"  hub's own timings: {parts}")
    intent = result.get("intent") or {}
    print(f"\nHeard: {result.get('text')!r} → {intent.get('name')} {intent.get('slots')} "
          f"on {result.get('targets')}")
    action = result.get("action") or {}
    if action:
        done = "carried out" if action.get("carried_out") else "not carried out by the hub"
        print(f"Action: {action.get('status')} by {action.get('by')} ({done}"
              f"{'; ' + action['error'] if action.get('error') else ''})")
    seconds = len(run.reply_pcm) / 2 / run.reply_rate
    print(f"Reply: {result.get('reply')!r} ({seconds:.2f} s) saved to {reply_path}")
