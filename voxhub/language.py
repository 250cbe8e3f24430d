"""Language tags as Home Assistant, automations and the models write them, read as one.

Home Assistant writes BCP 47 (`en-US`), its users and automations write `en`, `en_US` or
`en-us`, Kokoro's voices are tagged `en_US` and Whisper wants `en`. Every place in voxhub that
reads a language goes through `normalize`, so all of these reach the same voices and the same
recognizer. Home Assistant's integrations compare the tags a service advertises with the one
they were given as plain strings (`language not in supported_languages`), so what the hub
advertises lists each language in every spelling that is in use (`spellings`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEPARATOR = re.compile(r"[-_]")

#: Regions Home Assistant's users commonly pick for a language (its pipeline and `/api/stt`
#: pass them on as `en-US`, `fr-CA`…), advertised next to the bare language by recognizers
#: that only know `en`, `fr`…
COMMON_REGIONS = {
    "de": ("DE", "AT", "CH"),
    "en": ("US", "GB", "AU", "CA", "IE", "IN", "NZ"),
    "es": ("ES", "MX", "US"),
    "fr": ("FR", "CA", "BE", "CH"),
    "hi": ("IN",),
    "it": ("IT",),
    "ja": ("JP",),
    "nl": ("NL", "BE"),
    "pt": ("BR", "PT"),
    "zh": ("CN", "TW", "HK"),
}


def normalize(tag: str) -> str:
    """'en-us', 'EN_US', 'en-US' → 'en_US'; 'en' → 'en'; a script stays title-cased
    ('zh-hant' → 'zh_Hant'). Raises ValueError for text that is no language tag."""
    parts = [p for p in _SEPARATOR.split(str(tag).strip()) if p]
    if not parts or not parts[0].isalpha() or not 2 <= len(parts[0]) <= 3:
        raise ValueError(f"'{tag}' is not a language tag (such as en, en-US or en_US)")
    rest = []
    for part in parts[1:]:
        if not part.isalnum():
            raise ValueError(f"'{tag}' is not a language tag (such as en, en-US or en_US)")
        if len(part) == 4 and part.isalpha():
            rest.append(part.title())  # a script: Hant, Latn
        elif part.isalpha():
            rest.append(part.upper())  # a region: US, GB
        else:
            rest.append(part)  # 419
    return "_".join([parts[0].lower(), *rest])


def base(tag: str) -> str:
    """The language without its region: 'en-US' → 'en' (what Whisper and the intents take)."""
    return normalize(tag).split("_", 1)[0]


def region(tag: str) -> str | None:
    parts = normalize(tag).split("_")
    return parts[1] if len(parts) > 1 else None


def spellings(tag: str) -> list[str]:
    """The spellings of one tag that clients send: 'en_US' → ['en_US', 'en-US', 'en-us']."""
    tag = normalize(tag)
    if "_" not in tag:
        return [tag]
    return [tag, tag.replace("_", "-"), tag.replace("_", "-").lower()]


def advertised(tags: Iterable[str], with_bare: bool = True) -> list[str]:
    """Every spelling of each tag, in the order given, each once; with each bare language
    ('en') after its first dialect, so that a client asking for `en` is answered too."""
    result: list[str] = []
    for tag in tags:
        forms = spellings(tag)
        if with_bare:
            forms.append(base(tag))
        result.extend(f for f in forms if f not in result)
    return result


def with_common_regions(codes: Iterable[str]) -> list[str]:
    """Bare codes ('en') followed by their common regions ('en_US', 'en_GB'…)."""
    tags: list[str] = []
    for code in codes:
        tags.append(code)
        tags.extend(f"{base(code)}_{r}" for r in COMMON_REGIONS.get(base(code), ()))
    return tags


def matches(wanted: str, tag: str) -> bool:
    """Does a voice or model tagged `tag` serve a request for `wanted`? 'en' is served by any
    English; 'en-GB' only by British English (or by a tag without region)."""
    wanted, tag = normalize(wanted), normalize(tag)
    if base(wanted) != base(tag):
        return False
    return region(wanted) is None or region(tag) is None or region(wanted) == region(tag)


def best(wanted: str, tags: Iterable[str], preferred: str | None = None) -> str | None:
    """The tag that best serves `wanted`: `preferred` (the configured default) when it
    matches, else the same region, else the same language; None when nothing matches."""
    tags = list(tags)
    if preferred is not None and preferred in tags and matches(wanted, preferred):
        return preferred
    exact = [t for t in tags if normalize(t) == normalize(wanted)]
    if exact:
        return exact[0]
    close = [t for t in tags if matches(wanted, t)]
    return close[0] if close else None
