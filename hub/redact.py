"""Secrets out of the log, at every level: tokens, passwords in URLs, Authorization headers.

The hub's own code never formats a secret, but libraries do: websockets logs every frame at
debug level (Home Assistant's `auth` message carries the access token), httpx and httpcore log
request headers and URLs with credentials. A filter on the root handlers (which every record
reaches) replaces each registered secret, and anything shaped like a bearer token or a URL's
password, with `***`; the filter is also put on those libraries' loggers, for handlers that
tools attach to them directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
#: Loggers of the client libraries whose debug output can hold credentials.
LIBRARY_LOGGERS = ("websockets", "websockets.client", "httpx", "httpcore", "aiomqtt", "amqtt")
_PATTERNS = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+)[^\s\"',}]+"),
    re.compile(r"(?i)([\"']?(?:access_token|token|password|api_key)[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',}]+"),
    re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@/\s]+(@)"),
)


class SecretFilter(logging.Filter):
    """Rewrites a record's message with every secret masked (the record is kept)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.lastindex
                                                              and m.lastindex > 1 else ""),
                               text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        cleaned = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install(secrets: Iterable[str | None]) -> SecretFilter:
    """Mask `secrets` (and secret-shaped text) in every record the root handlers write."""
    root = logging.getLogger()
    existing = next((f for h in root.handlers for f in h.filters
                     if isinstance(f, SecretFilter)), None)
    secret_filter = existing or SecretFilter()
    for secret in secrets:
        secret_filter.add(secret)
    if existing is None:
        if not root.handlers:
            logging.basicConfig()
        for handler in root.handlers:
            handler.addFilter(secret_filter)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(secret_filter)
    return secret_filter
