"""Secrets refused on a command line, for the hub's and the satellite's flags alike.

Every user of the machine reads a process's command line (`ps`, /proc/PID/cmdline), and shells
keep it in their history: a token, an API key or a password given as a flag is given to all of
them. The flags that would take one are refused with where the secret goes instead (a file, the
environment or the --config file), before anything starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from voxhub.configfile import ConfigError

#: Where a URL's password goes instead ({key}: the URL's setting).
URL_PASSWORD_ELSEWHERE = "set {key} in the --config file"


def refuse_secret(key: str, value: Any, source: str, elsewhere: Mapping[str, str],
                  url_instead: str = URL_PASSWORD_ELSEWHERE) -> None:
    """Raise ConfigError when `value`, given on the command line as `source` for the dotted
    setting `key`, is a secret: a setting named in `elsewhere` (its last part: token,
    password…, mapped to where it goes, with {section} and {key} filled in), or a `url` that
    holds a password."""
    section, _, name = key.rpartition(".")
    if value is not None and name in elsewhere:
        instead = elsewhere[name].format(section=section, key=key)
        raise ConfigError(f"{source}: a secret on the command line is visible to every user "
                          f"of this machine (ps); {instead}")
    if name == "url" and isinstance(value, str):
        try:
            password = urlparse(value).password
        except ValueError:
            password = None
        if password:
            instead = url_instead.format(section=section, key=key)
            raise ConfigError(f"{source}: the URL holds a password, and a secret on the command "
                              f"line is visible to every user of this machine (ps); {instead}")


__all__ = ["URL_PASSWORD_ELSEWHERE", "refuse_secret"]
