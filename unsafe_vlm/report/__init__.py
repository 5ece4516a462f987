"""What a researcher reads after a run: ``report.md``, per-category plots, and comparisons of runs."""

from unsafe_vlm.report.comparison import Evaluation, write_comparison
from unsafe_vlm.report.document import ReportFiles, write_report
from unsafe_vlm.report.rescore import RunScores, rescore_run

__all__ = ["Evaluation", "ReportFiles", "RunScores", "rescore_run", "write_comparison", "write_report"]
