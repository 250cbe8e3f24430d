"""End-to-end latency: spoken command at a satellite → first reply sample back at the satellite.

A real `voxhub hub` process (Kokoro, Whisper, intents, the example home) and real satellites
(`satellite.daemon.Satellite`, wake word and all) fed in real time with recordings of
"Okay, Nabu … <command>" spoken by a different Kokoro voice than the reply voice. Latency runs
from the moment the block holding the command's last voiced sample is fed to the satellite to the
moment the first reply audio chunk reaches it.

Named reference, measured in the same run: the same recordings through the same hub with early
answering disabled and a 1.0 s silence timeout, as in Home Assistant's default endpointing for
wyoming satellites. `latency_ratio_to_reference` < 1 means ours answers sooner.

With `--home-assistant` (the default when `make ha-core` installed it), a second part measures what
Home Assistant acting costs: real Home Assistant Core (tests/plugins/ha_core.py) holds the house,
and two hubs read it, one carrying intents out through Home Assistant's intent API
(`intents.act: home_assistant`), the other publishing them only (`intents.act: mqtt`, the same
house, the same replies); the same recordings take turns on both. `home_assistant.added_s_median`
is the difference of the medians; every command must also have changed Home Assistant's state.

Prints one JSON object. Targets on a 2-core machine: median ≤ 1.2 s with one satellite; with 8 at
once, no errors and p95 ≤ 3 s; Home Assistant acting adds ≤ 0.15 s median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rehearsal.hub_process import HubProcess  # noqa: E402
from rehearsal.ports import free_port  # noqa: E402
from rehearsal.speech import build_recording  # noqa: E402
from rehearsal.timed_satellite import Run, TimedSatellite  # noqa: E402

#: (command, expected intent) — commands the example home (config/home.yaml) can carry out.
COMMANDS = [
    ("Turn on the kitchen lights.", "HassTurnOn"),
    ("Turn off the garden lights.", "HassTurnOff"),
    ("Turn on the desk fan.", "HassTurnOn"),
    ("Set the bedroom light to fifty percent.", "HassLightSet"),
    ("What time is it?", "HassGetCurrentTime"),
]
REFERENCE_NAME = "no early answer, 1.0 s silence (Home Assistant's default endpointing)"
#: The reference's endpointing, added to each of its run-pipelines.
REFERENCE_ENDPOINTING = {"early_answer": False, "silence_s": 1.0}
#: Commands for the house of tests/plugins/ha_core.py; each one changes a light's state.
HA_COMMANDS = [
    ("Turn on the kitchen lights.", "HassTurnOn"),
    ("Turn off the kitchen lights.", "HassTurnOff"),
    ("Turn on the hallway light.", "HassTurnOn"),
    ("Turn off the hallway light.", "HassTurnOff"),
]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summarize(runs: list[Run], expected_count: int) -> dict[str, Any]:
    answered = [r for r in runs if r.latency is not None]
    latencies = [r.latency for r in answered if r.latency is not None]

    def stage(start: str | None, end: str) -> float | None:
        values = [r.times[end] - (r.times[start] if start else r.last_voiced)
                  for r in answered if end in r.times and (start is None or start in r.times)]
        return rounded(statistics.median(values)) if values else None

    partial = [r.hub_timings["partial_asr"] / 1000 for r in answered
               if "partial_asr" in r.hub_timings]
    return {
        "commands": expected_count,
        "answered": len(answered),
        "intents_correct": sum(1 for r in runs if r.intent == r.expected),
        "errors": expected_count - len([r for r in answered if r.error is None]),
        "latency_s_median": rounded(statistics.median(latencies)) if latencies else None,
        "latency_s_p95": rounded(percentile(latencies, 0.95)),
        "stages_s_median": {
            "endpoint": stage(None, "voice_stopped"),
            "understand": stage("voice_stopped", "intent"),
            "reply_first_audio": stage("intent", "first_audio"),
        },
        "early_answer_rate": rounded(sum(1 for r in answered
                                         if r.hub_timings.get("early_answer")) / len(answered))
        if answered else None,
        "partial_asr_s_median": rounded(statistics.median(partial)) if partial else None,
    }


async def run_satellites(uri: str, recordings: list[tuple[Path, list[tuple[float, str]]]],
                         endpointing: dict[str, Any] | None = None,
                         ) -> tuple[list[Run], int]:
    """All satellites at once; returns their runs and how many wake words they detected."""
    satellites = [TimedSatellite(uri, wav, ends, f"bench-{i}", "Bedroom", endpointing)
                  for i, (wav, ends) in enumerate(recordings)]
    results = await asyncio.gather(*(s.run() for s in satellites))
    wake = sum(len(s.sat.detections) for s in satellites)
    return [run for result in results for run in result], wake


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="voxhub-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    result = {} if args.skip_satellite_part else await satellite_part(args, work)
    if args.home_assistant:
        result["home_assistant"] = await home_assistant_part(args, work)
    return {"benchmark": "e2e", **result}


async def satellite_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    hub = HubProcess(work / "hub.log", mqtt_port=free_port())
    started = time.monotonic()
    hub.start()
    load_s = time.monotonic() - started
    try:
        commands = COMMANDS[:args.commands]
        single = await build_recording(hub.uri, work / "single.wav",
                                       commands * args.repeat, voice=args.command_voice)
        warm = await build_recording(hub.uri, work / "warm.wav", commands,
                                     voice=args.command_voice)
        concurrent = [await build_recording(
            hub.uri, work / f"sat{i}.wav",
            [commands[(i + k) % len(commands)] for k in range(args.concurrent_repeat)],
            voice=args.command_voice) for i in range(args.concurrent)]

        # Each command once before the compared phases: first-use costs (lazy loads, the reply
        # cache a running hub has filled long before) would otherwise land on one phase only.
        # Reported on its own as the cold case: every reply rendered, nothing cached.
        cold, _ = await run_satellites(hub.uri, [warm])
        ours, wake = await run_satellites(hub.uri, [single])
        reference, _ = await run_satellites(hub.uri, [single], REFERENCE_ENDPOINTING)
        many, _ = await run_satellites(hub.uri, concurrent)
    finally:
        hub.stop()

    n_single = len(single[1])
    result = summarize(ours, n_single)
    ref = summarize(reference, n_single)
    crowd = summarize(many, sum(len(ends) for _, ends in concurrent))
    first = summarize(cold, len(warm[1]))
    ratio = (result["latency_s_median"] / ref["latency_s_median"]
             if result["latency_s_median"] and ref["latency_s_median"] else None)
    return {
        "benchmark": "e2e",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "hub_start_s": round(load_s, 2),
        "commands": n_single,
        "wake_detected": wake,
        **{k: v for k, v in result.items() if k != "commands"},
        "reference": {"name": REFERENCE_NAME, **ref},
        "latency_ratio_to_reference": rounded(ratio),
        "early_answer_saves_s_median": rounded(ref["latency_s_median"] - result["latency_s_median"])
        if ratio else None,
        "concurrent8_satellites": args.concurrent,
        "concurrent8_commands": crowd["commands"],
        "concurrent8_latency_s_median": crowd["latency_s_median"],
        "concurrent8_latency_s_p95": crowd["latency_s_p95"],
        "concurrent8_errors": crowd["errors"],
        "concurrent8_intents_correct": crowd["intents_correct"],
        "concurrent8_stages_s_median": crowd["stages_s_median"],
        "targets": {"latency_s_median": 1.2, "concurrent8_latency_s_p95": 3.0,
                    "concurrent8_errors": 0},
        "command_voice": args.command_voice,
        "cold_commands": first["commands"],
        "cold_latency_s_median": first["latency_s_median"],
        "cold_latency_s_p95": first["latency_s_p95"],
        "cold_stages_s_median": first["stages_s_median"],
        "warmup": "the cold phase says each command once (replies rendered, not cached); the "
                  "compared phases follow it, with the reply cache warm as in a running home",
    }


async def home_assistant_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Wake → first reply audio with Home Assistant carrying the command out, and without."""
    from tests.plugins.ha_core import HomeAssistantCore

    ha = HomeAssistantCore(work / "home-assistant")
    ha.start()
    token = work / "ha-token"
    token.write_text(ha.token)
    token.chmod(0o600)
    common = ["--home-assistant-url", ha.url, "--set", f"home_assistant.token_file={token}",
              "--set", "server.programs=[tts,asr,intent,handle,pipeline]"]
    acting = HubProcess(work / "hub-ha.log", mqtt_port=free_port(), extra_args=common)
    publishing = HubProcess(work / "hub-mqtt.log", mqtt_port=free_port(),
                            extra_args=[*common, "--set", "intents.act=mqtt"])
    runs: dict[str, list[Run]] = {"acting": [], "publishing": []}
    changed = 0
    try:
        acting.start()
        publishing.start()
        recording = await build_recording(acting.uri, work / "ha.wav", HA_COMMANDS,
                                          voice=args.command_voice)
        await run_satellites(acting.uri, [recording])  # warm both: replies cached, loads done
        await run_satellites(publishing.uri, [recording])
        for _ in range(args.ha_rounds):
            for name, hub in (("acting", acting), ("publishing", publishing)):
                done, _ = await run_satellites(hub.uri, [recording])
                runs[name] += done
            # The recording ends with both lights off, after switching each on: Home
            # Assistant's own states say it acted.
            changed += sum(1 for r in runs["acting"][-len(recording[1]):]
                           if (r.result.get("action") or {}).get("carried_out"))
            states = {e: ha.state(e) for e in ("light.kitchen_lights", "light.hallway_light")}
            if set(states.values()) != {"off"}:
                raise RuntimeError(f"Home Assistant's lights after a round: {states}")
    finally:
        acting.stop()
        publishing.stop()
        ha.stop()
    count = len(recording[1]) * args.ha_rounds
    with_ha = summarize(runs["acting"], count)
    without = summarize(runs["publishing"], count)
    added = (with_ha["latency_s_median"] - without["latency_s_median"]
             if with_ha["latency_s_median"] and without["latency_s_median"] else None)
    act_ms = [r.hub_timings["act"] for r in runs["acting"] if "act" in r.hub_timings]
    return {
        "home_assistant_version": "2025.4.4",
        "commands": count,
        "carried_out_by_home_assistant": changed,
        "latency_s_median": with_ha["latency_s_median"],
        "latency_s_p95": with_ha["latency_s_p95"],
        "errors": with_ha["errors"],
        "intents_correct": with_ha["intents_correct"],
        "hub_act_ms_median": rounded(statistics.median(act_ms)) if act_ms else None,
        "reference": {"name": "the same house and recordings, intents.act: mqtt (nothing waits "
                              "for Home Assistant)", **without},
        "added_s_median": rounded(added),
        "target_added_s_median": 0.15,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=len(COMMANDS),
                        help=f"distinct commands (max {len(COMMANDS)})")
    parser.add_argument("--repeat", type=int, default=2, help="times each is said")
    parser.add_argument("--concurrent", type=int, default=8, help="satellites at once")
    parser.add_argument("--concurrent-repeat", type=int, default=2,
                        help="commands per satellite in the concurrent phase")
    parser.add_argument("--command-voice", default="am_michael",
                        help="Kokoro voice speaking the commands (not the reply voice)")
    parser.add_argument("--work-dir", help="keep recordings and the hub log here")
    parser.add_argument("--home-assistant", action=argparse.BooleanOptionalAction,
                        default=(ROOT / ".ha-venv" / "bin" / "hass").exists(),
                        help="also measure Home Assistant acting (needs `make ha-core`)")
    parser.add_argument("--ha-rounds", type=int, default=3,
                        help="rounds of the Home Assistant commands on each hub")
    parser.add_argument("--skip-satellite-part", action="store_true",
                        help="only the Home Assistant part")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args())), indent=2))
