"""How far two judges agree on the same responses: agreement, Cohen's kappa and the confusion matrix
(torchmetrics), per task."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torchmetrics.functional.classification import multiclass_cohen_kappa, multiclass_confusion_matrix


@dataclass(frozen=True)
class Agreement:
    task: str
    classes: tuple[str, ...]
    n: int
    agreement: float | None  # share of responses both judges put in the same class
    kappa: float | None  # Cohen's kappa; None where it is undefined (one judge puts everything in one class)
    matrix: tuple[tuple[int, ...], ...]  # rows: the first judge's class, columns: the second's


def judge_agreement(task: str, first: Sequence[str], second: Sequence[str], classes: Sequence[str]) -> Agreement:
    if len(first) != len(second):
        raise ValueError(f"{task}: {len(first)} verdicts against {len(second)}")
    classes = tuple(classes)
    if not first:
        return Agreement(task, classes, 0, None, None, tuple((0,) * len(classes) for _ in classes))
    index = {name: i for i, name in enumerate(classes)}
    a = torch.tensor([index[v] for v in first])
    b = torch.tensor([index[v] for v in second])
    matrix = multiclass_confusion_matrix(b, a, num_classes=len(classes))  # (target, preds): rows are ``first``
    kappa = float(multiclass_cohen_kappa(b, a, num_classes=len(classes)))
    return Agreement(
        task=task,
        classes=classes,
        n=len(first),
        agreement=float((a == b).float().mean()),
        kappa=None if math.isnan(kappa) else kappa,
        matrix=tuple(tuple(int(x) for x in row) for row in matrix.tolist()),
    )
