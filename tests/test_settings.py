"""The typed settings mechanism: each kind of wrong value is refused in one message naming the
full key, the value and what is allowed; right values come back typed."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import Any, Literal

import pytest
from omegaconf import OmegaConf

from unsafe_vlm.errors import UserError
from unsafe_vlm.settings import Refused, Settings, SettingsError, limit


@dataclass(frozen=True)
class Inner(Settings):
    r: int = limit(ge=1)
    names: list[str] | None


@dataclass(frozen=True)
class Example(Settings):
    lr: float = limit(gt=0)
    ratio: float = limit(ge=0, le=1)
    steps: int = limit(ge=1)
    sample: bool
    kind: Literal["k1", "k3"]
    revision: str | None
    extra: Any
    inner: Inner

    def check(self) -> None:
        if self.sample and self.ratio == 0:
            raise Refused("ratio", "0 must be > 0 when sample is true")


GOOD = {
    "lr": 1e-3, "ratio": 0.5, "steps": 3, "sample": False, "kind": "k1", "revision": None,
    "extra": {"anything": [1, "a"]}, "inner": {"r": 8, "names": ["q", "v"]},
}  # fmt: skip


def refused(**changes: Any) -> str:
    with pytest.raises(SettingsError) as error:
        Example.from_config(OmegaConf.create({**GOOD, **changes}), "method")
    return str(error.value)


def test_right_values_come_back_typed_and_frozen():
    settings = Example.from_config(OmegaConf.create({**GOOD, "lr": 2}), "method")
    assert settings.lr == 2.0 and isinstance(settings.lr, float)  # an int is a number
    assert settings.inner == Inner(r=8, names=["q", "v"])
    assert settings.extra == {"anything": [1, "a"]}
    assert settings.to_dict()["inner"] == {"r": 8, "names": ["q", "v"]}
    with pytest.raises(FrozenInstanceError):
        settings.lr = 1.0


def test_a_plain_mapping_works_as_well_as_a_config_node():
    assert Example.from_config(GOOD, "method") == Example.from_config(OmegaConf.create(GOOD), "method")


def test_the_error_is_a_user_error_so_the_cli_prints_one_line():
    assert issubclass(SettingsError, UserError)
    assert "\n" not in refused(lr="abc")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": "abc"}, "method.lr: 'abc' is not a number"),
        ({"lr": "1e-3"}, "method.lr: '1e-3' is not a number"),  # text is not a number, even if it reads as one
        ({"lr": float("nan")}, "method.lr: nan is not a finite number"),
        ({"lr": True}, "method.lr: true is not a number"),
        ({"steps": 2.5}, "method.steps: 2.5 is not an integer"),
        ({"steps": True}, "method.steps: true is not an integer"),
        ({"sample": "maybe"}, "method.sample: 'maybe' is not a boolean (true or false)"),
        ({"sample": 1}, "method.sample: 1 is not a boolean (true or false)"),
        ({"sample": "true"}, "method.sample: 'true' is not a boolean (true or false)"),
        ({"kind": "k2"}, "method.kind: 'k2' is not one of: 'k1', 'k3'"),
        ({"revision": 3}, "method.revision: 3 is not a string"),
        ({"steps": None}, "method.steps: null is not allowed; give an integer"),
        ({"inner": {"r": 8, "names": ["q", 4]}}, "method.inner.names[1]: 4 is not a string"),
        ({"inner": "big"}, "method.inner: 'big' is not a mapping of keys to values"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_key_value_and_type(changes, message):
    assert refused(**changes) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": 0}, "method.lr: 0 must be > 0"),
        ({"lr": -0.5}, "method.lr: -0.5 must be > 0"),
        ({"ratio": -0.1}, "method.ratio: -0.1 must be at least 0"),
        ({"ratio": 1.5}, "method.ratio: 1.5 must be at most 1"),
        ({"steps": 0}, "method.steps: 0 must be at least 1"),
        ({"inner": {"r": 0, "names": None}}, "method.inner.r: 0 must be at least 1"),
    ],
)
def test_a_value_out_of_range_is_refused_with_the_range(changes, message):
    assert refused(**changes) == message


def test_range_ends_are_allowed():
    settings = Example.from_config({**GOOD, "ratio": 1, "steps": 1}, "method")
    assert (settings.ratio, settings.steps) == (1.0, 1)
    assert Example.from_config({**GOOD, "ratio": 0}, "method").ratio == 0.0


def test_none_is_taken_only_where_the_type_allows_it():
    settings = Example.from_config({**GOOD, "revision": None, "inner": {"r": 1, "names": None}}, "method")
    assert settings.revision is None and settings.inner.names is None
    assert Example.from_config({**GOOD, "revision": "main"}, "method").revision == "main"


def test_an_unknown_key_is_refused_naming_the_close_one_and_the_valid_keys():
    message = refused(stepz=3)
    assert message.startswith("method.stepz: unknown key; did you mean 'steps'? method has: lr, ratio, steps,")
    assert message.endswith("extra, inner")


def test_a_nested_unknown_key_names_its_full_key():
    assert refused(inner={"r": 1, "names": None, "alpha": 2}).startswith("method.inner.alpha: unknown key;")


def test_a_missing_key_is_refused_since_the_yaml_holds_every_default():
    values = {k: v for k, v in GOOD.items() if k != "kind"}
    with pytest.raises(SettingsError, match=r"^method\.kind: is missing"):
        Example.from_config(values, "method")


def test_partial_ignores_the_keys_others_read_but_still_wants_its_own():
    settings = Example.from_config({**GOOD, "_target_": "lightning.Trainer", "precision": 32}, "trainer", partial=True)
    assert settings.steps == 3
    with pytest.raises(SettingsError, match=r"^trainer\.lr: is missing"):
        Example.from_config({k: v for k, v in GOOD.items() if k != "lr"}, "trainer", partial=True)


def test_a_rule_across_fields_names_the_full_key():
    assert refused(sample=True, ratio=0) == "method.ratio: 0 must be > 0 when sample is true"
    assert Example.from_config({**GOOD, "sample": True, "ratio": 0.1}, "method").sample is True


def test_interpolations_are_resolved_first_and_an_unresolvable_one_names_its_key():
    node = OmegaConf.create({"root": {"lr": 5}, "method": {**GOOD, "lr": "${root.lr}"}})
    assert Example.from_config(node.method, "method").lr == 5.0
    broken = OmegaConf.create({"method": {**GOOD, "lr": "${nowhere}"}})
    with pytest.raises(SettingsError, match=r"^method\.lr: cannot resolve"):
        Example.from_config(broken.method, "method")


def test_a_custom_check_reports_its_own_words():
    @dataclass(frozen=True)
    class Even(Settings):
        n: int = limit(check=lambda n: None if n % 2 == 0 else "is not even")

    assert Even.from_config({"n": 4}, "x").n == 4
    with pytest.raises(SettingsError, match=r"^x\.n: 3 is not even$"):
        Even.from_config({"n": 3}, "x")


def test_with_changes_checks_again():
    settings = Example.from_config(GOOD, "method")
    assert settings.with_changes(steps=5).steps == 5
    with pytest.raises(SettingsError, match=r"^steps: 0 must be at least 1"):
        settings.with_changes(steps=0)


def test_partial_resolves_only_its_own_keys():
    node = OmegaConf.create({**GOOD, "steps": "${n}", "n": 2, "elsewhere": "${hydra:runtime.output_dir}"})
    assert Example.from_config(node, "trainer", partial=True).steps == 2  # the unresolvable key is not read
