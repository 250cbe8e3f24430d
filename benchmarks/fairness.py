"""Fair under load: a well-behaved client's describe and first TTS audio while others flood.

Issue 14 measured a good client's first TTS audio going from 0.45 s to 8 s during a fuzz storm.
This starts a real `voxhub hub` serving TTS and measures, for a well-behaved client, the
`describe` round trip and the first audio of a short reply not yet in the cache, while abusive
clients flood the endpoint (floods of ping and describe, oversized and broken frames, queued
synthesize requests, runs without audio), for each `--abusers` count (default 8, then 1: "one
client floods or fuzzes"). The hub, the abusive clients and the measuring client are three
processes, as they are on a network, and the abusers connect from another address (127.0.0.2):
in one process the measuring client's own event loop would wait for the abusers' (and the GIL
for the hub's) and the figures would time the benchmark, not the hub.

Each round measures three conditions one after the other, so that the drift of a shared
machine's load falls on all three alike:

- `quiet`: nobody else talks to the hub;
- `under_load`: the abusive clients flood it;
- `quiet_beside_burn`: nobody talks to the hub, but plain local processes burn as much CPU as
  the abusers' process took under load. On a network the abusers run on other devices; on this
  machine their process takes the CPU the hub would render with.

Ratios, each of medians of the same run:

- `ratio` = under_load / quiet: the plain figure, the abusers' own CPU included (the target:
  first audio < 2);
- `ratio_to_quiet_beside_burn` = under_load / quiet_beside_burn: what the hub's own work for
  the abusers costs a good client, the abusers' CPU set aside. Reported beside `ratio`, never
  instead of it.

`cpu_cores` per condition: CPU time (user + system, /proc) of each process over the
condition's measurements divided by their duration, with the hub's split between its event
loop thread and its other threads (rendering, executors). Prints JSON; the load average of the
machine with each condition, the tracebacks the hub logged.

    .venv/bin/python benchmarks/fairness.py [--rounds 10] [--abusers 8,1] [--log hub.log]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wyoming.client import AsyncClient
from wyoming.info import Describe
from wyoming.tts import Synthesize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rehearsal.hub_process import wait_ready  # noqa: E402
from rehearsal.ports import free_port  # noqa: E402
from voxhub.protocol import WyomingType  # noqa: E402

#: Where the abusive clients connect from: another host, as far as the hub can tell.
ABUSER_HOST = "127.0.0.2"
TEXTS = ["Turned on the kitchen lights.", "The garden lights are off.",
         "It is twenty past seven.", "Dinner is ready."]


async def _until(client: AsyncClient, wanted: str) -> None:
    while (event := await client.read_event()) is not None and event.type != wanted:
        pass


async def measure(uri: str, rounds: int) -> dict[str, float]:
    describe, first_audio = [], []
    async with AsyncClient.from_uri(uri) as client:
        for index in range(rounds):
            started = time.monotonic()
            await client.write_event(Describe().event())
            await _until(client, WyomingType.INFO)
            describe.append((time.monotonic() - started) * 1000.0)
            # A text not yet in the cache: the round measures synthesis, not a cache hit.
            text = f"{TEXTS[index % len(TEXTS)]} Number {random.randrange(10**6)}."
            started = time.monotonic()
            await client.write_event(Synthesize(text=text).event())
            await _until(client, WyomingType.AUDIO_CHUNK)
            first_audio.append((time.monotonic() - started) * 1000.0)
            await _until(client, WyomingType.AUDIO_STOP)
    return {"describe_ms": statistics.median(describe),
            "describe_max_ms": max(describe),
            "first_audio_ms": statistics.median(first_audio)}


async def abuse(uri: str, active, stop: asyncio.Event, seed: int) -> int:  # mp.Event
    """One abusive client, from ABUSER_HOST, reconnecting whenever the hub closes it, while
    `active` is set; frames sent."""
    rng = random.Random(seed)
    host, port = uri.removeprefix("tcp://").split(":")
    sent = 0
    frames = [b'{"type": "ping"}\n' * 200, b'{"type": "describe"}\n' * 50,
              b'{"type": "synthesize", "data": {"text": "Flood."}}\n' * 40,
              b'{"type": "' + b"x" * 2_000_000 + b'"}\n', b"\xff\xfe not json\n",
              b'{"type": "run-pipeline", "data": {"start_stage": "asr", "end_stage": "tts"}}\n',
              b'{"type": "audio-chunk", "payload_length": 8000000}\n' + bytes(4096)]
    while not stop.is_set():
        if not active.is_set():
            await asyncio.sleep(0.01)
            continue
        try:
            reader, writer = await asyncio.open_connection(host, int(port),
                                                           local_addr=(ABUSER_HOST, 0))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        try:
            for _ in range(rng.randint(1, 20)):
                writer.write(rng.choice(frames))
                sent += 1
                await asyncio.wait_for(writer.drain(), 2)
                if rng.random() < 0.3:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(1 << 16), 0.01)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()
        await asyncio.sleep(0)
    return sent


def _abuse_process(uri: str, seeds: list[int], active, stop, sent) -> None:
    """The abusive clients, in a process of their own (multiprocessing target; `active` and
    `stop` are mp.Events, `sent` an mp.Value)."""
    async def run() -> int:
        done = asyncio.Event()
        tasks = [asyncio.create_task(abuse(uri, active, done, seed)) for seed in seeds]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        done.set()
        return sum(await asyncio.gather(*tasks))

    sent.value = asyncio.run(run())


def _cpu_s(pid: int, tid: int | None = None) -> float:
    """CPU seconds (user + system) of a process, or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _burn(shares, active, stop) -> None:  # mp.Value, mp.Event, mp.Event
    """Busy for `shares.value` of every 10 ms while `active` is set (multiprocessing target):
    a plain local process taking the CPU the abusive clients' process took, doing nothing to
    the hub."""
    while not stop.is_set():
        share = shares.value if active.is_set() else 0.0
        until = time.monotonic() + 0.01 * share
        while time.monotonic() < until:
            pass
        time.sleep(0.01 * (1.0 - share))


class _Usage:
    """CPU seconds of the processes (and of the hub's event loop thread) over the
    measurements of one condition."""

    def __init__(self) -> None:
        self.cpu_s: dict[str, float] = {}
        self.wall_s = 0.0
        self._at: tuple[float, dict[str, float]] | None = None

    @staticmethod
    def _read(pids: dict[str, int]) -> dict[str, float]:
        found = {name: _cpu_s(pid) for name, pid in pids.items()}
        found["hub_event_loop"] = _cpu_s(pids["hub"], pids["hub"])
        return found

    def start(self, pids: dict[str, int]) -> None:
        self._at = (time.monotonic(), self._read(pids))

    def stop(self, pids: dict[str, int]) -> None:
        assert self._at is not None
        started, before = self._at
        self.wall_s += time.monotonic() - started
        for name, value in self._read(pids).items():
            self.cpu_s[name] = self.cpu_s.get(name, 0.0) + value - before[name]

    def cores(self) -> dict[str, float]:
        cores = {name: round(value / self.wall_s, 3) for name, value in self.cpu_s.items()}
        cores["hub_other_threads"] = round(cores["hub"] - cores["hub_event_loop"], 3)
        return cores


async def _abused(uri: str, count: int, rounds: int, hub: subprocess.Popen) -> dict:
    context = multiprocessing.get_context("spawn")
    stop, abusing, burning = context.Event(), context.Event(), context.Event()
    sent, share = context.Value("q", 0), context.Value("d", 0.0)
    abusers = context.Process(target=_abuse_process, args=(
        uri, [count * 1000 + i for i in range(count)], abusing, stop, sent))
    burners = [context.Process(target=_burn, args=(share, burning, stop)) for _ in range(2)]
    pids = {"hub": hub.pid, "client": os.getpid()}
    conditions = {"quiet": (pids, None),
                  "under_load": ({**pids, "abusers": 0}, abusing),
                  "quiet_beside_burn": ({**pids, "burner0": 0, "burner1": 0}, burning)}
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in conditions}
    usage = {name: _Usage() for name in conditions}
    loads: dict[str, list[float]] = {name: [] for name in conditions}
    for process in (abusers, *burners):
        process.start()
    conditions["under_load"][0]["abusers"] = abusers.pid
    conditions["quiet_beside_burn"][0].update(burner0=burners[0].pid, burner1=burners[1].pid)
    try:
        for _ in range(rounds):
            for name, (watched, switch) in conditions.items():
                if name == "quiet_beside_burn":  # each burner half the abusers' share so far
                    abused = usage["under_load"]
                    share.value = min(1.0, abused.cpu_s["abusers"] / abused.wall_s / 2)
                if switch is not None:
                    switch.set()
                    await asyncio.sleep(1.5)  # the abusers connected and flooding
                usage[name].start(watched)
                figures[name].append(await measure(uri, 1))
                usage[name].stop(watched)
                loads[name].append(os.getloadavg()[0])
                if switch is not None:
                    switch.clear()
                    await asyncio.sleep(2.0)  # the hub done with the abusers' connections
    finally:
        stop.set()
        for process in (abusers, *burners):
            await asyncio.to_thread(process.join, 60)
            if process.is_alive():
                process.kill()
    result: dict = {"abusive_clients": count, "abusive_frames": sent.value}
    for name in conditions:
        result[name] = {key: round(statistics.median(f[key] for f in figures[name]), 1)
                        for key in figures[name][0]}
        result[name]["describe_max_ms"] = round(max(f["describe_max_ms"]
                                                    for f in figures[name]), 1)
        result[name]["cpu_cores"] = usage[name].cores()
        result[name]["load_average_1min"] = round(statistics.mean(loads[name]), 2)
    result["ratio"] = _ratios(result["under_load"], result["quiet"])
    result["ratio_to_quiet_beside_burn"] = _ratios(result["under_load"],
                                                   result["quiet_beside_burn"])
    return result


def _ratios(loaded: dict, reference: dict) -> dict[str, float | None]:
    return {key: round(loaded[key] / reference[key], 2) if reference[key] else None
            for key in ("describe_ms", "first_audio_ms")}


async def main_async(args: argparse.Namespace, log: Path) -> dict:
    uri = f"tcp://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "voxhub.cli", "hub", "--uri", uri,
               "--set", "server.programs=[tts]", "--set", "mqtt.embedded=false",
               "--log-level", "warning"]
    with open(log, "wb") as stderr:
        hub = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    runs = []
    try:
        await asyncio.to_thread(wait_ready, uri, hub, 300)
        await measure(uri, 2)  # warm-up
        for count in args.abusers:
            runs.append(await _abused(uri, count, args.rounds, hub))
    finally:
        hub.terminate()
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()
    logged = log.read_text(errors="replace")
    return {
        "benchmark": "fairness",
        "rounds": args.rounds,
        "targets": {"describe_ms": "< 50 under load", "ratio.first_audio_ms": "< 2"},
        "runs": runs,
        "hub_tracebacks": logged.count("Traceback"),
        "hub_log_lines": len(logged.splitlines()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--abusers", type=lambda v: [int(n) for n in v.split(",")],
                        default=[8, 1], help="abusive clients of each run (default 8,1)")
    parser.add_argument("--log", type=Path, help="keep the hub's log in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(main_async(args, args.log or Path(tmp) / "hub.log")),
                         indent=2))


if __name__ == "__main__":
    main()
