"""The fit runs of a sweep, read from their folders and grouped: one setting per configuration that
differs only in the seed, one front per method.

A run folder holds ``metrics.json`` (after training), perhaps ``metrics_before.json``, and
``.hydra/config.yaml`` (the composed configuration, which is where its settings are read).
Runs compared on one table must have been evaluated alike: the keys of ``EVALUATION_PREFIXES``
(the model, the data, the prompts, the generation and the judge) must agree, except the
training-only data keys of ``TRAINING_DATA_KEYS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, METRICS_FILE, read_metrics

CONFIG_FILE = Path(".hydra") / "config.yaml"
SEED_KEY = "seed"
EVALUATION_PREFIXES = ("model.", "data.", "prompts.", "generation.", "judge.")
TRAINING_DATA_KEYS = ("data.train_replay", "data.train_contexts", "data.train_open_ended", "data.train_format")
IGNORED = ("data.cache_dir", "model.lora.", "trainer.default_root_dir", "ckpt_path", "checkpoint_every",
           "evaluate_before", "evaluate_after", "max_error_share", "logger.", "command")  # fmt: skip


@dataclass(frozen=True)
class SweepRun:
    folder: Path
    settings: dict[str, Any]  # the flat configuration, dotted keys, without the IGNORED ones
    metrics: dict[str, Any]
    before: dict[str, Any] | None

    @property
    def seed(self) -> Any:
        return self.settings.get(SEED_KEY)

    @property
    def method(self) -> str:
        return str(self.settings.get("method.name", "none"))


@dataclass(frozen=True)
class Setting:
    """The runs of one configuration, one per seed."""

    method: str
    swept: dict[str, Any]  # the keys in which the settings of its method differ, and this one's values
    runs: tuple[SweepRun, ...]
    shown: tuple[str, ...] = ()  # the swept keys its label names: where it differs from most of its method

    @property
    def label(self) -> str:
        named = ", ".join(f"{k}={_short(self.swept[k])}" for k in self.shown)
        return named or ("as most others" if self.swept else "defaults")


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Every fit run folder at or below ``paths`` (a run, a sweep folder, a folder of sweeps), sorted;
    other runs found there (an ``evaluate``) are left out."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such folder")
        candidates = [path] if (path / METRICS_FILE).is_file() else []
        candidates += [p.parent for p in path.rglob(METRICS_FILE)]
        found |= {p for p in candidates if (p / CONFIG_FILE).is_file() and _command(p) == "fit"}
    if not found:
        raise UserError(f"no fit run (a metrics.json beside .hydra/config.yaml) under {', '.join(map(str, paths))}")
    return sorted(found)


def read_run(folder: Path) -> SweepRun:
    settings = {k: v for k, v in _flat(_config(folder)).items() if not _ignored(k)}
    before = read_metrics(folder / BEFORE_FILE, missing_ok=True)
    return SweepRun(folder, settings, read_metrics(folder / METRICS_FILE), before)


def group_settings(runs: Sequence[SweepRun]) -> list[Setting]:
    """Runs grouped by their configuration without the seed; refused in one line when they were not
    evaluated alike, or when one setting holds a seed twice."""
    _check_evaluated_alike(runs)
    groups: dict[tuple, list[SweepRun]] = {}
    for run in runs:
        key = tuple(sorted((k, repr(v)) for k, v in run.settings.items() if k != SEED_KEY))
        groups.setdefault(key, []).append(run)
    by_method: dict[str, list[list[SweepRun]]] = {}
    for members in groups.values():
        seeds = [run.seed for run in members]
        twice = next((s for s in seeds if seeds.count(s) > 1), None)
        if twice is not None:
            same = [str(run.folder) for run in members if run.seed == twice]
            raise UserError(f"compare: {same[0]} and {same[1]} are one setting with the same seed {twice}; keep one")
        by_method.setdefault(members[0].method, []).append(sorted(members, key=lambda r: str(r.seed)))
    settings = []
    for method, members_of in sorted(by_method.items()):
        swept = _swept_keys([members[0].settings for members in members_of])
        usual = _majority_values([members[0].settings for members in members_of], swept)
        for members in sorted(members_of, key=lambda m: [repr(m[0].settings.get(k)) for k in swept]):
            values = {k: members[0].settings.get(k) for k in swept}
            shown = tuple(k for k in swept if k not in usual or repr(values[k]) != usual[k])
            settings.append(Setting(method, values, tuple(members), shown))
    return settings


def shared_before(runs: Sequence[SweepRun], before: SweepRun | None) -> Mapping[str, Any] | None:
    """The evaluation before training: the one given, or the first fit run's ``metrics_before.json``."""
    if before is not None:
        _check_evaluated_alike([*runs, before])
        return before.metrics
    return next((run.before for run in runs if run.before is not None), None)


def read_before(folder: Path) -> SweepRun:
    """A run that evaluated the model before training: an ``evaluate`` run, or a fit run's before."""
    if not (folder / CONFIG_FILE).is_file():
        raise UserError(f"--before {folder}: not a run folder (no {CONFIG_FILE})")
    run = read_run(folder)
    if (folder / BEFORE_FILE).is_file():
        return SweepRun(folder, run.settings, run.before or {}, None)
    return run


def _config(folder: Path) -> dict[str, Any]:
    """The run's composed configuration as Hydra saved it (interpolations left as written)."""
    path = folder / CONFIG_FILE
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: expected the run's configuration, a mapping")
    return config


def _command(folder: Path) -> str | None:
    return _config(folder).get("command")


def _check_evaluated_alike(runs: Sequence[SweepRun]) -> None:
    first = runs[0]
    for run in runs[1:]:
        for key in sorted({*first.settings, *run.settings}):
            if not key.startswith(EVALUATION_PREFIXES) or key.startswith(TRAINING_DATA_KEYS):
                continue
            if key in first.settings and key in run.settings and first.settings[key] != run.settings[key]:
                raise UserError(
                    f"compare: {run.folder} differs from {first.folder} in {key} ({_short(run.settings[key])} vs "
                    f"{_short(first.settings[key])}); runs on one table must be evaluated alike (model, data, prompts, "
                    "generation, judge): only training settings and the seed may differ"
                )


def _swept_keys(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = sorted({k for s in settings for k in s} - {SEED_KEY})
    return [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]


def _majority_values(settings: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, str]:
    """The value (as its repr) most settings share, for each key that has one held by more than half."""
    usual = {}
    for key in keys:
        values = [repr(s.get(key)) for s in settings]
        top = max(set(values), key=values.count)
        if values.count(top) * 2 > len(values):
            usual[key] = top
    return usual


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def _ignored(key: str) -> bool:
    return key.startswith("hydra") or any(key == i or (i.endswith(".") and key.startswith(i)) for i in IGNORED)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
