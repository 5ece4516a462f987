"""Evaluation metrics: accuracy per task and category, balanced accuracy, the modality gap, metrics.json."""

from unsafe_vlm.metrics.alignment_test import AlignmentTestAccuracy
from unsafe_vlm.metrics.modality_gap import modality_gap
from unsafe_vlm.metrics.report import TASKS, metrics_json, write_metrics_json
from unsafe_vlm.metrics.task_accuracy import TaskAccuracy

__all__ = ["TASKS", "AlignmentTestAccuracy", "TaskAccuracy", "metrics_json", "modality_gap", "write_metrics_json"]
