"""A wrong setting given to ``fit`` or ``evaluate`` is one ``error:`` line naming its key, and it
comes before any data is read or weights load; data faults come before weights too.

The CLI runs in-process, as a user calls it, with the data module's and the backbone's
builders replaced by recorders: a check that ran too late would show up in them.
"""

from __future__ import annotations

import sys

import pytest
from helpers.bad_settings import BAD_DATA, BAD_SETTINGS
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf

from unsafe_vlm.cli import main
from unsafe_vlm.commands import parts
from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.sources import build_datamodule, data_settings
from unsafe_vlm.errors import UserError


class Reached(UserError):
    """Raised by a recorder: the run got as far as building this part."""


@pytest.fixture
def recorders(monkeypatch):
    """Replace the data module's and the backbone's builders; return what was asked for."""
    asked: list[str] = []

    def data(settings):
        asked.append("data")
        raise Reached("the data module was built")

    def backbone(settings):
        asked.append("backbone")
        raise Reached("the backbone was built")

    monkeypatch.setattr(parts, "build_datamodule", data)
    monkeypatch.setattr(parts, "build_backbone", backbone)
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    return asked


def run_in_process(args: list[str], tmp_path, capsys, *, cache: bool = True) -> list[str]:
    """The CLI's lines on stderr; it must have exited with code 2."""
    where = [f"hydra.run.dir={tmp_path / 'run'}", *([f"data.cache_dir={tmp_path / 'cache'}"] if cache else [])]
    with pytest.raises(SystemExit) as exited:
        main([*args, *where])
    assert exited.value.code == 2
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize(("command", "overrides", "message"), BAD_SETTINGS)
def test_a_bad_setting_is_one_line_naming_its_key_before_data_or_weights(
    command, overrides, message, recorders, tmp_path, capsys
):
    lines = run_in_process([command, *overrides], tmp_path, capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {message}"), lines[0]
    assert recorders == []
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_good_settings_get_through_to_the_data_first(command, recorders, tmp_path, capsys):
    """The control of the test above: with nothing wrong the run reaches the recorders, data first."""
    method = ["+method=ppo"] if command == "fit" else []
    lines = run_in_process([command, *method, "model=tiny"], tmp_path, capsys)
    assert lines == ["error: the data module was built"]
    assert recorders == ["data"]


def test_a_data_fault_is_reported_before_the_backbone_is_built(monkeypatch, tmp_path, capsys):
    asked: list[str] = []
    monkeypatch.setattr(parts, "build_backbone", lambda settings: asked.append("backbone"))
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    missing = tmp_path / "no-such-benchmark"
    lines = run_in_process(["fit", "+method=sft", "data=unsafe_concepts", f"data.root={missing}"], tmp_path, capsys)
    assert len(lines) == 1 and lines[0].startswith("error:") and str(missing) in lines[0], lines
    assert asked == []


@pytest.mark.parametrize(
    ("command", "fault"), [("fit", "data=mme is for evaluation only"), ("evaluate", "file not found")]
)
def test_the_data_stage_of_the_command_is_read_before_the_backbone(command, fault, monkeypatch, tmp_path, capsys):
    asked: list[str] = []
    monkeypatch.setattr(parts, "build_backbone", lambda settings: asked.append("backbone"))
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    method = ["+method=sft"] if command == "fit" else []
    args = [command, *method, "data=mme", f"data.path={tmp_path / 'MME.tsv'}"]
    lines = run_in_process(args, tmp_path, capsys, cache=False)
    assert len(lines) == 1 and fault in lines[0], lines
    assert asked == []


def test_lightning_calling_setup_again_finds_the_records_built_before(tmp_path):
    cfg = check_overrides("fit", ["+method=sft", "model=tiny", "data.limit_per_task=4", f"data.cache_dir={tmp_path}"])
    datamodule = build_datamodule(data_settings(OmegaConf.to_container(cfg.data, resolve=True)))
    datamodule.prepare_data()
    datamodule.setup("fit")
    test_records = datamodule.records("alignment_test")
    datamodule.setup("predict")
    datamodule.setup("fit")
    assert datamodule.records("alignment_test") is test_records
    assert datamodule.records("perception") is datamodule.records("perception")


def test_the_subprocess_cli_prints_the_same_single_line():
    result = run_cli("fit", "+method=ppo", "model=tiny", "method.lr=abc")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: method.lr: 'abc' is not a number"]




@pytest.mark.parametrize(("command", "overrides", "message"), BAD_DATA)
def test_a_bad_data_setting_is_one_line_naming_its_key_before_any_file_or_weights(
    command, overrides, message, monkeypatch, tmp_path, capsys
):
    asked: list[str] = []
    monkeypatch.setattr(parts, "build_backbone", lambda settings: asked.append("backbone"))
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    benchmark = not any(o.startswith("data=") for o in overrides)
    lines = run_in_process([command, *overrides], tmp_path, capsys, cache=benchmark)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {message}"), lines[0]
    assert asked == []
    assert not (tmp_path / "cache").exists()  # the synthetic set was not even generated
