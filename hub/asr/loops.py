"""Whisper's repetition loop, undone.

On some audio (a tail of silence or noise after a short command, often on a machine so busy
that the early answer missed its pause) Whisper's decoder repeats the command until its length
limit: "Turn on the kitchen light, turn on the kitchen light, … turn on". Beam search does not
save it (every beam shares the loop), and the matcher cannot read a command seven times over.
faster-whisper's own remedy, decoding again at higher temperatures when the text compresses too
well, costs a second decode on every loop; the loop itself says what was heard, once.
"""

from __future__ import annotations

import re

_EDGE_PUNCTUATION = ".,;:!?¿¡"


def without_repeats(text: str) -> str:
    """`text` once when the whole of it is one phrase said at least twice over (the last time
    possibly cut off by the length limit); otherwise `text` unchanged. Only a repetition from
    the first word to the last counts: "la la la" inside a song title is left alone."""
    words = text.split()
    keys = [re.sub(r"\W+", "", word).casefold() for word in words]
    for period in range(1, len(words) // 2 + 1):
        if all(keys[i] == keys[i - period] for i in range(period, len(keys))):
            return " ".join(words[:period]).rstrip(_EDGE_PUNCTUATION)
    return text
