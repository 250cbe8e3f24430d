"""The development and held-out parts of the understanding benchmark: data, voices, noise, scores.

Which set tuned what:
- `benchmarks/data/commands_dev.yaml` and `out_of_domain_dev.yaml`, spoken by the hub's own
  voices (`KOKORO_VOICES`, `ESPEAK_VOICES` of benchmarks/understanding.py), are the development
  set: the rejection rule in hub/intents/rejection.py was fitted on their transcripts
  (`--set dev --dump`, then benchmarks/fit_rejection.py), and the engine's repairs were developed
  on them.
- `commands_heldout.yaml` and `out_of_domain_heldout.yaml`, spoken by voices the hub never uses
  (`HELDOUT_KOKORO`, `HELDOUT_ESPEAK`), tuned nothing: they are only read by `--set heldout`.

Commands are written as people say them, not sampled from the templates the matcher snaps to, so
this part can fail where the template workload cannot. Every command is heard clean and with
noise at 15 dB and 5 dB SNR; out-of-domain speech clean and at 15 dB. The noise is half pink
noise, half babble (other utterances of the set, reversed so no word in it is a command), seeded,
so a run is reproducible; noisy audio is cached next to the clean audio.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
#: Voices the hub does not use (not in KOKORO_VOICES / ESPEAK_VOICES): the held-out speakers.
HELDOUT_KOKORO = ["af_bella", "am_adam", "bf_isabella", "bm_lewis"]
HELDOUT_ESPEAK = ["en-gb-scotland", "en-us-nyc+andy", "en-gb-x-rp+annie", "en-029+belinda"]
COMMAND_CONDITIONS = ["clean", "snr15", "snr5"]
OOD_CONDITIONS = ["clean", "snr15"]
SNR_DB = {"snr15": 15.0, "snr5": 5.0}
#: Silence around each utterance (a satellite's VAD leaves some; noise fills it).
PAD_S = 0.25


def load(name: str) -> list[dict[str, Any]]:
    import yaml

    path = DATA / name
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("text")
                                              for i in items):
        raise ValueError(f"{path}: expected a list of items with 'text'")
    return items


def build_items(part: str, kokoro: list[str], espeak: list[str],
                limit: int | None = None) -> list[dict[str, Any]]:
    """Every (utterance, voice, condition) of a part; voices alternate over the utterances."""
    commands = load(f"commands_{part}.yaml")
    ood = load(f"out_of_domain_{part}.yaml")
    if limit is not None:  # spread over the files, so every kind of command and category
        commands = commands[::max(1, len(commands) // max(limit, 1))][:limit]
        ood = ood[::max(1, len(ood) // max(limit, 1))][:limit]
    voices = [("kokoro", v) for v in kokoro] + [("espeak", v) for v in espeak]
    items: list[dict[str, Any]] = []
    for i, item in enumerate(commands):
        family, voice = voices[i % len(voices)]
        for condition in COMMAND_CONDITIONS:
            items.append({"text": item["text"], "area": item.get("area"),
                          "intent": item["intent"], "slots": item.get("slots") or {},
                          "ood": False, "family": family, "voice": voice,
                          "condition": condition})
    for i, item in enumerate(ood):
        family, voice = voices[(i + 1) % len(voices)]
        for condition in OOD_CONDITIONS:
            items.append({"text": item["text"], "area": item.get("area"), "intent": None,
                          "slots": {}, "ood": True, "category": item.get("category", "other"),
                          "family": family, "voice": voice, "condition": condition})
    return items


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n).astype(np.float32)


def _active_power(audio: np.ndarray) -> float:
    """Mean power of the 20 ms frames within 35 dB of the loudest (speech, not the pauses)."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    power = (frames.astype(np.float64) ** 2).mean(axis=1)
    if not len(power) or power.max() <= 0:
        return 0.0
    return float(power[power >= power.max() * 10 ** -3.5].mean())


def add_noise(speech: np.ndarray, snr_db: float, babble: list[np.ndarray],
              seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(speech)
    pink = _pink(n, rng)
    talk = np.zeros(n, dtype=np.float32)
    for other in babble:
        clip = other[::-1]
        start = int(rng.integers(0, max(1, len(clip))))
        looped = np.resize(np.roll(clip, -start), n)
        talk += looped / max(np.sqrt(_active_power(looped)), 1e-6)
    noise = pink / max(float(np.sqrt((pink ** 2).mean())), 1e-9)
    if babble:
        noise = noise + talk / max(float(np.sqrt((talk ** 2).mean())), 1e-9)
    noise_power = float((noise.astype(np.float64) ** 2).mean())
    gain = np.sqrt(_active_power(speech) / (noise_power * 10 ** (snr_db / 10)))
    mixed = speech + gain * noise
    peak = float(np.abs(mixed).max())
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


def prepare_conditions(items: list[dict[str, Any]], cache: Path) -> None:
    """Write the padded clean and noisy WAVs; `item['wav']` is the synthesized clean audio."""
    from voxhub.audio import float_to_pcm16, read_wav, to_mono16k, write_wav

    cache.mkdir(parents=True, exist_ok=True)
    clean: dict[str, np.ndarray] = {}
    for item in items:
        if item["wav"] not in clean:
            audio = to_mono16k(*read_wav(item["wav"]))
            pad = np.zeros(int(PAD_S * 16000), dtype=np.float32)
            clean[item["wav"]] = np.concatenate([pad, audio, pad])
    pool = sorted(clean)
    for item in items:
        key = hashlib.sha1(f"{item['wav']}|{item['condition']}|v1".encode()).hexdigest()[:16]
        path = cache / f"{item['condition']}-{key}.wav"
        if not path.exists():
            speech = clean[item["wav"]]
            if item["condition"] == "clean":
                audio = speech
            else:
                rng = random.Random(key)
                others = [clean[p] for p in rng.sample(pool, min(2, len(pool)))
                          if p != item["wav"]]
                audio = add_noise(speech, SNR_DB[item["condition"]], others,
                                  int(key[:8], 16))
            write_wav(path, float_to_pcm16(audio), 16000)
        item["wav"] = str(path)


def norm_slots(slots: dict[str, Any]) -> dict[str, Any]:
    """Slots as compared for scoring: numbers as floats, lists sorted, text casefolded."""
    out = {}
    for key, value in (slots or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        elif isinstance(value, list):
            value = tuple(sorted(str(v) for v in value))
        else:
            value = str(value).casefold().strip()
        out[key] = value
    return out


def score_sets(items: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy per voice and condition, false accepts per category, latency of one system.

    An out-of-domain utterance is falsely accepted when something would act on it (an intent
    with targets, or one that needs none such as a timer); a "Did you mean …?" question is
    counted apart, as `confirm_questions`: nothing happens unless the person says yes.
    """
    import statistics

    by_voice: dict[str, dict[str, list[int]]] = {}
    by_family: dict[str, list[int]] = {}
    fa: dict[str, dict[str, int]] = {}
    fa_wide = fa_unsafe = asked = ood_total = 0
    second = {"commands": 0, "out_of_domain": 0}
    latencies: list[float] = []
    failures: list[dict[str, Any]] = []
    accepts: list[dict[str, Any]] = []
    for item, got in zip(items, results, strict=True):
        condition = item["condition"]
        second["out_of_domain" if item["ood"] else "commands"] += bool(got.get("second_opinion"))
        if item["ood"]:
            ood_total += 1
            cat = fa.setdefault(item["category"], {"utterances": 0, "false_accepts": 0})
            cat["utterances"] += 1
            asked += bool(got.get("confirm"))
            if got.get("acted"):
                cat["false_accepts"] += 1
                fa_wide += got.get("targets", 0) > 1
                fa_unsafe += bool(got.get("unsafe"))
                accepts.append({"said": item["text"], "heard": got["text"],
                                "condition": condition, "got": got["intent"]})
            continue
        intent = got["intent"]
        ok = int(intent is not None and intent[0] == item["intent"]
                 and norm_slots(intent[1]) == norm_slots(item["slots"]))
        by_voice.setdefault(condition, {}).setdefault(item["voice"], []).append(ok)
        by_family.setdefault(f"{condition}_{item['family']}", []).append(ok)
        by_family.setdefault(condition, []).append(ok)
        if not ok:
            failures.append({"said": item["text"], "heard": got["text"],
                             "condition": condition, "got": intent})
        if got["duration_s"] < 5.0:
            latencies.append(got["latency_s"])
    latencies.sort()
    rate = {k: round(sum(v) / len(v), 4) for k, v in sorted(by_family.items())}
    false_accepts = sum(c["false_accepts"] for c in fa.values())
    return {
        "intent_slots_accuracy": rate,
        "intent_slots_accuracy_by_voice": {
            c: {v: round(sum(h) / len(h), 4) for v, h in sorted(voices.items())}
            for c, voices in by_voice.items()},
        "false_accepts": false_accepts,
        "false_accept_rate": round(false_accepts / max(ood_total, 1), 4),
        "false_accepts_by_category": fa,
        "false_accepts_targeting_several": fa_wide,
        "false_accepts_unsafe": fa_unsafe,
        "confirm_questions": asked,
        # How often the second-opinion recognizer (asr.second_model) was asked.
        "second_opinions": second,
        "latency_s_median": round(statistics.median(latencies), 3) if latencies else None,
        "latency_s_p95": round(latencies[min(len(latencies) - 1,
                                             int(0.95 * len(latencies)))], 3)
        if latencies else None,
        "failures": failures,
        "accepted_out_of_domain": accepts,
    }


# -- other languages: commands from Home Assistant's templates of the language -----------------
#: Per language: Kokoro speakers (French has one voice, so also a blend with another language's
#: speaker, French G2P), espeak-ng voices, free text for the templates' wildcards, and
#: out-of-domain speech that must not become an action. English keeps the template workload's
#: own voices and fillers (benchmarks/understanding.py).
LANGUAGE_SETS: dict[str, dict[str, Any]] = {
    "es": {
        "kokoro": ["ef_dora", "em_alex", "em_santa"],
        "espeak": ["es", "es-419", "es+m3"],
        "fillers": {"shopping_list_item": ["leche", "huevos", "pan", "pilas"],
                    "todo_list_item": ["regar las plantas", "llamar al fontanero"],
                    "message": ["la cena está lista"], "search_query": ["jazz", "flamenco"],
                    "timer_name": ["pizza", "té"]},
        "out_of_domain": [
            "¿Cuál es la capital de Francia?", "Cuéntame un chiste", "¿Qué tal estás hoy?",
            "¿Quién ganó el partido ayer?", "Tengo que comprar un coche nuevo",
            "¿Cómo se hacen las tortitas?", "Mañana vamos a la playa",
            "¿Dónde he dejado las llaves?", "¿Cuánto mide el Everest?",
            "Llama a mi madre"],
    },
    "fr": {
        "kokoro": ["ff_siwis", "ff_siwis:0.7,if_sara:0.3"],
        "espeak": ["fr", "fr-be", "fr+m3"],
        "fillers": {"shopping_list_item": ["du lait", "des œufs", "du pain", "des piles"],
                    "todo_list_item": ["arroser les plantes", "appeler le plombier"],
                    "message": ["le dîner est prêt"], "search_query": ["jazz", "Édith Piaf"],
                    "timer_name": ["pizza", "thé"]},
        "out_of_domain": [
            "Quelle est la capitale de l'Espagne ?", "Raconte-moi une blague",
            "Comment ça va aujourd'hui ?", "Qui a gagné le match hier ?",
            "Je dois acheter une nouvelle voiture", "Comment on fait des crêpes ?",
            "Demain on va à la plage", "Où est-ce que j'ai mis mes clés ?",
            "Quelle est la hauteur de l'Everest ?", "Appelle ma mère"],
    },
    "it": {
        "kokoro": ["if_sara", "im_nicola"],
        "espeak": ["it", "it+m3"],
        "fillers": {"shopping_list_item": ["latte", "uova", "pane"],
                    "todo_list_item": ["annaffiare le piante"], "message": ["la cena è pronta"],
                    "search_query": ["jazz"], "timer_name": ["pizza"]},
        "out_of_domain": ["Qual è la capitale della Spagna?", "Raccontami una barzelletta",
                          "Come stai oggi?", "Chi ha vinto la partita ieri?",
                          "Domani andiamo al mare", "Dove ho messo le chiavi?"],
    },
    "pt": {
        "kokoro": ["pf_dora", "pm_alex", "pm_santa"],
        "espeak": ["pt", "pt-br"],
        "fillers": {"shopping_list_item": ["leite", "ovos", "pão"],
                    "todo_list_item": ["regar as plantas"], "message": ["o jantar está pronto"],
                    "search_query": ["fado"], "timer_name": ["pizza"]},
        "out_of_domain": ["Qual é a capital de Espanha?", "Conta-me uma anedota",
                          "Como estás hoje?", "Quem ganhou o jogo ontem?",
                          "Amanhã vamos à praia", "Onde é que deixei as chaves?"],
    },
}


def template_commands(grammar: Any, home: Any, count: int, seed: int, fillers: Any,
                      rng: random.Random) -> list[dict[str, Any]]:
    """`count` commands sampled from the grammar's templates, intents taken in turn, each with
    a satellite area drawn from the home and the expected intent and slots being the strict
    parse of the true text; texts the strict matcher does not parse back to their intent, that
    do not resolve in the home, or of more than 14 words are left out. Shared by the English
    template workload (benchmarks/understanding.py) and the other languages' sets."""
    from hub.intents.recognize import StrictMatcher
    from hub.intents.sentences import sample_commands
    from hub.intents.targets import resolve

    strict = StrictMatcher(grammar)
    by_intent: dict[str, list[tuple[str, str, Any]]] = {}
    for intent, text in sample_commands(grammar, 3, seed, fillers):
        area = rng.choice(home.areas).id
        match = strict.match(text, home.find_area(area))
        if match is None or match.intent != intent or resolve(match, home).error \
                or len(text.split()) > 14:
            continue
        by_intent.setdefault(intent, []).append((text, area, match))
    for found in by_intent.values():
        rng.shuffle(found)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(items) < count and any(by_intent.values()):
        for intent in sorted(by_intent):
            if by_intent[intent] and len(items) < count:
                text, area, match = by_intent[intent].pop()
                if text.casefold() in seen:
                    continue
                seen.add(text.casefold())
                slots = {k: (float(v) if isinstance(v, (int, float)) else v)
                         for k, v in match.slots.items()}
                items.append({"text": text, "area": area, "intent": match.intent,
                              "slots": slots, "ood": False})
    return items


def build_language_items(language: str, count: int, seed: int,
                         english: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`count` commands sampled from Home Assistant's templates of `language` against that
    language's example home (each with a satellite area, the expected intent and slots being
    the strict parse of the true text, intents taken in turn), and the language's
    out-of-domain speech (at most `count`); voices alternate over the utterances.
    `english` gives the English set (voices, fillers, out-of-domain) of the template workload."""
    from hub.intents.grammar import Grammar
    from hub.intents.home import example_home_path, load_home
    from hub.languages import intents_language

    spec = english if language == "en" else LANGUAGE_SETS[language]
    assert spec is not None, "the English set comes from benchmarks/understanding.py"
    home = load_home(example_home_path(language))
    grammar = Grammar.load(intents_language(language)).with_home(home)
    rng = random.Random(seed)
    items = template_commands(grammar, home, count, seed, spec["fillers"], rng)
    for text in spec["out_of_domain"][:count]:
        items.append({"text": text, "area": rng.choice(home.areas).id, "intent": None,
                      "slots": {}, "ood": True})
    voices = [("kokoro", v) for v in spec["kokoro"]] + [("espeak", v) for v in spec["espeak"]]
    for i, item in enumerate(items):
        item["family"], item["voice"] = voices[i % len(voices)]
        item["language"] = language
    return items
