"""A measured rule for "this is not a command for this home": features and fitted weights.

A nearest-sentence matcher maps any speech onto some command, so a repaired match is only as
good as the evidence that the speaker said it. The evidence, per repaired match:

- `similarity`: how close what was heard is to the snapped sentence (0-1);
- `agreement`: the share of the recognizer's hypotheses that lead to the same action;
- `explained`: the share of the heard content words that the snapped sentence accounts for
  ("how far away is the moon" → "how many fans is the on" leaves "far", "away", "moon" out);
- `invented`: the share of the snapped sentence's content words that nobody said;
- `asr`: the recognizer's own confidence (mean token probability of its best hypothesis; 0.8
  when it gives none, the text path). Computed and measured, but weightless (see WEIGHTS).

Whether every area and name the sentence implies was heard is not a feature but a hard rule of
the fuzzy stage (`FuzzyMatcher._honest`), as is the scope rule (hub/intents/safety.py).

The weights below were fitted by benchmarks/fit_rejection.py (logistic regression) on the
development set only (benchmarks/data/commands_dev.yaml, out_of_domain_dev.yaml, spoken by the
hub's voices, clean and noisy); the held-out set was not used. `intents.min_confidence` is the
threshold on the resulting probability.
"""

from __future__ import annotations

import math

from rapidfuzz import fuzz

from hub.intents.sentences import comparable

#: Words that carry no content in a command: politeness, fillers, articles, pronouns.
FILLERS = frozenset({
    "a", "an", "the", "please", "could", "can", "would", "will", "you", "hey", "hi", "okay",
    "ok", "um", "uh", "er", "erm", "so", "just", "now", "my", "me", "i", "i'd", "like", "want",
    "to", "of", "it", "is", "this", "that", "these", "those", "and", "for", "some", "be", "do",
    "kindly", "thanks", "thank", "there", "here", "in", "your", "our", "we", "us", "let's",
    "lets",
})
#: Word similarity (0-100) above which two words count as the same word misheard.
SAME_WORD = 75.0
#: Word similarity below which a word of the snapped sentence counts as invented.
INVENTED_WORD = 60.0
#: The recognizer's confidence assumed when it gives none (the text path).
DEFAULT_ASR = 0.8

#: Fitted on the development set by benchmarks/fit_rejection.py --with-text (the spoken items
#: and their exact texts; cut-off at 1 % of its out-of-domain utterances). Agreement got no
#: weight and the recognizer's confidence was left out: on that set neither separated commands
#: from out-of-domain speech once similarity and the explained/invented shares were known.
WEIGHTS = {"bias": -4.348, "similarity": 3.263, "agreement": 0.0, "explained": 2.326,
           "invented": -2.466}


def content_words(text: str) -> list[str]:
    return [w for w in text.split() if w not in FILLERS]


#: Prefixes that make a word its opposite ("unpause" / "pause", "unlock" / "lock").
OPPOSITES = ("un", "dis", "de", "re")


def _same(a: str, b: str, score: float = SAME_WORD) -> bool:
    if a == b:
        return True
    if any(a == p + b or b == p + a for p in OPPOSITES):
        return False  # the opposite action, not a slip
    if min(len(a), len(b)) <= 2:  # "of" / "off": a short word differs by a letter or none
        return abs(len(a) - len(b)) <= 1 and (a.startswith(b) or b.startswith(a))
    return fuzz.ratio(a, b) >= score


def _covered(word: str, others: list[str], score: float = SAME_WORD) -> bool:
    """A word matches one of `others`, or two neighbours of them written as one ("playcorner")."""
    if any(_same(word, o, score) for o in others):
        return True
    joined = ["".join(others[i:i + 2]) for i in range(len(others) - 1)]
    return any(len(j) > 5 and _same(word, j, score) for j in joined)


def share_explained(heard: str, snapped: str) -> float:
    """The share of the heard content words found in the snapped sentence (a word heard in two
    pieces, "broad as" for "broadcast", counts for both pieces)."""
    all_words = heard.split()
    targets = snapped.split()
    total = covered = 0
    for i, word in enumerate(all_words):
        if word in FILLERS:
            continue
        total += 1
        pieces = [all_words[j] + all_words[j + 1] for j in (i - 1, i)
                  if 0 <= j < len(all_words) - 1]
        covered += _covered(word, targets) or any(
            len(p) > 5 and any(_same(p, t) for t in targets) for p in pieces)
    return covered / total if total else 1.0


def share_invented(heard: str, snapped: str) -> float:
    """The share of the snapped sentence's content words found nowhere in what was heard."""
    words = content_words(snapped)
    if not words:
        return 0.0
    heard_words = heard.split()
    # A word of the sentence that sounds about like a heard one was misheard, not invented
    # ("four" for "floor"): a looser bar than for what was heard.
    return sum(not _covered(w, heard_words, INVENTED_WORD) for w in words) / len(words)


def features(heard: str, snapped: str, similarity: float, agreement: float,
             asr_confidence: float | None) -> dict[str, float]:
    """Both texts canonical (hub.intents.sentences.canonical); compared as comparable()."""
    heard, snapped = comparable(heard), comparable(snapped)
    return {"similarity": similarity, "agreement": agreement,
            "explained": share_explained(heard, snapped),
            "invented": share_invented(heard, snapped),
            "asr": DEFAULT_ASR if asr_confidence is None else float(asr_confidence)}


def probability(values: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The fitted probability that the repaired match is what the speaker meant."""
    weights = weights or WEIGHTS
    z = weights["bias"] + sum(weights[k] * v for k, v in values.items() if k in weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
