"""Loading fails fast: each way a model cannot load is one line naming model.path and what to do,
found in seconds, before any data is read; a hub that cannot be reached is never retried."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import huggingface_hub
import pytest
from helpers.scripted_hub import config_file, gated, scripted_hub
from omegaconf import OmegaConf

from unsafe_vlm.backbones.preflight import ModelUnavailableError, check_checkpoint, check_model
from unsafe_vlm.backbones.registry import model_settings
from unsafe_vlm.errors import MissingFileError, UserError
from unsafe_vlm.paths import CONF_DIR, REPO_DIR

REPO = "owner/some-vlm"


@pytest.fixture
def online(monkeypatch, tmp_path):
    """The offline flag unset (the suite's tests run with it set) and an empty hub cache."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _folder(tmp_path: Path, config: dict) -> Path:
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.startswith(("model.path: ", "model.revision: "))
    return message


def test_an_unreachable_hub_is_one_line_within_seconds_without_retries(online):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO, endpoint=endpoint)
    assert time.monotonic() - start < 3
    message = _one_line(error)
    assert f"cannot reach {endpoint}" in message and REPO in message and "connect to the network" in message


def test_an_unreachable_hub_with_the_model_in_the_cache_says_to_load_it_offline(online, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: "/cache/config.json")
    with pytest.raises(ModelUnavailableError, match="it is in the hub cache: set HF_HUB_OFFLINE=1"):
        check_checkpoint(REPO, endpoint=f"http://127.0.0.1:{_closed_port()}")


def test_the_offline_flag_unset_and_the_endpoint_a_closed_port_from_the_environment(tmp_path):
    """The real environment, not patched constants: HF_ENDPOINT read at import, HF_HUB_OFFLINE unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path), PYTHONPATH=str(REPO_DIR))
    script = (
        "import time\nfrom unsafe_vlm.backbones.preflight import check_checkpoint\n"
        "from unsafe_vlm.errors import UserError\n"
        f"start = time.monotonic()\ntry:\n    check_checkpoint({REPO!r})\nexcept UserError as error:\n"
        "    print(error)\nprint(round(time.monotonic() - start, 1))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    message, seconds = done.stdout.strip().splitlines()
    assert message.startswith("model.path: cannot reach http://127.0.0.1:") and REPO in message
    assert float(seconds) < 10 and "Retrying" not in done.stderr  # huggingface_hub retries for 23 s


def test_a_gated_model_without_a_token_is_one_line(online):
    routes = {f"/{REPO}/resolve/main/config.json": gated(REPO)}
    with scripted_hub(routes) as endpoint, pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO, endpoint=endpoint)
    message = _one_line(error)
    assert f"{REPO} is gated: accept its terms at {endpoint}/{REPO}" in message and "HF_TOKEN" in message


def test_a_model_the_hub_does_not_have_is_one_line(online):
    with scripted_hub({}) as endpoint, pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO, endpoint=endpoint)
    assert f"no model {REPO} on {endpoint}" in _one_line(error)


def test_a_revision_the_hub_does_not_have_names_model_revision(online):
    reply = (404, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id: v9"}, b"")
    routes = {f"/{REPO}/resolve/v9/config.json": reply}
    with scripted_hub(routes) as endpoint, pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO, revision="v9", endpoint=endpoint)
    assert _one_line(error).startswith(f"model.revision: {REPO} has no revision 'v9'")


def test_a_hub_failing_on_its_side_is_one_line(online):
    routes = {f"/{REPO}/resolve/main/config.json": (503, {}, b"")}
    with scripted_hub(routes) as endpoint, pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO, endpoint=endpoint)
    assert f"{endpoint} answered 503 for {REPO}" in _one_line(error)


def test_a_reachable_vlm_passes_and_a_text_model_does_not(online):
    routes = {
        f"/{REPO}/resolve/main/config.json": config_file({"model_type": "llava"}),
        "/owner/text-model/resolve/main/config.json": config_file({"model_type": "bert"}),
    }
    with scripted_hub(routes) as endpoint:
        check_checkpoint(REPO, endpoint=endpoint)
        with pytest.raises(ModelUnavailableError) as error:
            check_checkpoint("owner/text-model", endpoint=endpoint)
    assert "is a 'bert' model, which transformers does not load as image-text-to-text" in _one_line(error)


def test_the_offline_flag_with_a_model_not_in_the_cache_is_one_line(online, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(REPO)
    assert "is not in the hub cache" in _one_line(error) and "HF_HUB_OFFLINE is set" in str(error.value)


def test_a_typo_in_a_local_path_names_the_nearest_folder(tmp_path):
    (tmp_path / "llava-1.5-7b").mkdir()
    with pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(str(tmp_path / "llava-1.5-7B"))
    assert "no folder" in _one_line(error) and "did you mean 'llava-1.5-7b'?" in str(error.value)
    with pytest.raises(ModelUnavailableError, match="nor its parent"):
        check_checkpoint(str(tmp_path / "missing" / "llava"))


def test_a_relative_path_under_a_local_folder_is_not_taken_for_a_hub_id(tmp_path, monkeypatch):
    (tmp_path / "checkpoints" / "llava").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailableError, match="did you mean 'llava'"):
        check_checkpoint("checkpoints/lava")


def test_an_architecture_transformers_does_not_know_is_one_line(tmp_path):
    folder = _folder(tmp_path, {"model_type": "llava_nxt"})
    with pytest.raises(ModelUnavailableError) as error:
        check_checkpoint(str(folder))
    message = _one_line(error)
    assert "'llava_nxt' model, an architecture transformers" in message and "did you mean 'llava_next'?" in message


def test_a_checkpoint_with_its_own_code_needs_trust_remote_code(tmp_path):
    folder = _folder(tmp_path, {"model_type": "my_vlm", "auto_map": {"AutoConfig": "configuration.MyConfig"}})
    with pytest.raises(ModelUnavailableError, match="set model.trust_remote_code=true if you trust it"):
        check_checkpoint(str(folder))
    check_checkpoint(str(folder), trust_remote_code=True)


def test_a_local_folder_without_weights_is_the_folder_check(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(MissingFileError, match="no \\*.safetensors"):
        check_checkpoint(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"")
    check_checkpoint(str(tmp_path))


def test_tiny_and_api_models_have_nothing_to_check():
    for name in ("tiny", "tiny_instructblip"):
        check_model(model_settings(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")))
    gpt4o = OmegaConf.load(CONF_DIR / "model" / "gpt4o.yaml")
    del gpt4o["defaults"]
    check_model(model_settings(OmegaConf.merge(OmegaConf.load(CONF_DIR / "model" / "api.yaml"), gpt4o)))


def test_every_error_is_a_user_error():
    assert issubclass(ModelUnavailableError, UserError)
