"""YAML files validated into dataclasses.

Every setting of voxhub lives in a dataclass with its default and its documentation in one place.
This module turns a YAML mapping into such a dataclass and refuses anything it does not
understand, naming the file, the dotted key and what would have been allowed, so that a typo in a
config file fails at start-up instead of being silently ignored.

Constraints are declared on the dataclass fields themselves::

    voice: str = setting("af_heart", "Default voice or blend.")
    speed: float = setting(1.0, "Speaking rate.", minimum=0.5, maximum=2.0)
    backend: str = setting("onnx", "Inference backend.", choices=("onnx", "torch"))
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: A settings dataclass.
T = TypeVar("T", bound="DataclassInstance")

_MISSING = dataclasses.MISSING


class ConfigError(ValueError):
    """A config value that cannot be used; the message names file, key and what is allowed."""


class Derived(str):
    """A default that another setting chooses (the hub's `language` picks the voice, the
    recognizer model…), as opposed to a value somebody wrote.

    Values read from a file or the command line are plain `str`, so the component that
    derives can tell the two apart and change only what nobody chose, however often the
    dataclasses are rebuilt by `override`. Example files show derived keys commented out, so
    that a copied example keeps following the setting they derive from.
    """

    __slots__ = ()


def setting(
    default: Any = _MISSING,
    doc: str = "",
    *,
    choices: Sequence[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    factory: Any = _MISSING,
) -> Any:
    """A dataclass field carrying its documentation and its allowed values."""
    metadata = {"doc": doc, "choices": tuple(choices) if choices else None,
                "minimum": minimum, "maximum": maximum}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        template = default
        return dataclasses.field(default_factory=lambda: dataclasses.replace(template),
                                 metadata=metadata)
    if isinstance(default, type) and dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def read_secret(path: Path, key: str) -> str:
    """A secret (token, API key) from the file a `*_file` setting names, stripped.

    Secrets live in files (or the environment) rather than in the YAML or on a command line,
    where `ps` and shell histories would show them. The error names the setting and the file,
    never the content."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"{key}: cannot read {path}: {err.strerror or err}") from err
    if not secret:
        raise ConfigError(f"{key}: {path} is empty")
    return secret


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with an error that names the file on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config file: {err.strerror or err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings, "
                          f"not {type(data).__name__}")
    return data


def load_file(cls: type[T], path: str | Path | None) -> T:
    """Load ``cls`` from a YAML file; no file means all defaults."""
    if path is None:
        return cls()
    return from_mapping(cls, read_yaml(path), source=str(path))


def from_mapping(cls: type[T], data: Mapping[str, Any], source: str = "<config>",
                 prefix: str = "") -> T:
    """Build the dataclass ``cls`` from a mapping, validating every key and value."""
    if not isinstance(data, Mapping):
        where = prefix or "top level"
        raise ConfigError(f"{source}: {where}: expected a mapping, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{source}: {prefix}{key}: unknown setting{hint}; "
                          f"allowed: {', '.join(sorted(fields))}")
    values = {}
    for name, value in data.items():
        values[name] = _convert(hints[name], value, source, f"{prefix}{name}", fields[name])
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'top level'}: {err}") from err


def set_item(item: str) -> tuple[str, Any]:
    """One `--set KEY=VALUE` of either CLI: the key, and the value read as YAML so that lists
    and numbers can be given (`--set server.programs=[tts]`); an empty value is None."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item}: expected KEY=VALUE")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    return key.strip(), value


def override(obj: T, dotted: str, value: Any, source: str = "command line") -> T:
    """Return a copy of ``obj`` with one dotted setting replaced and validated (CLI flags)."""
    return _override(obj, dotted.split("."), dotted, value, source)


def _override(obj: Any, parts: list[str], dotted: str, value: Any, source: str) -> Any:
    head, rest = parts[0], parts[1:]
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if head not in fields:
        close = difflib.get_close_matches(head, list(fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{source}: {dotted}: unknown setting{hint}")
    if rest:
        inner = _override(getattr(obj, head), rest, dotted, value, source)
        try:  # the outer dataclass checks its sections together (hub: language vs asr.model)
            return dataclasses.replace(obj, **{head: inner})
        except ConfigError:
            raise
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: {dotted}: {err}") from err
    hint = typing.get_type_hints(type(obj))[head]
    converted = _convert(hint, value, source, dotted, fields[head])
    try:  # a dataclass's own check (__post_init__), worded like from_mapping's
        return dataclasses.replace(obj, **{head: converted})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: {dotted}: {err}") from err


def to_mapping(obj: Any) -> Any:
    """The plain-data form of a config dataclass (for printing the effective config)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (Path, Derived)):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, Any]]:
    """(dotted key, documentation, default) for every setting: the one place options are listed."""
    rows: list[tuple[str, str, Any]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = _strip_optional(hints[f.name])
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            rows.extend(describe(hint, f"{prefix}{f.name}."))
            continue
        default = f.default if f.default is not _MISSING else (
            f.default_factory() if f.default_factory is not _MISSING else None)
        rows.append((f"{prefix}{f.name}", f.metadata.get("doc", ""), to_mapping(default)))
    return rows


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "text",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _strip_optional(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _convert(hint: Any, value: Any, source: str, key: str, field: dataclasses.Field | None) -> Any:
    meta = field.metadata if field is not None else {}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for arg in non_none:
            try:
                return _convert(arg, value, source, key, field)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if value is None:
        raise ConfigError(f"{source}: {key}: a value is required")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value):
            return value
        return from_mapping(hint, value, source, f"{key}.")
    if origin in (list, tuple, Sequence):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {key}: expected a list, got {_kind(value)}")
        inner = args[0] if args else Any
        return [_convert(inner, v, source, f"{key}[{i}]", None) for i, v in enumerate(value)]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key}: expected a mapping, got {_kind(value)}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(vt, v, source, f"{key}.{k}", None) for k, v in value.items()}
    if hint is Any:
        return value
    result = _scalar(hint, value, source, key)
    choices = meta.get("choices")
    if choices and result not in choices:
        close = difflib.get_close_matches(str(result), [str(c) for c in choices], n=1)
        hint_text = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{source}: {key}: '{result}' is not allowed{hint_text}; "
                          f"allowed: {', '.join(str(c) for c in choices)}")
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if (lo is not None and result < lo) or (hi is not None and result > hi):
        rng = f"{lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}"
        raise ConfigError(f"{source}: {key}: {result} is out of range; allowed: {rng}")
    return result


def _scalar(hint: Any, value: Any, source: str, key: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no",
                                                       "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ConfigError(f"{source}: {key}: expected true or false, got {_kind(value)}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{source}: {key}: expected an integer, got {_kind(value)}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{source}: {key}: expected an integer, got '{value}'") from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{source}: {key}: expected a number, got {_kind(value)}")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{source}: {key}: expected a number, got '{value}'") from None
    if hint is str:
        if isinstance(value, (dict, list, bool)):
            raise ConfigError(f"{source}: {key}: expected text, got {_kind(value)}")
        return str(value)
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{source}: {key}: expected a path, got {_kind(value)}")
        return Path(value).expanduser()
    return value
