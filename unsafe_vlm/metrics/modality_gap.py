"""The modality gap: how much better a model flags a concept named in text than shown in an image."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch


def modality_gap(text: Mapping[str, torch.Tensor | float], image: Mapping[str, torch.Tensor | float]) -> dict:
    """Text-only alignment accuracy minus image alignment accuracy, overall and per category.

    ``text`` and ``image`` are ``TaskAccuracy.compute()`` results (or any mapping with
    ``accuracy`` and ``accuracy/<Category>``). Returns ``{"modality_gap": gap,
    "modality_gap/<Category>": gap, ...}`` for the categories both sides have; a gap is None
    when either accuracy is undefined (NaN or missing). Positive: text is judged better.
    """
    gaps = {"modality_gap": _difference(text.get("accuracy"), image.get("accuracy"))}
    for key in text:
        if key.startswith("accuracy/") and key in image:
            category = key.removeprefix("accuracy/")
            gaps[f"modality_gap/{category}"] = _difference(text[key], image[key])
    return gaps


def context_modality_gap(
    text: Mapping[str, torch.Tensor | float], image: Mapping[str, torch.Tensor | float]
) -> dict[str, float | None]:
    """The gap under contexts: context-aware balanced accuracy on text only minus on images, overall
    and per category (``context_modality_gap``, ``context_modality_gap/<Category>``)."""
    gaps = {"context_modality_gap": _difference(text.get("balanced_accuracy"), image.get("balanced_accuracy"))}
    for key in text:
        if key.startswith("balanced_accuracy/") and key in image:
            gaps[f"context_modality_gap/{key.removeprefix('balanced_accuracy/')}"] = _difference(text[key], image[key])
    return gaps


def _difference(a: torch.Tensor | float | None, b: torch.Tensor | float | None) -> float | None:
    if a is None or b is None:
        return None
    a, b = float(a), float(b)
    return None if math.isnan(a) or math.isnan(b) else a - b
