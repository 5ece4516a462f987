"""The benchmark scripts in tools/ start and describe themselves without TRL or a model (imports are lazy)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from unsafe_vlm.paths import REPO_DIR


@pytest.mark.parametrize(("script", "words"), [
    ("bench_train.py", ["{sft,dpo}", "--rounds", "--model"]),
    ("bench_ppo.py", ["--value-adapter", "--iterations", "--model"]),
    ("bench_eval.py", ["--queries", "--model"]),
])
def test_benchmark_scripts_print_their_help(script, words):
    result = subprocess.run([sys.executable, str(REPO_DIR / "tools" / script), "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert all(word in result.stdout for word in words)
