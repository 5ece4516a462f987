"""A Lightning Trainer for tests: CPU, one epoch, nothing written or shown but what a test asks for."""

from __future__ import annotations

from typing import Any

import lightning as L


def quiet_trainer(**settings: Any) -> L.Trainer:
    defaults = {"accelerator": "cpu", "max_epochs": 1, "logger": False, "enable_checkpointing": False,
                "enable_progress_bar": False, "enable_model_summary": False}  # fmt: skip
    return L.Trainer(**{**defaults, **settings})
