"""One list of training methods (``methods/registry.py``): the configs, messages, help and documents
that name the methods all name the same ones, in the registry's order; RLOO is GRPO with settings."""

from __future__ import annotations

import re

import pytest
import yaml

from compare_methods import METHODS
from unsafe_vlm.cli import COMMANDS
from unsafe_vlm.config_check import ConfigError, check_overrides
from unsafe_vlm.methods.base import AlignmentModule
from unsafe_vlm.methods.registry import TRAINING_METHODS, VARIANTS, method_class, missing_method_message
from unsafe_vlm.paths import CONF_DIR, REPO_DIR
from unsafe_vlm.registry import UnknownChoice

# Where a file lists the methods: (file, a pattern whose group is the list as written there).
LISTS = [
    ("conf/fit.yaml", r"choose one with \+method=([\w|]+)"),
    ("unsafe_vlm/methods/__init__.py", r"LightningModules: (.+) over one shared base"),
    ("unsafe_vlm/methods/base.py", r"Base of the (.+) modules"),
    ("unsafe_vlm/methods/base.py", r"name: str  # (.+) \(the module that trains\)"),
    ("README.md", r"closes the\ngap by training \((.+) with a reward"),
    ("docs/getting-started.md", r"# align: \+method=([\w |]+),"),
    ("docs/organism.md", r"which runs `fit \+method=([\w|]+)`"),
    ("docs/organism.md", r"\| score \| before \| (.+) \|\n"),
    ("docs/reference/structure.md", r"EvaluationModule \(evaluation/\) or ([\w/]+) \(methods/\)"),
    ("docs/reference/structure.md", r"the (.+) LightningModules"),
    ("tools/compare_methods.py", r"miniature: (.+) from the same model"),
    ("tools/compare_methods.py", r"markdown table: before / (.+), with the held-out"),
]


def names_in(written: str) -> list[str]:
    """``SFT, DPO, PPO and GRPO`` or ``sft | dpo`` -> ['sft', 'dpo', ...]."""
    parts = re.split(r",\s*(?:and|or)\s+|,\s*|\s+(?:and|or)\s+|\s*[|/]\s*", written.strip())
    return [part.strip("` ").lower() for part in parts if part.strip("` ")]


def assert_the_methods(names: list[str], where: str) -> None:
    assert [n for n in names if n not in VARIANTS] == list(TRAINING_METHODS), where
    for variant in (n for n in names if n in VARIANTS):
        assert VARIANTS[variant][0] in names[: names.index(variant)], f"{where}: {variant} before its method"


def test_every_method_has_its_config_and_its_module_of_the_same_stem():
    configs = {path.stem: yaml.safe_load(path.read_text()) for path in (CONF_DIR / "method").glob("*.yaml")}
    assert sorted(configs) == sorted(TRAINING_METHODS)
    for name, config in configs.items():
        assert config["name"] == name
        assert issubclass(method_class(name), AlignmentModule)
        assert method_class(name).__module__ == f"unsafe_vlm.methods.{name}"


def test_a_variant_is_its_method_with_settings_that_method_has():
    for name, (method, overrides) in VARIANTS.items():
        config = yaml.safe_load((CONF_DIR / "method" / f"{method}.yaml").read_text())
        for override in overrides:
            key, _, _ = override.partition("=")
            assert key.startswith("method.") and key.removeprefix("method.") in config, (name, override)
        assert name not in TRAINING_METHODS
        assert name in (CONF_DIR / "method" / f"{method}.yaml").read_text()


@pytest.mark.parametrize(("file", "pattern"), LISTS, ids=[f"{f}:{p[:24]}" for f, p in LISTS])
def test_every_written_list_of_methods_names_the_registered_ones(file, pattern):
    found = re.findall(pattern, (REPO_DIR / file).read_text())
    assert found, f"{file} no longer has {pattern!r}: update it, and this table"
    for written in found:
        assert_the_methods(names_in(written), f"{file}: {written}")


def test_the_alignment_guide_has_a_row_per_method():
    section = (REPO_DIR / "docs/guides/align.md").read_text().split("## Methods", 1)[1].split("\n\n", 2)[1]
    assert_the_methods(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE), "align.md's ## Methods")


def test_the_messages_and_help_name_every_method():
    assert_the_methods(names_in(re.search(r"\+method=(\S+),", COMMANDS.get("fit").summary)[1]), "fit's help")
    assert_the_methods(names_in(missing_method_message().split(": add ")[1].replace("+method=", "")), "checks")
    with pytest.raises(ConfigError) as refused:
        check_overrides("fit", [])
    assert names_in(str(refused.value).split("one of: ")[1]) == sorted(TRAINING_METHODS)
    with pytest.raises(UnknownChoice) as unknown:
        method_class("ppp")
    example = re.search(r"^\s+(method\.name: unknown .*)$", (REPO_DIR / "unsafe_vlm/registry.py").read_text(), re.M)
    assert example[1] == str(unknown.value)


def test_compare_methods_runs_every_method_and_variant():
    assert list(METHODS) == [*TRAINING_METHODS, *VARIANTS]
    assert METHODS["rloo"] == ["+method=grpo", "method.baseline=rloo", "method.scale_by_std=false"]
