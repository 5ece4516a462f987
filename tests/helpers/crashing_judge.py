"""A rule judge that crashes after a number of batches, to stand in for a kill in tests."""

from __future__ import annotations

import os

from unsafe_vlm.judges.rule import RuleJudge


class CrashingJudge(RuleJudge):
    """Raises after ``UNSAFE_VLM_TEST_CRASH_AFTER`` judged batches (never when it is unset), and
    appends the size of every batch it judges to the file ``UNSAFE_VLM_TEST_JUDGED_LOG`` names."""

    calls = 0

    def _count(self, responses) -> None:
        limit = os.environ.get("UNSAFE_VLM_TEST_CRASH_AFTER")
        CrashingJudge.calls += 1
        if limit is not None and CrashingJudge.calls > int(limit):
            raise RuntimeError("simulated crash in the middle of an evaluation")
        log = os.environ.get("UNSAFE_VLM_TEST_JUDGED_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(f"{len(responses)}\n")

    def judge_alignment(self, responses):
        self._count(responses)
        return super().judge_alignment(responses)

    def judge_perception(self, responses, options):
        self._count(responses)
        return super().judge_perception(responses, options)
