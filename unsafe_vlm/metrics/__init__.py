"""Evaluation metrics: accuracy per task and category, balanced accuracy, the modality gap, metrics.json."""

from unsafe_vlm.metrics.alignment_test import AlignmentTestAccuracy
from unsafe_vlm.metrics.metrics_json import metrics_json, read_metrics, write_metrics
from unsafe_vlm.metrics.modality_gap import modality_gap
from unsafe_vlm.metrics.scoring import score_responses
from unsafe_vlm.metrics.task_accuracy import TaskAccuracy

__all__ = [
    "AlignmentTestAccuracy",
    "TaskAccuracy",
    "metrics_json",
    "modality_gap",
    "read_metrics",
    "score_responses",
    "write_metrics",
]
