"""Small fake fit run folders, as a sweep leaves them: ``.hydra/config.yaml``, ``metrics.json`` and
(optionally) ``metrics_before.json``, with made-up scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

BASE_CONFIG = {
    "command": "fit",
    "seed": 0,
    "model": {"name": "organism", "lora": {"r": 8}},
    "data": {"name": "synthetic", "limit_per_task": None, "cache_dir": "/somewhere", "train_replay": []},
    "generation": {"max_new_tokens": 48},
    "judge": {"name": "rule"},
    "trainer": {"max_epochs": 2, "default_root_dir": "${hydra:runtime.output_dir}"},
}


def fake_run(
    folder: Path, method: str, scores: dict[str, float], *, seed: int = 0, before: dict[str, float] | None = None,
    **settings: Any,
) -> Path:
    """A fit run of ``method`` with ``settings`` (dotted keys) and ``scores`` (each with a +-2 point interval)."""
    config = json.loads(json.dumps(BASE_CONFIG))
    config["seed"] = seed
    config["method"] = {"name": method, "lr": 1e-3}
    for key, value in settings.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(with_intervals(scores)), encoding="utf-8")
    if before is not None:
        (folder / "metrics_before.json").write_text(json.dumps(with_intervals(before)), encoding="utf-8")
    return folder


def with_intervals(scores: dict[str, float]) -> dict[str, float]:
    metrics = dict(scores)
    for key, value in scores.items():
        metrics[f"ci95/{key}/low"], metrics[f"ci95/{key}/high"] = value - 0.02, value + 0.02
    return metrics
