"""Fit the rejection rule (hub/intents/rejection.py WEIGHTS) on the development set only.

    python benchmarks/understanding.py --set dev --dump dev.json
    python benchmarks/fit_rejection.py dev.json

Every repaired (fuzzy) match of a development utterance's hypotheses is a training example:
label 1 when it is the expected intent and slots, 0 when it is wrong or the utterance was out of
domain. A logistic regression on the features of `hub.intents.rejection.features` gives the
weights, printed as JSON with the development set's accuracy and false accepts at the
configured threshold (`intents.min_confidence`). Out-of-domain examples weigh more (`--ood-weight`):
a wrong action costs more than a "Sorry". The held-out set is never read here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The recognizer's confidence (`asr`) is left out: measured on the development set, Whisper's mean
#: token probability was no lower on out-of-domain speech than on commands it misheard.
NAMES = ["similarity", "agreement", "explained", "invented"]
#: The direction each feature may push (more similar, agreed, explained: more likely a command;
#: more invented: less); the fit is held to it so that a quirk of a small set cannot reverse one.
SIGNS = np.array([1.0, 1.0, 1.0, -1.0])


def _same(match: Any, item: dict[str, Any]) -> bool:
    from benchmarks.understanding_sets import _norm

    return (not item["ood"] and match.intent == item["intent"]
            and _norm(match.slots) == _norm(item["slots"]))


def examples(dump: list[dict[str, Any]], with_text: bool
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from hub.config import HubConfig
    from hub.intents.engine import IntentEngine
    from hub.intents.home import load_home

    config = HubConfig()
    engine = IntentEngine(config.intents, config.data_path / "understanding")
    engine.set_home(load_home(ROOT / "config" / "home.yaml"), background=False)
    rows, labels, ood = [], [], []
    # The spoken items, and each utterance's exact text once (the text path: no recognizer).
    texts = {item["text"]: {**item, "ours": {"text": item["text"]}} for item in dump}
    for item in [*dump, *(texts.values() if with_text else ())]:
        got = item["ours"]
        found = engine.assess(got.get("hypotheses") or [got["text"]], item.get("area"),
                              asr_confidence=got.get("asr_confidence") or None)
        if found is None or not found.features or found.rejected not in (None, "confidence"):
            continue
        rows.append([found.features[n] for n in NAMES])
        labels.append(float(_same(found.match, item)))
        ood.append(float(item["ood"]))
    return np.array(rows), np.array(labels), np.array(ood)


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 0.001,
        steps: int = 30000, rate: float = 1.0) -> np.ndarray:
    """Weighted logistic regression by gradient descent (a few hundred rows: instant)."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ ((p - y) * weight) / weight.sum() + l2 * np.r_[0, w[1:]]
        w -= rate * grad
        w[1:] = np.where(w[1:] * SIGNS < 0, 0.0, w[1:])
    return w


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("--ood-weight", type=float, default=3.0)
    parser.add_argument("--max-ood", type=float, default=0.01,
                        help="share of out-of-domain examples the cut-off may let through")
    parser.add_argument("--show", action="store_true", help="print every example")
    parser.add_argument("--with-text", action="store_true",
                        help="add each utterance's exact text (one hypothesis, no recognizer)")
    args = parser.parse_args()
    dump = json.loads(args.dump.read_text())
    from benchmarks.understanding_sets import HELDOUT_ESPEAK, HELDOUT_KOKORO

    if any(item.get("voice") in HELDOUT_KOKORO + HELDOUT_ESPEAK for item in dump):
        raise SystemExit("fit on the development set only: this dump has held-out voices")
    x, y, ood = examples(dump, args.with_text)
    if args.show:
        for row, label, o in zip(x, y, ood, strict=True):
            print(int(label), int(o), " ".join(f"{v:.2f}" for v in row))
    weights = fit(x, y, np.where(ood > 0, args.ood_weight, 1.0))
    fitted = {"bias": round(float(weights[0]), 3),
              **{n: round(float(w), 3) for n, w in zip(NAMES, weights[1:], strict=True)}}
    from hub.intents.config import IntentsConfig
    from hub.intents.rejection import probability

    # The operating point: the lowest cut-off that lets at most `--max-ood` of the development
    # set's out-of-domain examples through, moved onto `intents.min_confidence` by the bias.
    threshold = IntentsConfig().min_confidence
    p = np.array([probability(dict(zip(NAMES, row, strict=True)), fitted) for row in x])
    allowed = int(args.max_ood * sum(bool(item["ood"]) for item in dump))
    cut = float(np.sort(p[ood > 0])[::-1][allowed]) + 1e-6 if (ood > 0).any() else 0.5
    logit = math.log(threshold / (1 - threshold))
    fitted["bias"] = round(fitted["bias"] + logit - math.log(cut / (1 - cut)), 3)
    p = np.array([probability(dict(zip(NAMES, row, strict=True)), fitted) for row in x])
    accepted = p >= threshold
    print(json.dumps({"weights": fitted, "examples": len(y), "correct_examples": int(y.sum()),
                      "threshold": threshold,
                      "accepted_correct": int((accepted & (y > 0)).sum()),
                      "accepted_wrong_command": int((accepted & (y == 0) & (ood == 0)).sum()),
                      "accepted_out_of_domain": int((accepted & (ood > 0)).sum())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
