"""The scripts in tools/ start and describe themselves from any folder: the benchmarks without TRL or a model
(imports are lazy), the organism's builder and comparison with their helpers in tools/organism."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"


@pytest.mark.parametrize(("script", "words"), [
    ("bench_train.py", ["{sft,dpo}", "--rounds", "--model"]),
    ("bench_ppo.py", ["--setups", "--rounds", "--iterations", "--model"]),
    ("bench_value_pass.py", ["--repeats", "--model"]),
    ("bench_eval.py", ["--queries", "--model"]),
    ("bench_grpo_prefill.py", ["--group-size", "--rounds", "--image-size", "--model"]),
    ("bench_serve.py", ["--queries", "--model", "--threads"]),
    ("bench_self_bleu.py", ["--answers", "--nltk-repeats", "--seed"]),
    ("build_organism.py", ["--measure-only", "--steps", "--out"]),
    ("compare_methods.py", ["overrides", "--out", "--methods"]),
    ("memory_estimate.py", ["--model", "--capacity"]),
    ("gpu_check.py", ["--tiny", "--skip", "--out"]),
])
def test_tool_scripts_print_their_help_from_any_folder(script, words, tmp_path):
    result = subprocess.run([sys.executable, str(TOOLS_DIR / script), "--help"],
                            capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path)
    assert all(word in result.stdout for word in words)


@pytest.mark.slow
def test_the_evaluation_bench_finds_the_shared_image_features_answer_as_ours(tmp_path):
    command = [
        sys.executable, str(TOOLS_DIR / "bench_eval.py"), "--queries", "4", "--batch-size", "4", "--repeats", "1",
        "--max-new-tokens", "4", "--tasks", "perception,alignment_image", "--variants", "ours,shared",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| shared |" in result.stdout and "shared and ours identical: yes" in result.stdout
