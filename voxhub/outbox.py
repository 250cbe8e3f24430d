"""A bounded on-disk queue of MQTT messages, delivered in order, surviving restarts.

Why on disk: an intent recognised while the broker reboots (or while the satellite itself is
restarted by systemd) must still reach the automations, in the order things happened. One file
per message, written to a temporary name and renamed, so a power cut leaves either the whole
message or nothing; file names carry a monotonically increasing sequence number, which is the
delivery order.

A write that fails (disk full, a read-only remount of a worn SD card) does not lose the message:
it is kept in memory, after everything on disk, delivered from there, and written out at the next
chance (each later put or delivery); the failure is logged once until a write works again. A
failed write never leaves a partial `.msg`: only a complete, fsync'ed temporary file is renamed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
_SUFFIX = ".msg"


@dataclass
class OutboxMessage:
    seq: int
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class Outbox:
    """FIFO of messages in a directory. Only one process may use a directory at a time."""

    def __init__(self, directory: Path, max_messages: int = 1000) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.dropped = 0
        self._memory: list[OutboxMessage] = []  # written to disk when it has room again
        self._write_error: str | None = None
        for tmp in self.directory.glob("*.tmp"):  # a write interrupted by a crash
            tmp.unlink(missing_ok=True)
        seqs = self._seqs()
        self._next = (seqs[-1] + 1) if seqs else 1
        self._changed = asyncio.Event()
        if seqs:
            self._changed.set()

    def _seqs(self) -> list[int]:
        seqs = []
        for path in self.directory.glob(f"*{_SUFFIX}"):
            try:
                seqs.append(int(path.stem))
            except ValueError:
                continue
        return sorted(seqs)

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:012d}{_SUFFIX}"

    def __len__(self) -> int:
        return len(self._seqs()) + len(self._memory)

    @property
    def in_memory(self) -> int:
        """Messages not on disk yet (their write failed)."""
        return len(self._memory)

    def put(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> int:
        """Append a message (durably when the disk allows) and return its sequence number."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        seq = self._next
        self._next += 1
        self._memory.append(OutboxMessage(seq, topic, data, qos, retain))
        self._flush()
        seqs = self._seqs()
        while len(seqs) + len(self._memory) > self.max_messages:
            if seqs:
                self._path(seqs.pop(0)).unlink(missing_ok=True)
            else:
                self._memory.pop(0)
            self.dropped += 1
            _LOGGER.warning("outbox full (%d messages): dropped the oldest", self.max_messages)
        self._changed.set()
        return seq

    def _flush(self) -> None:
        """Write the messages held in memory to disk, oldest first, until one fails."""
        while self._memory:
            message = self._memory[0]
            try:
                self._write(message)
            except OSError as err:
                if self._write_error is None:
                    _LOGGER.error("outbox %s: cannot write (%s): keeping messages in memory "
                                  "and retrying", self.directory, err.strerror or err)
                self._write_error = str(err)
                return
            self._memory.pop(0)
            if self._write_error is not None:
                _LOGGER.warning("outbox %s: writing works again", self.directory)
                self._write_error = None

    def _write(self, message: OutboxMessage) -> None:
        record = {"topic": message.topic, "qos": message.qos, "retain": message.retain,
                  "payload": base64.b64encode(message.payload).decode("ascii")}
        tmp = self.directory / f"{message.seq:012d}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path(message.seq))
        except OSError:
            tmp.unlink(missing_ok=True)
            raise

    def peek(self) -> OutboxMessage | None:
        """The oldest message, or None; unreadable files are dropped with a warning."""
        self._flush()
        for seq in self._seqs():
            path = self._path(seq)
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                return OutboxMessage(seq, str(record["topic"]),
                                     base64.b64decode(record["payload"]),
                                     int(record.get("qos", 1)), bool(record.get("retain")))
            except (OSError, ValueError, KeyError) as err:
                _LOGGER.warning("dropping unreadable outbox entry %s: %s", path.name, err)
                path.unlink(missing_ok=True)
        return self._memory[0] if self._memory else None

    def remove(self, seq: int) -> None:
        """Forget a message once the broker acknowledged it."""
        if self._memory and self._memory[0].seq == seq:
            self._memory.pop(0)
            return
        self._path(seq).unlink(missing_ok=True)

    async def wait(self) -> None:
        """Wait until something may be in the queue."""
        if self.peek() is not None:
            return
        self._changed.clear()
        await self._changed.wait()
