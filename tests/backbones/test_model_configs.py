"""The shipped checkpoint configs (conf/model/*.yaml with a hub id): each is a well-formed config of
a model transformers loads as image-text-to-text, listed in the docs' model table, and each fails in
one line within seconds when the hub cannot be reached."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import huggingface_hub
import pytest
from helpers.scripted_hub import config_file, scripted_hub
from omegaconf import OmegaConf

from unsafe_vlm.api.settings import API_FAMILY
from unsafe_vlm.backbones.preflight import check_checkpoint
from unsafe_vlm.backbones.registry import model_settings
from unsafe_vlm.paths import CONF_DIR, REPO_DIR, shipped_or_given

MODELS_PAGE = REPO_DIR / "docs" / "reference" / "models.md"
FAIL_FAST_S = 10  # issue 22: one line within 10 s of the command's start


def _load(name: str):
    return OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")


def _hub_configs() -> list[str]:
    """Configs that name a checkpoint on the hub: not tiny, not behind an API (those name no path, or
    build on api.yaml), not a shipped folder."""
    names = []
    for file in sorted((CONF_DIR / "model").glob("*.yaml")):
        node = _load(file.stem)
        path = node.get("path")
        if node.get("family") == API_FAMILY or not path or Path(shipped_or_given(path)).is_dir():
            continue
        names.append(file.stem)
    return names


def _model_table() -> dict[str, tuple[str, str]]:
    """The docs' table of this year's checkpoints: config -> (hub id, model_type)."""
    rows = {}
    for line in MODELS_PAGE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[5].strip("`"))
    return rows


HUB_CONFIGS = _hub_configs()
AUTO_CONFIGS = [n for n in HUB_CONFIGS if _load(n).family == "auto"]


def test_there_are_configs_for_at_least_eight_of_this_years_checkpoints():
    assert len(AUTO_CONFIGS) >= 8, AUTO_CONFIGS
    assert set(AUTO_CONFIGS) == set(_model_table()), "every family: auto config has a row in docs/reference/models.md"


@pytest.mark.parametrize("name", HUB_CONFIGS)
def test_a_checkpoint_config_names_itself_and_its_command_and_parses(name):
    text = (CONF_DIR / "model" / f"{name}.yaml").read_text()
    assert re.search(rf"python -m unsafe_vlm evaluate model={name}\b", text.splitlines()[0] + text.splitlines()[1])
    node = _load(name)
    assert node.name == name and node.tiny is None
    model = model_settings(node)
    assert model.path == node.path and model.adapter is None
    huggingface_hub.utils.validate_repo_id(model.path)  # a hub id, not a local folder


@pytest.mark.parametrize("name", AUTO_CONFIGS)
def test_a_new_checkpoint_config_is_bfloat16_generic_and_runs_no_checkpoint_code(name):
    node = _load(name)
    assert node.family == "auto" and node.dtype == "bfloat16"
    assert node.trust_remote_code is False, "say in the config why a checkpoint's own code is needed"
    assert node.lora.target_modules is None, "the generic family finds the language model's layers"
    comment = "\n".join(line for line in (CONF_DIR / "model" / f"{name}.yaml").read_text().splitlines()[:4])
    assert re.search(r"[Ll]icen[cs]e", comment), "the header names the licence (or says it was not read)"


@pytest.mark.parametrize("name", AUTO_CONFIGS)
def test_the_docs_table_names_the_configs_hub_id_and_an_image_text_to_text_model_type(name, monkeypatch, tmp_path):
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    hub_id, model_type = _model_table()[name]
    assert hub_id == _load(name).path
    assert model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES, f"{name}: {model_type}"
    cached = huggingface_hub.try_to_load_from_cache(hub_id, "config.json")
    if isinstance(cached, str):  # the real config, where this machine has it
        assert f'"model_type": "{model_type}"' in Path(cached).read_text()
    # the preflight accepts the checkpoint when the hub serves that model_type
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    routes = {f"/{hub_id}/resolve/main/config.json": config_file({"model_type": model_type})}
    with scripted_hub(routes) as endpoint:
        check_checkpoint(hub_id, endpoint=endpoint)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", HUB_CONFIGS)
def test_with_no_network_evaluate_ends_in_one_line_naming_the_model_within_ten_seconds(name, tmp_path):
    """The offline flag unset, the hub a closed local port: the command's whole run, from the
    interpreter's start, is timed."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path / "hf"),
               PYTHONPATH=str(REPO_DIR), OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="0")  # fmt: skip
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "unsafe_vlm", "evaluate", f"model={name}"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    seconds = time.monotonic() - start
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: model.path: cannot reach") and _load(name).path in lines[0]
    assert seconds < FAIL_FAST_S, f"{name}: {seconds:.1f} s"
