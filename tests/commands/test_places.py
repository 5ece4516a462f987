"""A folder a command must write (run folder, data cache, synth's out) that cannot be created or
written is one line naming its key, before Hydra or anything else starts."""

from __future__ import annotations

import os

import pytest
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf

from unsafe_vlm.commands.places import check_writable
from unsafe_vlm.errors import UserError


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    ("args", "key"),
    [(["evaluate", "hydra.run.dir={file}/run"], "hydra.run.dir"),
     (["fit", "+method=sft", "hydra.run.dir={file}/run"], "hydra.run.dir"),
     (["evaluate", "data.cache_dir={file}/cache", "hydra.run.dir={tmp}/run"], "data.cache_dir"),
     (["synth", "out={file}/set"], "out")],
)  # fmt: skip
def test_a_folder_that_cannot_be_created_is_one_line_naming_its_key(args, key, a_file, tmp_path):
    given = [arg.format(file=a_file, tmp=tmp_path) for arg in args]
    result = run_cli(*given, "model=tiny", cwd=tmp_path) if args[0] != "synth" else run_cli(*given, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}="), lines
    assert f"cannot be created: {a_file} is a file" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written anywhere


def test_an_existing_file_and_a_folder_without_write_access_are_named(a_file, tmp_path, monkeypatch):
    with pytest.raises(UserError, match=f"^out={a_file}: is a file, not a folder"):
        check_writable(OmegaConf.create({"out": str(a_file)}), multirun=False)
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a non-root user would meet it
    with pytest.raises(UserError, match=f"^data.cache_dir={tmp_path}: the folder is not writable"):
        check_writable(OmegaConf.create({"data": {"cache_dir": str(tmp_path)}}), multirun=False)
    with pytest.raises(UserError, match=f"cannot be created: {tmp_path} is not writable"):
        check_writable(OmegaConf.create({"hydra": {"run": {"dir": str(tmp_path / "new")}}}), multirun=False)
    check_writable(OmegaConf.create({"hydra": {"run": {"dir": str(tmp_path / "new")}}}), multirun=True)
