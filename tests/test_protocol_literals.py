"""No event type, error code or voxhub field is written as a string outside voxhub/protocol.

The rule that keeps the hub–satellite protocol in one place: the hub, the satellite and the
shared `voxhub` package name events through `voxhub.protocol` (or wyoming's classes,
`X.is_type(event.type)`) and codes through `ErrorCode`, so that a renamed or a new event is one
edit, and a typo is an import error rather than an event that nobody answers. What counts as a
literal here: a quoted event type with a hyphen (unambiguous: "audio-start", "run-end"), an
event type compared with or looked up among strings, an `Event("…")` built by hand, a program's
`event_types` of strings, a quoted error code or any string given as a `code`, and voxhub's
`run-pipeline` fields (`snd_format`, `endpointing`, `satellite`) read or written by hand.
The benchmarks and the rehearsal harness follow the rule too; only lines that write frames as
raw bytes (floods and malformed frames sent on purpose) are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from voxhub.protocol import ErrorCode, EventType, WyomingType

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("hub", "satellite", "voxhub", "benchmarks", "rehearsal")
PROTOCOL = "voxhub/protocol/"
#: Satellite files still written with literals; converting one removes it from this list (a
#: file listed here that has none left fails the test, so the list only shrinks). The satellite's
#: state machine (satellite/daemon.py, hub_events.py, publisher.py) was converted with it.
SATELLITE_TO_CONVERT: set[str] = set()

_NAMES = {str(t) for t in EventType} | {str(t) for t in WyomingType}
_CODES = {str(c) for c in ErrorCode}
_QUOTED = re.compile(r"""(?<![\w.])["']([a-z]+(?:-[a-z]+)*)["']""")
#: (pattern, why, whether only a quoted event type in the match makes it a literal)
_PATTERNS = [
    (re.compile(r"""(?:\.type|\bkind)\s*(?:==|!=)\s*["'][\w-]+["']"""),
     "compares an event type with a string", True),
    (re.compile(r"""(?:\.type|\bkind)\s+(?:not\s+)?in\s*[({\[][^)}\]]*"""),
     "looks an event type up among strings", True),
    (re.compile(r"""\bEvent\(\s*(?:type\s*=\s*)?["']"""), "builds an Event by hand", False),
    (re.compile(r"""event_types\s*=\s*frozenset\(\s*\{\s*["']"""), "routes by strings", False),
    (re.compile(r"""\bcode\b["']?\s*[:=]\s*(?:str\s*=\s*)?["'][a-z]"""),
     "writes an error code as a string", False),
    (re.compile(r"""send_error\(.*,\s*["'][a-z-]+["']\s*\)"""), "sends an error code string",
     False),
    (re.compile(r"""["'](?:snd_format|endpointing)["']|\.get\(\s*["']satellite["']|"""
                r"""\[\s*["']satellite["']\s*\]"""), "writes a voxhub field by hand", False),
]
_STRINGS = re.compile(r"""["']([\w-]+)["']""")
#: A bytes literal: a frame written as raw bytes on purpose.
_RAW = re.compile(r"""(?<!\w)b["']""")


def _violations(text: str, name: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if _RAW.search(code):
            continue
        where = f"{name}:{number}: {line.strip()[:90]}"
        for match in _QUOTED.finditer(code):
            if "-" in match.group(1) and match.group(1) in _NAMES | _CODES:
                found.append(f"{where}  ('{match.group(1)}')")
        for pattern, why, names_only in _PATTERNS:
            for match in pattern.finditer(code):
                if not names_only or set(_STRINGS.findall(match.group(0))) & _NAMES:
                    found.append(f"{where}  ({why})")
    return found


def _scanned() -> dict[str, str]:
    files = (p for folder in SCANNED for p in sorted((ROOT / folder).rglob("*.py")))
    return {name: p.read_text(encoding="utf-8") for p in files
            if not (name := str(p.relative_to(ROOT))).startswith(PROTOCOL)}


def test_no_event_type_code_or_voxhub_field_is_written_outside_the_protocol_module():
    scanned = _scanned()
    found = [v for name, text in scanned.items() if name not in SATELLITE_TO_CONVERT
             for v in _violations(text, name)]
    assert not found, "write these with voxhub.protocol:\n" + "\n".join(found)
    done = [name for name in sorted(SATELLITE_TO_CONVERT)
            if not _violations(scanned.get(name, ""), name)]
    assert not done, f"no literals left (or gone): remove from SATELLITE_TO_CONVERT: {done}"


def test_the_check_sees_the_literals_it_forbids_and_nothing_else():
    forbidden = ['if event.type == "transcript": pass',
                 'kind in ("voice-stopped", "x")',
                 'Event("run-end", {})',
                 'event_types = frozenset({"synthesize"})',
                 'error = {"code": "no-speech"}',
                 'await conn.send_error("too long", "internal")',
                 'x = "command-lost"',
                 'code: str = "hub-unavailable"',
                 'run.data["snd_format"] = {}',
                 'name = data.get("satellite")']
    flagged = {int(v.split(":")[1]) for v in _violations("\n".join(forbidden), "sample")}
    assert flagged == set(range(1, len(forbidden) + 1))
    allowed = ['if Transcript.is_type(event.type): pass', 'log("no speech heard")',
               'state = "listening"', 'self.mqtt.publish("transcript", text)',
               'await conn.send_error(text, ErrorCode.INTERNAL)',
               '# the hub answers "run-end" last']
    assert not _violations("\n".join(allowed), "sample")
