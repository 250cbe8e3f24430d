"""A size-bounded LRU cache of rendered replies.

"Turned on the lights" is said many times a day; rendering it again costs a few hundred
milliseconds, replaying it costs nothing. Keyed by the exact text, voice and speed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class AudioCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, float], list[bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(text: str, voice: str, speed: float) -> tuple[str, str, float]:
        return (text, voice, round(speed, 3))

    def get(self, key: tuple[str, str, float]) -> list[bytes] | None:
        with self._lock:
            pieces = self._items.get(key)
            if pieces is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return pieces

    def put(self, key: tuple[str, str, float], pieces: list[bytes]) -> None:
        size = sum(len(p) for p in pieces)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= sum(len(p) for p in old)
            self._items[key] = pieces
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= sum(len(p) for p in evicted)

    def __len__(self) -> int:
        return len(self._items)
