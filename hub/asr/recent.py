"""The hypotheses of recent transcriptions, for the text that comes back from Home Assistant.

Home Assistant's voice pipeline runs speech-to-text and the conversation agent as two separate
Wyoming requests: audio → the hub's `transcript`, then that text → the hub's `transcript` (to
handle) or `recognize`. The second request carries one sentence, where the hub's own pipeline
decides with the recognizer's five hypotheses and its confidence: a slip that only the other
hypotheses correct ("volume to 19" with 90 among them) would be decided on the slip alone.

So the speech-to-text program remembers each transcription it hands out, under the text it
handed out (the recognizer's, and the recovered command when it handed that on instead), and the
understander takes it back when exactly that text arrives: the decision is then the one the
hub's own pipeline makes on the same audio. Entries are few and short-lived (Home Assistant
sends the text on within a second), taken once, and matched on the whole text, never on a part,
so a text typed by someone else is decided as typed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hub.asr.base import Transcription
from hub.intents.sentences import canonical

#: Transcriptions kept at most (a few per satellite speaking at once is plenty).
MAX_ENTRIES = 64
#: Seconds a transcription waits for its text to come back.
MAX_AGE_S = 30.0


@dataclass(frozen=True)
class Heard:
    """What the recognizer heard for a text the hub handed out."""

    hypotheses: list[str]
    #: The recognizer's confidence in its best hypothesis (None when it gave none).
    confidence: float | None
    language: str


class RecentTranscriptions:
    """A bounded, expiring map from handed-out text to the transcription behind it.

    Thread-safe: the speech-to-text program writes from the event loop, the understander reads
    in executor threads.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1 or max_age_s <= 0:
            raise ValueError("RecentTranscriptions needs max_entries >= 1 and max_age_s > 0")
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        #: key → (time remembered, what was heard, the keys of the same transcription)
        self._entries: OrderedDict[str, tuple[float, Heard, tuple[str, ...]]] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._entries)

    def remember(self, transcription: Transcription, *handed_out: str) -> None:
        """Keep `transcription` under each text handed out for it (its own text when none is
        given). A transcription with no words is not kept: an empty text decides nothing."""
        texts = handed_out or (transcription.text,)
        keys = tuple(dict.fromkeys(k for k in (canonical(t) for t in texts) if k))
        hypotheses = [h for h in (transcription.hypotheses or [transcription.text]) if h.strip()]
        if not keys or not hypotheses:
            return
        heard = Heard(hypotheses, transcription.confidence or None, transcription.language)
        now = self._clock()
        with self._lock:
            self._expire(now)
            for key in keys:
                self._entries.pop(key, None)
                self._entries[key] = (now, heard, keys)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def take(self, text: str) -> Heard | None:
        """What was heard for `text`, if the hub handed exactly this text out recently; the
        entry (under all its texts) is gone afterwards."""
        key = canonical(text)
        if not key:
            return None
        with self._lock:
            self._expire(self._clock())
            entry = self._entries.get(key)
            if entry is None:
                return None
            for other in entry[2]:
                if self._entries.get(other, (0.0, None))[1] is entry[1]:
                    del self._entries[other]
            return entry[1]

    def _expire(self, now: float) -> None:
        while self._entries:
            _, (when, _, _) = next(iter(self._entries.items()))
            if now - when <= self.max_age_s:
                return
            self._entries.popitem(last=False)
