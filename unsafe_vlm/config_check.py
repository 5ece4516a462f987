"""Compose a command's config before Hydra runs, so a wrong override is one clear line.

Hydra's own messages span several lines and hide the valid choices; here each failure
becomes a ``ConfigError`` naming the override and listing what would have been valid.
Sweeps (``-m model=a,b``) are checked one value at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.methods.registry import TRAINING_METHODS
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.registry import did_you_mean

_PREFIXES = {"ADD": "+", "FORCE_ADD": "++", "DEL": "~", "CHANGE": ""}
_MULTIRUN_FLAGS = ("-m", "--multirun")


class ConfigError(ValueError):
    """An override that does not fit the configs under ``conf/``."""


def group_options(group: str) -> list[str]:
    """The choices of a config group: ``model`` -> ['tiny', ...]."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def config_groups() -> list[str]:
    return sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir())




def plain_method_override(command: str, args: Sequence[str]) -> list[str]:
    """``fit``'s ``+method=NAME`` as ``method=NAME``: the two mean the same.

    fit's defaults list holds ``method: null`` so that a model's tuning file
    (``optional tuning: ${model}_${method}``) can come after the method and override it; Hydra
    calls an appended ``+method=`` a second value for that slot, and always merges an append
    after everything in the list, tuning included. The suite has always said ``+method=ppo``.
    """
    if command != "fit":
        return list(args)
    return [a[1:] if a.startswith("+method=") else a for a in args]


def check_overrides(command: str, args: Sequence[str]) -> DictConfig | None:
    """Raise ``ConfigError`` if the overrides do not compose; return the config (first sweep point).

    Hydra flags other than ``-m`` (``--cfg``, ``--info``, ...) are left for Hydra to handle.
    """
    args = plain_method_override(command, args)
    flags = [a for a in args if a.startswith("-") and a not in _MULTIRUN_FLAGS]
    if flags:
        return None
    overrides = [a for a in args if a not in _MULTIRUN_FLAGS]
    composed = None
    for point in _sweep_points(overrides):
        cfg = _compose(command, point)
        composed = composed if composed is not None else cfg
    _check_added_names(overrides, composed)
    if command == "fit" and "method" not in composed:
        raise ConfigError(f"fit needs a method: add +method=NAME, one of: {', '.join(sorted(TRAINING_METHODS))}")
    if command == "evaluate" and "method" in composed:
        raise ConfigError(_no_method_in_evaluate())
    return composed


def _no_method_in_evaluate() -> str:
    # imported when needed: commands.checks imports every settings class, with torch and Lightning
    from unsafe_vlm.commands.checks import NO_METHOD_IN_EVALUATE

    return NO_METHOD_IN_EVALUATE


def check_model_loads(command: str, cfg: DictConfig) -> None:
    """The checkpoint ``model.path`` names, checked (``backbones/preflight.py``) before Hydra starts
    and the command imports torch, Lightning and transformers: with no network, or a typo in the
    path, the command ends in seconds. Values of the wrong type are left to the settings check."""
    from unsafe_vlm.api.settings import API_FAMILY
    from unsafe_vlm.backbones.preflight import check_checkpoint

    model = cfg.get("model") if command in MODEL_COMMANDS else None
    if not isinstance(model, DictConfig) or model.get("family") == API_FAMILY:
        return
    path, revision, trust = model.get("path"), model.get("revision"), model.get("trust_remote_code")
    if isinstance(path, str) and path and isinstance(revision, str | None) and isinstance(trust, bool):
        check_checkpoint(path, revision=revision, trust_remote_code=trust)


MODEL_COMMANDS = ("fit", "evaluate", "serve")
"""The commands that load ``model``."""


def check_launcher(cfg: DictConfig) -> None:
    """Refuse, in one line, a sweep whose submitit jobs would start Lightning's DDP in a way that cannot work.

    Lightning starts DDP's other processes by re-running the command line, which in a submitit job is
    submitit's own; under SLURM it starts none and takes one SLURM task per device instead.
    """
    target = str(OmegaConf.select(cfg, "hydra.launcher._target_", default="") or "")
    devices = OmegaConf.select(cfg, "trainer.devices", default=None)
    count = len(devices) if isinstance(devices, (list, tuple)) or OmegaConf.is_list(devices) else devices
    if not isinstance(count, int) or count <= 1:
        return
    if target.endswith("submitit_launcher.LocalLauncher"):
        raise ConfigError(
            f"trainer.devices={devices} cannot run under hydra/launcher=submitit_local: Lightning would start the "
            "other DDP processes by re-running the job's command line, which is submitit's; sweep DDP runs with "
            "hydra/launcher=slurm, or without a launcher"
        )
    tasks = OmegaConf.select(cfg, "hydra.launcher.tasks_per_node", default=None)
    if target.endswith("submitit_launcher.SlurmLauncher") and tasks != count:
        raise ConfigError(
            f"hydra.launcher.tasks_per_node={tasks} but trainer.devices={devices}: under SLURM Lightning runs one "
            f"task per device; set hydra.launcher.tasks_per_node={count} hydra.launcher.gpus_per_node={count} "
            "(hydra/launcher=slurm follows trainer.devices)"
        )


def _compose(command: str, overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=command, overrides=overrides, return_hydra_config=True)
    except MissingConfigException as error:
        raise ConfigError(_missing_option_message(error)) from None
    except ConfigCompositionException as error:
        raise ConfigError(_composition_message(command, overrides, error)) from None
    finally:
        GlobalHydra.instance().clear()


def _missing_option_message(error: MissingConfigException) -> str:
    missing = error.missing_cfg_file or ""
    group, _, option = missing.rpartition("/")
    if group == "hydra/launcher" and option.startswith("submitit_"):  # also what hydra/launcher=slurm builds on
        return (
            f"hydra/launcher {option!r} comes with Hydra's submitit launcher, which is not installed: "
            'pip install -e ".[cluster]" (or pip install hydra-submitit-launcher)'
        )
    if group:
        options = list(error.options or group_options(group))
        return f"unknown {group} {option!r}; {did_you_mean(option, options)}choose one of: {', '.join(options)}"
    return str(error).splitlines()[0]


def _check_added_names(overrides: list[str], composed: DictConfig) -> None:
    """Refuse ``+name=...`` at the top level unless ``name`` is a config group: nothing reads any other
    name there, so it is a typo (``+jugde=rule``, ``+methd=ppo``)."""
    groups = config_groups()
    for override in overrides:
        name = override.lstrip("+").split("=", 1)[0]
        if override.startswith("+") and "=" in override and "." not in name and "/" not in name and name not in groups:
            keys = sorted({*(str(k) for k in composed if k != name), *groups} - {"hydra"})
            raise ConfigError(
                f"unknown key {name!r}: the top level has no {name!r}; {did_you_mean(name, keys)}"
                f"its keys and config groups are: {', '.join(keys)}"
            )


def _composition_message(command: str, overrides: list[str], error: ConfigCompositionException) -> str:
    text = str(error)
    deleted = re.search(r"Could not delete from config. '([^']+)' does not exist", text)
    if deleted is not None:
        return _unknown_deletion(command, overrides, deleted.group(1))
    key_match = re.search(r"Could not override '([^']+)'", text)
    if key_match is None:
        return text.splitlines()[0]
    key = key_match.group(1)
    if command == "evaluate" and key.split(".")[0] == "method":
        return _no_method_in_evaluate()
    if key.split(".")[0] == "evaluation":
        return f"unknown key {key!r}: the evaluation's generation settings are generation.* now"
    if key in config_groups():
        return f"config group {key!r} is not in {command}'s defaults; add it with +{key}=NAME"
    parent, _, leaf = key.rpartition(".")
    rest = [o for o in overrides if not o.lstrip("+~").startswith(key + "=")]
    try:
        base = _compose(command, rest)
        node = OmegaConf.select(base, parent) if parent else base
    except ConfigError:
        base = node = None
    alias = _interpolation(base, parent) if node is not None else None
    if alias is not None:
        target = alias.strip("${}")
        return f"cannot override {key!r}: '{parent}' is {alias} in {command}, so override {target}.{leaf} instead"
    if isinstance(node, DictConfig):
        keys = sorted(str(k) for k in node if k != "hydra")
        where = f"'{parent}'" if parent else "the top level"
        hint = did_you_mean(leaf, keys)
        add = "" if hint else f" (use +{key}=... to add one)"
        return f"unknown key {key!r}: {where} has no {leaf!r}; {hint}its keys are: {', '.join(keys)}{add}"
    missing = _first_missing(base, key) if base is not None and node is None else None
    if missing is not None:
        where, name, keys = missing
        hint = did_you_mean(name, keys)
        return f"unknown key {key!r}: {where} has no {name!r}; {hint}its keys are: {', '.join(keys)}"
    return f"unknown key {key!r} (use +{key}=... to add one)"


def _unknown_deletion(command: str, overrides: list[str], key: str) -> str:
    rest = [o for o in overrides if o.split("=", 1)[0] != f"~{key}"]
    try:
        missing = _first_missing(_compose(command, rest), key)
    except ConfigError:
        missing = None
    if missing is None:
        return f"cannot delete {key!r}: the config has no such key"
    where, name, keys = missing
    return f"cannot delete {key!r}: {where} has no {name!r}; {did_you_mean(name, keys)}its keys are: {', '.join(keys)}"


def _first_missing(cfg: DictConfig, key: str) -> tuple[str, str, list[str]] | None:
    """Where a dotted key leaves the config: (the node it left, named for a reader; the first name
    that node lacks; its keys), or None when the key leaves it below a value that is not a node."""
    node, path = cfg, []
    for name in key.split("."):
        if not isinstance(node, DictConfig):
            return None
        if name not in node:
            where = f"'{'.'.join(path)}'" if path else "the top level"
            return where, name, sorted(str(k) for k in node if k != "hydra")
        node, path = node[name], [*path, name]
    return None


def _interpolation(cfg: DictConfig, path: str) -> str | None:
    """The raw ``${...}`` text of the node at ``path`` if it is an interpolation, else None."""
    if not path:
        return None
    parent_path, _, name = path.rpartition(".")
    container = OmegaConf.select(cfg, parent_path) if parent_path else cfg
    if isinstance(container, DictConfig) and OmegaConf.is_interpolation(container, name):
        return str(container._get_node(name)._value())
    return None


def _sweep_points(overrides: list[str]) -> Iterator[list[str]]:
    """The overrides with every sweep at its first value, then each other value one at a time."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(f"cannot parse the overrides {' '.join(overrides)!r}: {first_line}") from None
    first: list[str] = []
    alternatives: list[tuple[int, list[str]]] = []
    for index, override in enumerate(parsed):
        if not override.is_sweep_override():
            first.append(override.input_line)
            continue
        prefix = _PREFIXES.get(override.type.name, "")
        values = [f"{prefix}{override.get_key_element()}={v}" for v in override.sweep_string_iterator()]
        first.append(values[0])
        alternatives.append((index, values[1:]))
    yield first
    for index, values in alternatives:
        for value in values:
            yield first[:index] + [value] + first[index + 1 :]
