"""A local model folder that cannot be loaded safely says so in one line, before transformers tries."""

from __future__ import annotations

import pytest
from helpers.cli_runner import run_cli

from unsafe_vlm.backbones.llava import LlavaBackbone
from unsafe_vlm.errors import MissingFileError


def test_an_empty_model_folder_is_named(tmp_path):
    with pytest.raises(MissingFileError, match=f"^{tmp_path}: the model folder is empty"):
        LlavaBackbone.from_pretrained(tmp_path)


def test_a_folder_with_only_pickle_weights_is_refused_naming_them(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(MissingFileError, match=r"holds only pickle weights \(pytorch_model.bin\); the suite loads "
                                               "safetensors only"):  # fmt: skip
        LlavaBackbone.from_pretrained(tmp_path)


def test_a_folder_without_weights_or_config_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MissingFileError, match=r"no \*.safetensors weights in the model folder \(it holds notes.txt\)"):
        LlavaBackbone.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(MissingFileError, match="no config.json in the model folder"):
        LlavaBackbone.from_pretrained(tmp_path)


def test_the_cli_gives_one_line(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    result = run_cli("evaluate", f"model.path={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}",
                     f"data.cache_dir={tmp_path / 'cache'}", "data.limit_per_task=2")  # fmt: skip
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "holds only pickle weights (pytorch_model.bin)" in errors[0], result.stderr
