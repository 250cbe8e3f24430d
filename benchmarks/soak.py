"""Soak: satellites, a TTS client and an abusive client against a real hub and Mosquitto, with
kill -9 of the broker, of a satellite (while it writes its outbox) and of the hub mid-command.

Every part is a real process: `voxhub hub` (its MQTT on the Mosquitto), 3 `voxhub satellite`
processes whose microphones (stdin) are fed "Okay, Nabu … <command>" in real time, on a loop,
and Debian's mosquitto. Beside them a TTS client asks the hub to speak every few seconds and an
abusive client opens raw sockets and sends junk (random bytes, a huge header line, a length that
lies, non-UTF-8, a run that never sends audio). An automation-like subscriber (persistent QoS 1
session) records every intent and error the satellites publish.

Faults, each restarted at once: at 25 % of the run the broker is killed -9, and while it is down
a satellite is killed -9 right after its outbox received an intent (so the kill lands while it
writes the next messages), then restarted on the same outbox; at 55 % the hub is killed -9 while
a satellite streams a command.

Prints one JSON object: commands fed vs intents published per satellite (lost, duplicated, out of
order), the errors the satellites told the user about, RSS of the hub and satellites at
start/peak/end, TTS and abuse counts, and the tracebacks found in the logs.

    SOAK_S=600 make soak          # or: python benchmarks/soak.py --seconds 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402
import yaml  # noqa: E402
from wyoming.pipeline import PipelineStage, RunPipeline  # noqa: E402

from rehearsal.hub_process import HubProcess  # noqa: E402
from rehearsal.ports import free_port, wait_port  # noqa: E402
from rehearsal.speech import build_recording, speak  # noqa: E402
from voxhub.audio import read_wav  # noqa: E402

COMMANDS = ["Turn on the kitchen lights.", "Turn off the garden lights.", "Turn on the desk fan."]
SATELLITES = 3
#: Silence added after each command, so a reply never overlaps the next wake word.
PAD_S = 4.0
BLOCK_S = 0.03
RATE = 16000
SAMPLE_S = 5.0


def words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z ]", " ", text.lower()).split())


def label_of(text: str) -> str:
    """The command a transcript was (most words in common)."""
    heard = words(text)
    return max(COMMANDS, key=lambda c: len(words(c) & heard))


#: Every process the soak started, ended on any exit (an interrupted soak leaves none behind).
_CHILDREN: list[Any] = []


def _end_children() -> None:
    for proc in _CHILDREN:
        with contextlib.suppress(ProcessLookupError, AttributeError, OSError):
            if getattr(proc, "returncode", None) is None and (
                    not hasattr(proc, "poll") or proc.poll() is None):
                proc.kill()


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Broker:
    """mosquitto with persistence, restartable on its port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {folder}/\nautosave_interval 1\n"
            f"log_dest file {folder}/mosquitto.log\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _CHILDREN.append(self.proc)
        wait_port(self.port, 10)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc = None


@dataclass
class Fed:
    satellite: str
    label: str
    at: float


@dataclass
class Rss:
    samples: list[list[float]] = field(default_factory=lambda: [[]])  # one list per incarnation

    def restart(self) -> None:
        self.samples.append([])

    def add(self, value: float | None) -> None:
        if value is not None:
            self.samples[-1].append(value)

    def report(self) -> dict[str, Any]:
        lives = [s for s in self.samples if s]
        out = {"incarnations": [{"start": round(s[min(len(s) - 1, 6)], 1),  # after ~30 s
                                 "peak": round(max(s), 1), "end": round(s[-1], 1)}
                                for s in lives]}
        out["growth_mb"] = round(max((i["end"] - i["start"] for i in out["incarnations"]),
                                     default=0.0), 1)
        return out


class SatelliteProc:
    def __init__(self, folder: Path, name: str, hub_uri: str, mqtt_url: str,
                 pcm: bytes, ends: list[tuple[float, str]]) -> None:
        self.folder = folder
        self.name = name
        # PAD_S more silence after each command (2 s after its last word): a hub slowed by a
        # restart still answers before the next wake word, which would otherwise barge in.
        parts, shifted, cut, shift = [], [], 0, 0.0
        for end, label in ends:
            at = min(len(pcm), int((end + 2.0) * RATE) * 2)
            parts += [pcm[cut:at], bytes(int(PAD_S * RATE) * 2)]
            shifted.append((end + shift, label))
            cut, shift = at, shift + PAD_S
        self.pcm = b"".join(parts) + pcm[cut:]
        self.ends = shifted
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "satellite.log"
        config = folder / "satellite.yaml"
        config.write_text(yaml.safe_dump({
            "name": name, "state_dir": str(folder / "state"),
            "hub": {"uri": hub_uri, "reconnect_min_s": 0.2, "reconnect_max_s": 2.0,
                    "ping_interval_s": 2.0, "pong_timeout_s": 3.0, "replay_window_s": 120.0},
            "snd": {"sink": "none"}, "mqtt": {"url": mqtt_url},
        }))
        self.argv = [sys.executable, "-m", "voxhub.cli", "satellite", "--config", str(config),
                     "--mic-stdin"]
        self.proc: asyncio.subprocess.Process | None = None
        self.fed: list[Fed] = []
        self.rss = Rss()
        self.outbox = folder / "state" / "outbox" / name
        self.paused = False

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        _CHILDREN.append(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def feed(self, until: float) -> None:
        """The recording on a loop, in real time; a command counts as fed once its last voiced
        sample went into the satellite. While the satellite is killed and restarted
        (`paused`) nothing is fed, and the loop starts again from its top afterwards."""
        step = int(BLOCK_S * RATE) * 2
        loop_pcm = self.pcm
        blocks = [loop_pcm[i:i + step] for i in range(0, len(loop_pcm) - step + 1, step)]
        while time.monotonic() < until:
            begin = time.monotonic()
            for index, block in enumerate(blocks):
                if time.monotonic() >= until or self.paused:
                    break
                proc = self.proc
                try:
                    assert proc is not None and proc.stdin is not None
                    proc.stdin.write(block)
                    await proc.stdin.drain()
                except (AssertionError, BrokenPipeError, ConnectionResetError):
                    await asyncio.sleep(BLOCK_S)
                    continue
                position = (index + 1) * BLOCK_S
                for end, label in self.ends:
                    if position - BLOCK_S < end <= position:
                        self.fed.append(Fed(self.name, label, time.monotonic()))
                await asyncio.sleep(max(0.0, begin + (index + 1) * BLOCK_S - time.monotonic()))
            while self.paused and time.monotonic() < until:
                await asyncio.sleep(0.1)


class Recorder:
    """An automation: persistent session, QoS 1, every intent and error in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.intents: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, list[dict[str, Any]]] = {}
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, identifier="soak-recorder",
                                          clean_session=False) as client:
                    await client.subscribe("voxhub/+/intent", qos=1)
                    await client.subscribe("voxhub/+/error", qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        _, name, leaf = str(message.topic).split("/", 2)
                        payload = message.payload if isinstance(message.payload, bytes) else b""
                        with contextlib.suppress(ValueError):
                            data = json.loads(payload)
                            (self.intents if leaf == "intent" else self.errors).setdefault(
                                name, []).append(data)
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.3)


async def tts_client(uri: str, until: float, stats: dict[str, Any], hub_down: asyncio.Event):
    texts = ["The washing machine has finished.", "Dinner is ready in ten minutes.",
             "Someone is at the front door."]
    number = 0
    while time.monotonic() < until:
        began = time.monotonic()
        down = hub_down.is_set()
        number += 1  # a new text each time: the hub's reply cache must not answer it
        text = f"Reminder {number}. {random.choice(texts)}"
        try:
            audio = await asyncio.wait_for(speak(uri, text, "af_heart"), 30)
            stats["ok"] += 1
            stats["latency_s"].append(time.monotonic() - began)
            if len(audio) == 0:
                stats["empty"] += 1
        except Exception as err:
            key = "failed_while_hub_down" if down or hub_down.is_set() else "failed"
            stats[key] += 1
            if key == "failed":
                stats["last_error"] = repr(err)[:200]
        await asyncio.sleep(max(0.0, 4.0 - (time.monotonic() - began)))


def _junk(rng: random.Random) -> list[bytes]:
    kind = rng.randrange(6)
    if kind == 0:
        return [rng.randbytes(rng.randrange(1, 4096))]
    if kind == 1:
        return [b'{"type": "audio-chunk", "data": {' + b"x" * 200_000]  # huge, no newline
    if kind == 2:
        return [b'{"type": "audio-chunk", "data_length": 9999999}\n', b"{}"]  # lies
    if kind == 3:
        return [b'{"type": "synthesize", "data": {"text": "\xff\xfe\xc3"}}\n']  # not UTF-8
    if kind == 4:
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
        return [json.dumps({"type": run.type, "data": run.data}).encode()
                + b"\n"]  # a run that never sends audio
    return [b'{"type": "ping"}\n{"type": "describe"', b"}\n" + rng.randbytes(64)]


async def abusive_client(port: int, until: float, stats: dict[str, int]) -> None:
    rng = random.Random(14)
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), 2)
        except (OSError, TimeoutError):
            stats["refused"] += 1
            await asyncio.sleep(0.5)
            continue
        try:
            for part in _junk(rng):
                writer.write(part)
                await asyncio.wait_for(writer.drain(), 2)
            stats["sent"] += 1
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(reader.read(4096), 0.3)
        except (OSError, TimeoutError):
            stats["broken"] += 1
        finally:
            writer.close()
        await asyncio.sleep(0.25)


def match(fed: list[str], got: list[str]) -> dict[str, int]:
    """Lost, duplicated and out-of-order commands of one satellite (fed vs published order):
    the longest common subsequence is in order; of the rest, a command both fed and published
    is out of order, one only fed is lost, one only published is a duplicate."""
    from collections import Counter

    n, m = len(fed), len(got)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            lcs[i][j] = (lcs[i + 1][j + 1] + 1 if fed[i] == got[j]
                         else max(lcs[i + 1][j], lcs[i][j + 1]))
    unfed, unpublished = Counter(), Counter()
    i = j = 0
    while i < n and j < m:
        if fed[i] == got[j]:
            i, j = i + 1, j + 1
        elif lcs[i + 1][j] >= lcs[i][j + 1]:
            unfed[fed[i]] += 1
            i += 1
        else:
            unpublished[got[j]] += 1
            j += 1
    unfed.update(fed[i:])
    unpublished.update(got[j:])
    both = sum((unfed & unpublished).values())
    return {"fed": n, "published": m, "lost": sum(unfed.values()) - both,
            "duplicated": sum(unpublished.values()) - both, "out_of_order": both}


def tracebacks(text: str) -> list[str]:
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if ("Traceback (most recent call last)" in line or "Task was destroyed" in line
                or "exception was never retrieved" in line):
            found.append(" | ".join(lines[max(0, i - 1):i + 4])[:400])
    return found


async def wait_for_log(sat: SatelliteProc, text: str, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sat.log().count(text) >= count:
            return True
        await asyncio.sleep(0.05)
    return False


async def intent_in_outbox(sat: SatelliteProc, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in list(sat.outbox.glob("*.msg")):
            with contextlib.suppress(OSError):
                if "/intent" in path.read_text():
                    return True
        await asyncio.sleep(0.01)
    return False


async def soak(seconds: float, folder: Path) -> dict[str, Any]:
    broker = Broker(folder / "mosquitto")
    broker.start()
    hub = HubProcess(folder / "hub.log", extra_args=[
        "--set", f"mqtt.url=mqtt://127.0.0.1:{broker.port}"])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, hub.start)
    _CHILDREN.append(hub.proc)
    recordings = []
    for i in range(SATELLITES):
        order = [(COMMANDS[(i + k) % len(COMMANDS)], COMMANDS[(i + k) % len(COMMANDS)])
                 for k in range(len(COMMANDS))]
        wav, ends = await build_recording(hub.uri, folder / f"sat-{i}.wav", order)
        recordings.append((read_wav(wav)[0], ends))
    recorder = Recorder(broker.port)
    record_task = asyncio.create_task(recorder.run())
    await asyncio.wait_for(recorder.connected.wait(), 10)
    sats = [SatelliteProc(folder / f"sat-{i}", f"soak-{i}", hub.uri,
                          f"mqtt://127.0.0.1:{broker.port}", *recordings[i])
            for i in range(SATELLITES)]
    for sat in sats:
        await sat.start()
    for sat in sats:
        await wait_for_log(sat, "connected to hub", 1, 60)
    hub_rss = Rss()
    began = time.monotonic()
    until = began + seconds
    hub_down = asyncio.Event()
    tts = {"ok": 0, "failed": 0, "failed_while_hub_down": 0, "empty": 0, "latency_s": []}
    abuse = {"sent": 0, "refused": 0, "broken": 0}
    faults: list[dict[str, Any]] = []
    tasks = [asyncio.create_task(sat.feed(until)) for sat in sats]
    tasks += [asyncio.create_task(tts_client(hub.uri, until, tts, hub_down)),
              asyncio.create_task(abusive_client(hub.port, until, abuse))]

    async def sample() -> None:
        while True:
            hub_rss.add(rss_mb(hub.proc.pid if hub.proc else None))
            for sat in sats:
                sat.rss.add(rss_mb(sat.proc.pid if sat.proc and sat.proc.returncode is None
                                   else None))
            await asyncio.sleep(SAMPLE_S)

    sampler = asyncio.create_task(sample())

    def at(fraction: float) -> float:
        return began + fraction * seconds

    # --- the broker, and a satellite while it writes its outbox
    await asyncio.sleep(max(0.0, at(0.25) - time.monotonic()))
    broker.kill()
    victim = sats[1]
    written = await intent_in_outbox(victim, 40)
    victim.paused = True
    await victim.kill()
    faults.append({"t": round(time.monotonic() - began, 1), "killed": "mosquitto, then "
                   f"{victim.name}", "intent_in_outbox_at_kill": written,
                   "outbox_files_at_kill": len(list(victim.outbox.glob("*.msg")))})
    victim.rss.restart()
    await victim.start()
    await wait_for_log(victim, "connected to hub", victim.log().count("connected to hub") + 1,
                       60)
    victim.paused = False
    await asyncio.sleep(3.0)
    broker.start()
    faults.append({"t": round(time.monotonic() - began, 1), "restarted": "mosquitto"})

    # --- the hub, mid-command
    await asyncio.sleep(max(0.0, at(0.55) - time.monotonic()))
    streaming = sats[0]
    count = streaming.log().count("state: listening")
    mid = await wait_for_log(streaming, "state: listening", count + 1, 30)
    await asyncio.sleep(0.5)
    hub_down.set()
    hub.stop(kill=True)
    t_kill = time.monotonic()
    hub_rss.restart()
    restart_errors = []
    for _ in range(3):  # a hub that cannot start again is a finding, not a crash of the soak
        try:
            await loop.run_in_executor(None, hub.start)
            _CHILDREN.append(hub.proc)
            break
        except RuntimeError as err:
            restart_errors.append(str(err))
            await asyncio.sleep(10.0)
    hub_down.clear()
    faults.append({"t": round(t_kill - began, 1), "killed": "hub", "mid_command": mid,
                   "restart_s": round(time.monotonic() - t_kill, 1),
                   "restart_errors": restart_errors})

    await asyncio.gather(*tasks)
    # Let the last commands finish and every outbox drain.
    await asyncio.sleep(25.0)
    sampler.cancel()
    report_rss = {"hub": hub_rss.report()} | {sat.name: sat.rss.report() for sat in sats}
    for sat in sats:
        await sat.stop()
    record_task.cancel()
    await asyncio.gather(record_task, sampler, return_exceptions=True)
    hub_log = (folder / "hub.log").read_text(errors="replace")
    hub.stop()
    broker.stop()

    per_sat = {}
    for sat in sats:
        got = [label_of(str(r.get("text", ""))) for r in recorder.intents.get(sat.name, [])]
        fed = [f.label for f in sat.fed]
        per_sat[sat.name] = match(fed, got)
        short = {c: c.split()[-2].lower() for c in COMMANDS}  # kitchen, garden, desk
        per_sat[sat.name]["sequences"] = {"fed": " ".join(short[x] for x in fed),
                                          "published": " ".join(short[x] for x in got)}
        codes: dict[str, int] = {}
        for error in recorder.errors.get(sat.name, []):
            codes[str(error.get("code"))] = codes.get(str(error.get("code")), 0) + 1
        per_sat[sat.name]["errors_told_the_user"] = codes
        per_sat[sat.name]["replays"] = sat.log().count("replayed the command")
    totals = {key: sum(s[key] for s in per_sat.values())
              for key in ("fed", "published", "lost", "duplicated", "out_of_order")}
    found = {"hub": tracebacks(hub_log)} | {sat.name: tracebacks(sat.log()) for sat in sats}
    latencies = sorted(tts.pop("latency_s"))
    return {
        "seconds": seconds, "satellites": SATELLITES, "commands": totals, "per_satellite": per_sat,
        "rss_mb": report_rss,
        "rss_growth_mb_max": max(r["growth_mb"] for r in report_rss.values()),
        "tts": tts | {"median_s": round(latencies[len(latencies) // 2], 2) if latencies
                      else None},
        "abusive_connections": abuse, "faults": faults,
        "error_log_lines": {"hub": hub_log.count(" ERROR "),
                            **{sat.name: sat.log().count(" ERROR ") for sat in sats}},
        "tracebacks": {k: v for k, v in found.items() if v},
        "traceback_count": sum(len(v) for v in found.values()),
        "logs": str(folder),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("SOAK_S", "600")))
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args()
    if shutil.which("mosquitto") is None:
        print("soak: mosquitto is not installed (make system)", file=sys.stderr)
        return 2
    if args.seconds < 60:
        print("soak: --seconds must be at least 60 (the faults need room)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="voxhub-soak-"))
    try:
        result = asyncio.run(soak(args.seconds, folder))
    finally:
        _end_children()
    print(json.dumps(result, indent=2))
    if not args.keep and not result["traceback_count"]:
        shutil.rmtree(folder, ignore_errors=True)
    ok = (result["commands"]["lost"] == 0 and result["commands"]["duplicated"] == 0
          and result["rss_growth_mb_max"] < 50 and result["traceback_count"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
