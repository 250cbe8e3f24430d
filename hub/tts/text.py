"""Text as a home speaks it: normalisation, SSML, and splitting for streaming.

Replies in a home are full of "7:30 pm", "21.5 °C", "45 %" and "$3.20"; Kokoro reads digits and
symbols badly or not at all, so they are spelled out before G2P. Long text is cut at sentence, then
clause, then word boundaries so that every piece stays under the model's token limit, and the first
piece is kept short so that the first audio leaves early.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from xml.etree import ElementTree

from num2words import num2words

ABBREVIATIONS = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "St.": "Street",
    "Ave.": "Avenue", "Rd.": "Road", "Jr.": "Junior", "Sr.": "Senior", "vs.": "versus",
    "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "approx.": "approximately",
    "No.": "number", "min.": "minutes", "hrs.": "hours", "Jan.": "January", "Feb.": "February",
    "Aug.": "August", "Sept.": "September", "Oct.": "October", "Nov.": "November",
    "Dec.": "December", "Mon.": "Monday", "Tue.": "Tuesday", "Wed.": "Wednesday",
    "Thu.": "Thursday", "Fri.": "Friday", "Sat.": "Saturday", "Sun.": "Sunday",
}
UNITS = {
    "kWh": "kilowatt hours", "Wh": "watt hours", "kW": "kilowatts", "W": "watts",
    "km/h": "kilometers per hour", "mph": "miles per hour", "m/s": "meters per second",
    "km": "kilometers", "cm": "centimeters", "mm": "millimeters", "m": "meters",
    "kg": "kilograms", "g": "grams", "lbs": "pounds", "lb": "pounds", "hPa": "hectopascals",
    "ppm": "parts per million", "dB": "decibels", "lx": "lux", "V": "volts", "A": "amps",
    "min": "minutes", "h": "hours", "s": "seconds", "ms": "milliseconds", "L": "liters",
    "ml": "milliliters", "GB": "gigabytes", "MB": "megabytes", "Mbps": "megabits per second",
}
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
              "£": ("pound", "pounds", "penny", "pence")}

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
#: Digit runs longer than any quantity a reply holds (a serial number, a pasted hash, a hostile
#: client's 9000 nines) are read digit by digit: num2words cannot say them, and the number
#: patterns below would each rescan such a run from every position in it, for seconds.
_LONG_NUMBER = re.compile(r"\d[\d,.]{23,}\d")
_AMPM = r"(a\.m\.|p\.m\.|am|pm)(?=\W|$)(\s*(?=(?-i:[A-Z])|$))?"
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*" + _AMPM + ")?", re.IGNORECASE)
_HOUR_AMPM = re.compile(r"\b(\d{1,2})\s*" + _AMPM, re.IGNORECASE)
_TEMP = re.compile(rf"(-?{_NUM})\s*°\s*([CF])?\b")
_PERCENT = re.compile(rf"(-?{_NUM})\s*%")
_CURRENCY = re.compile(rf"([$€£])\s*({_NUM})")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_UNIT = re.compile(rf"(-?{_NUM})\s*({_UNIT_NAMES})(?![\w/])")
_NUMBER = re.compile(rf"(?<![\w.])(-?{_NUM})(?![\w])")
_ABBREV = re.compile(r"(?<!\w)(" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")(?!\w)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")


#: What other languages say for a decimal point, a percent sign, degrees and a time on the
#: clock ({h} hours, {m} minutes; `time_whole` when the minutes are 0). Home Assistant's
#: replies write "Il est 14:05", "21.5 °C" and "40 %" in every language.
SPOKEN: dict[str, dict[str, str]] = {
    "es": {"point": "coma", "percent": "por ciento", "degrees": "grados", "time": "{h} y {m}",
           "time_whole": "{h} en punto"},
    "fr": {"point": "virgule", "percent": "pour cent", "degrees": "degrés",
           "time": "{h} {hours} {m}", "time_whole": "{h} {hours}"},
    "it": {"point": "virgola", "percent": "per cento", "degrees": "gradi", "time": "{h} e {m}",
           "time_whole": "{h}"},
    "pt": {"point": "vírgula", "percent": "por cento", "degrees": "graus", "time": "{h} e {m}",
           "time_whole": "{h} horas"},
}


def _local(text: str, lang: str) -> str:
    """Digits and symbols of a reply in a language other than English, in its own words."""
    spoken = SPOKEN.get(lang[:2])
    words = _num2words_lang(lang)
    if spoken is not None:
        def clock(match: re.Match) -> str:
            hour, minute = int(match.group(1)), int(match.group(2))
            if hour > 23 or minute > 59 or match.group(3):
                return match.group(0)
            h = num2words(hour, lang=words)
            if lang[:2] == "fr":  # une heure, vingt et une heures
                h = re.sub(r"\bun$", "une", h)
            hours = "heure" if hour <= 1 else "heures"
            form = spoken["time_whole"] if minute == 0 else spoken["time"]
            return form.format(h=h, m=num2words(minute, lang=words), hours=hours)

        text = _TIME.sub(clock, text)
        if lang[:2] == "es":  # la hora: "Es la 1 y cuarto" is "Es la una"
            text = re.sub(r"\b([Ll]a) 1\b", r"\1 una", text)
        text = _TEMP.sub(lambda m: f"{m.group(1)} {spoken['degrees']}", text)
        text = _PERCENT.sub(lambda m: f"{m.group(1)} {spoken['percent']}", text)
    point = spoken["point"] if spoken is not None else "point"
    return _NUMBER.sub(lambda m: _words(m.group(1), lang=words, point=point), text)


def _words(value: str, lang: str = "en", point: str = "point") -> str:
    grouped = "," in value
    value = value.replace(",", "")
    negative = value.startswith("-")
    value = value.lstrip("-")
    if "." in value:
        whole, frac = value.split(".", 1)
        spoken = f"{num2words(int(whole or 0), lang=lang)} {point} " + " ".join(
            num2words(int(d), lang=lang) for d in frac)
    else:
        number = int(value)
        if (1100 <= number <= 2099 and len(value) == 4 and not grouped and lang == "en"
                and number % 100 != 0):
            spoken = num2words(number, lang=lang, to="year")
        else:
            spoken = num2words(number, lang=lang)
    return f"minus {spoken}" if negative else spoken


def _time(match: re.Match) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    suffix = _ampm(match.group(3), match.group(4))
    if hour > 23 or minute > 59:
        return match.group(0)
    if minute == 0:
        spoken = f"{_words(str(hour))}" + ("" if suffix else " o'clock")
    elif minute < 10:
        spoken = f"{_words(str(hour))} oh {_words(str(minute))}"
    else:
        spoken = f"{_words(str(hour))} {_words(str(minute))}"
    return spoken + suffix


def _ampm(marker: str | None, sentence_end: str | None) -> str:
    """' A M' / ' P M'; the dot of 'p.m.' also ends a sentence when one follows."""
    if not marker:
        return ""
    spoken = " " + " ".join(marker.replace(".", "").upper())
    if sentence_end is not None:
        spoken += ("." if marker.endswith(".") else "") + sentence_end
    return spoken


def _currency(match: re.Match) -> str:
    one, many, cent, cents = CURRENCIES[match.group(1)]
    amount = match.group(2).replace(",", "")
    whole, _, frac = amount.partition(".")
    units = int(whole or 0)
    parts = []
    if units or not frac:
        parts.append(f"{_words(str(units))} {one if units == 1 else many}")
    if frac:
        sub = int((frac + "0")[:2])
        if sub:
            parts.append(f"{_words(str(sub))} {cent if sub == 1 else cents}")
    return " and ".join(parts)


def _temperature(match: re.Match) -> str:
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(match.group(2) or "", "")
    value = match.group(1)
    return f"{_words(value)} {'degree' if value in ('1', '-1') else 'degrees'}{scale}"


def normalize(text: str, lang: str = "en") -> str:
    """Spell out what a speaker would say for digits, symbols and abbreviations."""
    text = html.unescape(text)
    text = re.sub(r"\s+", " ", text).strip()
    text = _LONG_NUMBER.sub(lambda m: " ".join(c for c in m.group(0) if c.isdigit()), text)
    if not lang.startswith("en"):
        return re.sub(r"\s+", " ", _local(text, lang)).strip()
    text = _ABBREV.sub(lambda m: ABBREVIATIONS[m.group(1)], text)
    text = _TIME.sub(_time, text)
    text = _HOUR_AMPM.sub(lambda m: _words(m.group(1)) + _ampm(m.group(2), m.group(3)), text)
    text = _TEMP.sub(_temperature, text)
    text = _PERCENT.sub(lambda m: f"{_words(m.group(1))} percent", text)
    text = _CURRENCY.sub(_currency, text)
    text = _ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _UNIT.sub(lambda m: f"{_words(m.group(1))} {UNITS[m.group(2)]}", text)
    text = _NUMBER.sub(lambda m: _words(m.group(1)), text)
    text = text.replace("&", " and ").replace("°", " degrees").replace("%", " percent")
    return re.sub(r"\s+", " ", text).strip()


def _num2words_lang(lang: str) -> str:
    return {"pt-br": "pt_BR", "fr-fr": "fr", "en-gb": "en", "en-us": "en"}.get(lang, lang[:2])


@dataclass
class Segment:
    """A piece of text rendered in one inference, then `pause_s` of silence."""

    text: str
    pause_s: float = 0.0


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def split_long(text: str, max_chars: int) -> list[str]:
    """Cut text under `max_chars` at clause boundaries, then between words; nothing lost."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(text):
        if len(clause) <= max_chars:
            pieces.append(clause)
            continue
        current = ""
        for word in clause.split(" "):
            if current and len(current) + 1 + len(word) > max_chars:
                pieces.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        if current:
            pieces.append(current)
    # Merge small neighbours back while they fit, so prosody spans whole clauses.
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) + 1 + len(piece) <= max_chars:
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


#: Words a speaker naturally pauses before: prepositions, conjunctions and the verbs that
#: start a predicate. Particles (on, off, up) are left out: "turned | on the lights" jars.
_PHRASE_STARTS = frozenset({
    "about", "after", "and", "are", "as", "at", "because", "before", "but", "by", "during", "for",
    "from", "if", "in", "into", "is", "near", "of", "or", "since", "so", "than", "then", "to",
    "until", "was", "were", "when", "where", "which", "while", "will", "with", "without"})


def first_phrase(sentence: str, target_chars: int) -> tuple[str, str]:
    """Split off a short opening phrase, for a quick first audio, where a speaker would pause.

    The cut goes at a clause mark, or before a word that opens a phrase ("the garage door | is
    closed", "I added milk | and eggs"), never inside a noun phrase: the two pieces are rendered
    apart, and a cut in the wrong place is heard. The candidate nearest `target_chars` wins; a
    sentence with no such place is cut at a word gap only when it is long.
    """
    if len(sentence) <= target_chars * 1.6:
        return sentence, ""
    words = sentence.split(" ")
    candidates: list[tuple[int, int]] = []  # (rank, words in the head); the tail keeps ≥ 2
    for i in range(1, len(words) - 1):
        head = " ".join(words[:i])
        if len(head) > target_chars * 2:
            break
        if head[-1] in ",;:—–" and len(head) >= 5:
            candidates.append((0, i))
        elif words[i].lower().strip("\"'(") in _PHRASE_STARTS and len(head) >= 8:
            candidates.append((1, i))
    if candidates:
        _, i = min(candidates, key=lambda c: (c[0], abs(len(" ".join(words[:c[1]]))
                                                          - target_chars)))
        return " ".join(words[:i]), " ".join(words[i:])
    if len(sentence) > target_chars * 4:
        head = ""
        for i, word in enumerate(words):
            head = f"{head} {word}".strip()
            if len(head) >= target_chars and i < len(words) - 2:
                return head, " ".join(words[i + 1:])
    return sentence, ""


def segments_for(text: str, max_chars: int = 350, first_chars: int = 0,
                 sentence_pause_s: float = 0.0) -> list[Segment]:
    """Sentences (each under `max_chars`), with the first cut short when `first_chars` is set."""
    result: list[Segment] = []
    for sentence in split_sentences(text):
        for piece in split_long(sentence, max_chars):
            result.append(Segment(piece))
        if result:
            result[-1].pause_s = sentence_pause_s
    if first_chars and result:
        head, tail = first_phrase(result[0].text, first_chars)
        if tail:
            pause = result[0].pause_s
            result[0:1] = [Segment(head), Segment(tail, pause)]
    return result


def grow_pieces(segments: list[Segment], max_chars: int, max_pause_s: float) -> list[Segment]:
    """Merge pieces after the first so each is at most about twice the one before.

    Every inference has a fixed cost, so fewer, longer pieces render faster overall; but a piece
    must render while the previous one plays, or the listener hears a gap. Doubling keeps both:
    at a real-time factor under 0.5 the next piece is always ready in time. Explicit pauses
    (SSML breaks) are never merged across.
    """
    if len(segments) < 3:
        return segments
    result = [segments[0], Segment(segments[1].text, segments[1].pause_s)]
    for segment in segments[2:]:
        last = result[-1]
        budget = min(max_chars, max(2 * len(result[-2].text) + 1, 40))
        if (segment.text and last.text and last.pause_s <= max_pause_s
                and len(last.text) + 1 + len(segment.text) <= budget):
            result[-1] = Segment(f"{last.text} {segment.text}", segment.pause_s)
        else:
            result.append(Segment(segment.text, segment.pause_s))
    return result


#: Longest silence one pause may hold: consecutive `<break time="10s"/>`s add up, and one
#: 5000-second pause would be rendered as a gigabyte of zeros.
MAX_PAUSE_S = 10.0
_BREAK_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7,
                   "x-strong": 1.0}


def parse_ssml(ssml: str) -> list[Segment]:
    """SSML → text segments and pauses: markup is never read aloud, `<break>` becomes silence.

    `<sub alias>` speaks its alias; `<phoneme ph>` becomes misaki's inline `[word](/ph/)`;
    `<say-as>`, `<prosody>`, `<emphasis>`, `<p>`, `<s>` contribute their text.
    """
    source = ssml.strip()
    if not source.startswith("<speak"):
        source = f"<speak>{source}</speak>"
    try:
        root = ElementTree.fromstring(source)
    except ElementTree.ParseError as err:
        raise ValueError(f"invalid SSML: {err}") from err
    try:
        return _ssml_segments(root)
    except RecursionError as err:  # thousands of nested elements fit in tts.max_text_chars
        raise ValueError("invalid SSML: elements nest too deeply") from err


def _ssml_segments(root: ElementTree.Element) -> list[Segment]:
    segments: list[Segment] = [Segment("")]

    def add_text(value: str | None) -> None:
        if value:
            segments[-1].text += value

    def walk(node: ElementTree.Element) -> None:
        tag = node.tag.rsplit("}", 1)[-1]
        if tag == "break":
            segments[-1].pause_s = min(segments[-1].pause_s + _break_seconds(node), MAX_PAUSE_S)
            segments.append(Segment(""))
        elif tag == "sub":
            add_text(node.get("alias") or node.text)
        elif tag == "phoneme" and node.get("ph"):
            add_text(f"[{(node.text or '').strip()}](/{node.get('ph')}/)")
        else:
            add_text(node.text)
            for child in node:
                walk(child)
                add_text(child.tail)
            if tag in ("p", "s"):
                add_text(" ")
                if tag == "p":
                    segments[-1].pause_s = min(segments[-1].pause_s + 0.3, MAX_PAUSE_S)
                    segments.append(Segment(""))
            return
        # text after a leaf element is added by its parent through `tail`

    walk(root)
    cleaned = []
    for seg in segments:
        seg.text = re.sub(r"\s+", " ", seg.text).strip()
        if seg.text or seg.pause_s:
            cleaned.append(seg)
    return cleaned


def _break_seconds(node: ElementTree.Element) -> float:
    time = (node.get("time") or "").strip().lower()
    if not time:
        return _BREAK_STRENGTH.get(node.get("strength", "medium"), 0.4)
    number, scale = (time[:-2], 1000.0) if time.endswith("ms") else (time.rstrip("s"), 1.0)
    try:
        seconds = float(number) / scale
    except ValueError:
        seconds = math.nan
    if not 0.0 <= seconds < math.inf:
        raise ValueError(f"invalid SSML: break time '{time}' is not a duration like 500ms or 2s")
    return min(seconds, MAX_PAUSE_S)
