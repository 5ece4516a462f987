"""Helpers the tests share (outside the installed package): hand-made rows with known scores."""
