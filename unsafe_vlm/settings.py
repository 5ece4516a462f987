"""Settings as one typed object per config node, checked before any work starts.

A settings class is a frozen dataclass deriving from ``Settings``. Each field's annotation is
its type; ``limit(...)`` puts a range (or a check of its own) into the field's metadata. No
field has a default: the YAML under ``conf/`` is the one place defaults are written, so a key
missing from the config is an error, as is a key the class does not know::

    @dataclass(frozen=True)
    class OptimiserSettings(Settings):
        lr: float = limit(gt=0)                  # a number > 0 (ints accepted, stored as float)
        warmup_ratio: float = limit(ge=0, le=1)  # in [0, 1]
        batch_size: int = limit(ge=1)
        reward: Literal["neg_cross_entropy", "gold_probability"]
        revision: str | None

    settings = OptimiserSettings.from_config(cfg.method, "method")

``from_config`` raises one ``SettingsError`` (a ``UserError``: the CLI prints it as one line)
naming the full key, the value and what is allowed::

    method.lr: 'abc' is not a number
    method.batch_size: 0 must be at least 1
    method.do_sample: 'maybe' is not a boolean (true or false)

Types understood: ``bool`` (a real true/false: neither 'maybe' nor 1), ``int`` (not a bool),
``float`` (an int or float, finite), ``str``, ``Literal[...]`` (one of its choices), ``X | None``
and other unions (the first member that fits), ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``,
a nested ``Settings`` class (checked under the longer prefix) and ``Any`` (taken as it is).

Rules across fields go into ``check``, which raises ``Refused(key, message)`` with the key
relative to the node; ``from_config`` adds the prefix. A class that checks only some keys of a
node others read too (the Lightning Trainer's) passes ``partial=True`` and ignores the rest.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from unsafe_vlm.errors import ConfigValueError

S = TypeVar("S", bound="Settings")
Check = Callable[[Any], "str | None"]  # a value -> None if fine, else what is wrong with it ("must be ...")


class SettingsError(ConfigValueError):
    """A config value of the wrong type, out of range, unknown or missing; the message names its key."""


class Refused(Exception):
    """Raised by a check: ``key`` (relative to the node being checked) and what is wrong with its value."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def limit(
    *, gt: float | None = None, ge: float | None = None, lt: float | None = None, le: float | None = None,
    check: Check | None = None,
) -> Any:
    """A required dataclass field with a range (``gt`` >, ``ge`` >=, ``lt`` <, ``le`` <=) and/or a
    ``check`` of its own, applied after the type check (and not to None)."""
    bounds = {name: bound for name, bound in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if bound is not None}
    return dataclasses.field(metadata={"bounds": bounds, "check": check})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of the typed settings classes; see the module docstring."""

    @classmethod
    def from_config(cls: type[S], node: Any, prefix: str, *, partial: bool = False) -> S:
        """Build from an OmegaConf node (interpolations resolved) or a plain mapping.

        ``prefix`` is the node's key in the composed config (``method``), used in messages.
        ``partial``: the node may hold keys this class does not check (they are ignored).
        """
        if partial and isinstance(node, DictConfig):  # resolve only what is checked here
            node = {key: _resolved(node, key, prefix) for key in _field_names(cls) if key in node}
        try:
            return cls._build(_plain(node, prefix), prefix, partial=partial)
        except Refused as refused:
            raise SettingsError(str(refused)) from None

    def check(self) -> None:
        """Rules across fields; raise ``Refused(key, message)``. Runs after every field is checked."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_changes(self: S, **changes: Any) -> S:
        """A copy with some values changed, checked again as ``from_config`` checks."""
        return type(self).from_config({**self.to_dict(), **changes}, "")

    @classmethod
    def _build(cls: type[S], values: Any, prefix: str, *, partial: bool = False) -> S:
        if not isinstance(values, Mapping):
            raise Refused(prefix or "settings", f"{show(values)} is not a mapping of keys to values")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in values if k not in fields)
        if unknown and not partial:
            key = unknown[0]
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            where = prefix or "these settings"
            raise Refused(_join(prefix, key), f"unknown key; {hint}{where} has: {', '.join(fields)}")
        missing = [name for name in fields if name not in values]
        if missing:
            raise Refused(_join(prefix, missing[0]), "is missing (every key needs a value in the config)")
        hints = typing.get_type_hints(cls)
        checked = {name: _field_value(values[name], hints[name], f, _join(prefix, name)) for name, f in fields.items()}
        settings = cls(**checked)
        try:
            settings.check()
        except Refused as refused:
            raise Refused(_join(prefix, refused.key), refused.message) from None
        return settings


# ----- one value ---------------------------------------------------------------------------


def _field_value(value: Any, annotation: Any, field: dataclasses.Field, key: str) -> Any:
    value = _typed(value, annotation, key)
    if value is None:
        return None
    for name, bound in field.metadata.get("bounds", {}).items():
        if not _within(value, name, bound):
            raise Refused(key, f"{show(value)} must be {_BOUND_WORDS[name]} {show(bound)}")
    check = field.metadata.get("check")
    problem = check(value) if check is not None else None
    if problem:
        raise Refused(key, f"{show(value)} {problem}")
    return value


_BOUND_WORDS = {"gt": ">", "ge": "at least", "lt": "<", "le": "at most"}


def _within(value: Any, name: str, bound: float) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return True  # a union member that is not a number (devices: 'auto') has no range
    return {"gt": value > bound, "ge": value >= bound, "lt": value < bound, "le": value <= bound}[name]


def _typed(value: Any, annotation: Any, key: str) -> Any:
    """``value`` as ``annotation`` says (ints become floats for float), or ``Refused``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        return _union(value, args, key)
    if value is None:
        raise Refused(key, f"null is not allowed; give {describe(annotation)}")
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise Refused(key, f"{show(value)} is not one of: {', '.join(str(show(a)) for a in args)}")
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise Refused(key, f"{show(value)} is not a list")
        item = args[0] if args else Any
        items = [_typed(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise Refused(key, f"{show(value)} is not a mapping of keys to values")
        item = args[1] if len(args) == 2 else Any
        return {k: _typed(v, item, f"{key}.{k}") for k, v in value.items()}
    if isinstance(annotation, type) and issubclass(annotation, Settings):
        return annotation._build(value, key)
    return _scalar(value, annotation, key)


def _scalar(value: Any, annotation: type, key: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise Refused(key, f"{show(value)} is not a boolean (true or false)")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise Refused(key, f"{show(value)} is not an integer")
    if annotation is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Refused(key, f"{show(value)} is not a number")
        if not math.isfinite(value):
            raise Refused(key, f"{show(value)} is not a finite number")
        return float(value)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise Refused(key, f"{show(value)} is not a string")
    raise TypeError(f"{key}: settings cannot check values of type {annotation!r}")


def _union(value: Any, members: tuple[Any, ...], key: str) -> Any:
    if value is None:
        if type(None) in members:
            return None
        raise Refused(key, f"null is not allowed; give {describe(Union[members])}")  # noqa: UP007
    candidates = [m for m in members if m is not type(None)]
    if len(candidates) == 1:  # X | None: X's own message
        return _typed(value, candidates[0], key)
    for member in candidates:
        try:
            return _typed(value, member, key)
        except Refused:
            continue
    raise Refused(key, f"{show(value)} is not {describe(Union[members])}")  # noqa: UP007


def describe(annotation: Any) -> str:
    """What a type accepts, in words: ``int | None`` -> 'an integer or null'."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of: " + ", ".join(str(show(a)) for a in args)
    if origin in (list, tuple):
        return f"a list of {_plural(args[0]) if args else 'values'}"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, Settings)):
        return "a mapping of keys to values"
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
    return words.get(annotation, "a value")


def _plural(annotation: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(annotation, "values")


def show(value: Any) -> Any:
    """A value as a message shows it: strings quoted, null, true/false, numbers as written."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if abs(value) >= 1 or value == 0 else repr(value)
    if isinstance(value, str):
        return repr(value)
    return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _relative_key(node: DictConfig | ListConfig, full_key: str) -> str:
    """``method.lr`` of a node at ``method`` -> ``lr`` (OmegaConf names keys from the config's root)."""
    own = node._get_full_key("") if node._get_parent() is not None else ""
    return full_key[len(own) + 1 :] if own and full_key.startswith(own + ".") else full_key


def _resolved(node: DictConfig, key: str, prefix: str) -> Any:
    try:
        return _plain(node[key], _join(prefix, key))
    except OmegaConfBaseException as error:
        raise SettingsError(f"{_join(prefix, key)}: cannot resolve: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _plain(node: Any, prefix: str) -> Any:
    if isinstance(node, DictConfig | ListConfig):
        try:
            return OmegaConf.to_container(node, resolve=True)
        except OmegaConfBaseException as error:
            where = _join(prefix, _relative_key(node, str(getattr(error, "full_key", "") or ""))) or "settings"
            raise SettingsError(f"{where}: cannot resolve: {_first_line(error)}") from None
    return node
