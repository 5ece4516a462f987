"""The round trip, as a user runs it: ``serve`` the tiny model with a trained adapter, evaluate it
through ``model=api`` with the real ``openai`` client, and get the very answers and metrics of an
in-process evaluation of the same model and adapter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers.adapters import tiny, trained_adapter
from helpers.cli_runner import run_cli
from helpers.serving import free_port

DATA = ["data=synthetic", "data.limit_per_task=8", "data.eval_batch_size=4", "generation.max_new_tokens=16",
        "data.tasks=[perception,alignment_image,alignment_text,alignment_test]"]


def started_serve(port: int, run_dir: Path, adapter: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "unsafe_vlm", "serve", "model=tiny", f"model.adapter={adapter}",
               f"serve.port={port}", f"hydra.run.dir={run_dir}"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "HYDRA_FULL_ERROR": "0"})  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("serve did not start in time")


def answers(run_dir: Path) -> dict[str, dict]:
    rows = {}
    for path in (run_dir / "responses").glob("*.jsonl"):
        rows.update({row["id"]: row for row in map(json.loads, path.read_text().splitlines())})
    return rows


@pytest.mark.slow
def test_serve_and_evaluate_through_the_api_give_the_in_process_answers(tmp_path, data_cache):
    adapter = trained_adapter(tiny(), tmp_path / "adapter")
    base, adapted = tiny(), tiny(adapter=str(adapter))
    prompt = base.encode(["Is this image safe?"], [None])
    assert base.generate(prompt, max_new_tokens=8).texts != adapted.generate(prompt, max_new_tokens=8).texts
    cache = f"data.cache_dir={data_cache}"
    local = run_cli(
        "evaluate", "model=tiny", f"model.adapter={adapter}", *DATA, cache, f"hydra.run.dir={tmp_path / 'local'}"
    )
    assert local.returncode == 0, local.stderr[-2000:]

    port = free_port()
    server = started_serve(port, tmp_path / "serve", adapter)
    try:
        remote = run_cli(
            "evaluate", "model=api", f"model.base_url=http://127.0.0.1:{port}/v1", "model.model=tiny",
            "model.concurrency=8", *DATA, cache, f"hydra.run.dir={tmp_path / 'remote'}",
        )  # fmt: skip
        assert remote.returncode == 0, remote.stderr[-2000:]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert server.returncode == 143, server.stderr.read()[-2000:]  # stopped by SIGTERM, as every command

    expected, got = answers(tmp_path / "local"), answers(tmp_path / "remote")
    assert len(expected) == 32 and set(got) == set(expected)
    assert len({row["response"] for row in expected.values()}) > 8, "the answers must tell queries apart"
    for key, row in expected.items():
        assert got[key]["response"] == row["response"], key
        assert got[key]["judged"] == row["judged"], key
    local_metrics = json.loads((tmp_path / "local" / "metrics.json").read_text())
    remote_metrics = json.loads((tmp_path / "remote" / "metrics.json").read_text())
    usage = {key: remote_metrics.pop(key) for key in list(remote_metrics) if key.startswith("api/")}
    assert remote_metrics == local_metrics
    assert usage["api/error_rows"] == 0 and usage["api/rows_without_usage"] == 0
    assert usage["api/completion_tokens"] == sum(row["usage"]["completion_tokens"] for row in got.values()) > 0
    assert usage["api/prompt_tokens"] > 32 * 16, "prompt tokens count the image's tokens and the question's"
