"""``python -m unsafe_vlm serve``: starts, answers, and stops on Ctrl-C or SIGTERM as every command does
(the requests under way answered, one line, exit status 128 + the signal)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers.serving import free_port

from unsafe_vlm.commands.serve import serve
from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.errors import UserError


def models(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)], ids=["SIGTERM", "Ctrl-C"]
)
def test_serve_starts_answers_and_stops_on_a_signal(tmp_path, stop):
    port = free_port()
    environment = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    command = [
        sys.executable,
        "-m",
        "unsafe_vlm",
        "serve",
        "model=tiny",
        f"serve.port={port}",
        f"hydra.run.dir={tmp_path}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while (listed := models(url)) is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listed == {"object": "list", "data": [listed["data"][0]]} and listed["data"][0]["id"] == "tiny"
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + stop, err
    how = "interrupted" if stop == signal.SIGINT else "stopped by SIGTERM"
    assert out.splitlines() == [
        f"serving 'tiny' at {url} (OpenAI chat completions; Ctrl-C stops)",
        f"{how}: the requests under way were answered",
    ], out


def test_a_port_in_use_is_one_line_before_the_model_loads():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        cfg = check_overrides("serve", ["model=tiny", f"serve.port={port}"])
        with pytest.raises(UserError) as refused:
            serve(cfg)
    assert str(refused.value) == f"serve.host=127.0.0.1 serve.port={port}: cannot listen there (Address already in use)"


def test_without_the_serve_extra_serve_says_what_to_install(monkeypatch):
    cfg = check_overrides("serve", ["model=tiny"])
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if uvicorn were not installed
    with pytest.raises(UserError, match=r"^serve needs fastapi and uvicorn: pip install 'unsafe-vlm\[serve\]'$"):
        serve(cfg)
