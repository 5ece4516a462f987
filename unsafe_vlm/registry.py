"""One registry mechanism for everything a config or the command line names: commands, training
methods, backbone families, judges, data sources and tasks.

A ``Registry`` maps names to entries. An entry is either the object itself or a
``"package.module:Name"`` string imported on first use, so that naming a judge does not import
torch models and ``--help`` imports nothing. Every lookup of an unknown name raises the same
one-line ``UnknownChoice``, naming the config key, the nearest registered name and the choices::

    method.name: unknown training method 'ppp'; did you mean 'ppo'? choose one of: sft, dpo, ppo, grpo

An *open* registry also takes an entry that is not registered, written as ``package.module:Name``
(an adapter class of your own, a judge class of your own).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from unsafe_vlm.errors import ConfigValueError

T = TypeVar("T")


class UnknownChoice(ConfigValueError):
    """A name no registry entry has; the message names the key, the nearest name and the choices."""


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` by spelling, if any is close enough to be a likely typo."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the nearest choice, or ``""`` when none is close."""
    close = nearest(word, choices)
    return f"did you mean {close!r}? " if close else ""


def unknown_message(key: str, kind: str, name: object, choices: Iterable[str]) -> str:
    """The one wording of every unknown-name error (``key`` "": a name that no config key holds, a command word)."""
    choices = list(choices)
    where = f"{key}: " if key else ""
    return f"{where}unknown {kind} {name!r}; {did_you_mean(str(name), choices)}choose one of: {', '.join(choices)}"


def load_target(target: str) -> object:
    """The object a ``"package.module:Name"`` string names (``ImportError``/``AttributeError`` if none)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class Registry(Generic[T]):
    """Names and their entries, in registration order (the order choices are listed in).

    kind:  what an entry is, in messages ("training method").
    key:   the config key or argument that names one ("method.name"; "" for the command word).
    open:  a ``package.module:Name`` string that is not registered is loaded as an entry too.
    """

    def __init__(self, kind: str, key: str, entries: dict[str, T | str] | None = None, *, open: bool = False):
        self.kind = kind
        self.key = key
        self.open = open
        self._entries: dict[str, T | str] = {}
        for name, entry in (entries or {}).items():
            self.add(name, entry)

    def add(self, name: str, entry: T | str) -> T | str:
        """Register ``entry`` (an object, or a ``module:Name`` string loaded on first use) under a new name."""
        if name in self._entries:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def unknown(self, name: object) -> UnknownChoice:
        """The error for a name that is not registered."""
        return UnknownChoice(unknown_message(self.key, self.kind, name, self._entries))

    def get(self, name: str) -> T:
        """The entry called ``name``, imported on first use; ``UnknownChoice`` if there is none."""
        if name in self._entries:
            entry = self._entries[name]
            if isinstance(entry, str):
                entry = load_target(entry)
                self._entries[name] = entry
            return entry  # type: ignore[return-value]
        if self.open and isinstance(name, str) and ":" in name:
            try:
                return load_target(name)  # type: ignore[return-value]
            except (ImportError, AttributeError) as error:
                raise UnknownChoice(f"{self.key}: cannot import {name!r}: {error}") from None
        raise self.unknown(name)
