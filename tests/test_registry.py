"""The one registry mechanism: lazy entries, one unknown-name message with a suggestion."""

from __future__ import annotations

import sys

import pytest

from unsafe_vlm.registry import Registry, UnknownChoice, unknown_message


def test_an_unknown_name_is_one_line_naming_the_key_the_nearest_name_and_the_choices():
    registry = Registry("training method", "method.name", {"sft": object(), "dpo": object(), "ppo": object()})
    with pytest.raises(UnknownChoice) as caught:
        registry.get("ppp")
    assert str(caught.value) == (
        "method.name: unknown training method 'ppp'; did you mean 'ppo'? choose one of: sft, dpo, ppo"
    )


def test_a_name_close_to_nothing_gets_no_suggestion():
    assert unknown_message("k", "thing", "zzzzzz", ["alpha", "beta"]) == (
        "k: unknown thing 'zzzzzz'; choose one of: alpha, beta"
    )


def test_a_string_entry_is_imported_only_when_first_asked_for(tmp_path, monkeypatch):
    (tmp_path / "lazy_entry_module.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("thing", "key", {"lazy": "lazy_entry_module:VALUE"})
    assert "lazy_entry_module" not in sys.modules
    assert registry.get("lazy") == 42
    assert "lazy_entry_module" in sys.modules


def test_an_open_registry_loads_an_unregistered_module_path_and_a_closed_one_refuses_it():
    open_registry = Registry("judge", "judge.name", {}, open=True)
    assert open_registry.get("unsafe_vlm.registry:Registry") is Registry
    with pytest.raises(UnknownChoice, match="judge.name: cannot import"):
        open_registry.get("unsafe_vlm.registry:NoSuchThing")
    with pytest.raises(UnknownChoice, match="unknown judge"):
        Registry("judge", "judge.name", {}).get("unsafe_vlm.registry:Registry")


def test_a_name_is_registered_once():
    registry = Registry("task", "data.tasks", {"a": 1})
    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", 2)
    assert registry.names() == ("a",)


def test_a_name_no_config_key_holds_is_named_without_a_key():
    assert unknown_message("", "command", "fitt", ["fit", "evaluate"]) == (
        "unknown command 'fitt'; did you mean 'fit'? choose one of: fit, evaluate"
    )
