"""Evaluation: generate answers, judge them, score them, and write what a researcher reads."""
