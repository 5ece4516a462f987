"""A judge that cannot judge a task's answers is refused before anything is generated."""

import pytest

from unsafe_vlm.judges.capabilities import check_judge_covers
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.rule import RuleJudge


class AlignmentOnlyJudge(RuleJudge):
    tasks = ("alignment",)

    def judge_yes_no(self, responses):
        raise JudgeError("judge 'alignment-only' cannot judge yes/no answers")


def test_the_rule_judge_covers_every_task():
    check_judge_covers(RuleJudge(), ["perception", "alignment_image", "alignment_text", "alignment_test", "mme"])


def test_a_judge_without_a_perception_classifier_is_refused():
    judge = AlignmentOnlyJudge()
    check_judge_covers(judge, ["alignment_image", "image_safety"])
    with pytest.raises(JudgeError, match="no classifier for perception"):
        check_judge_covers(judge, ["perception", "alignment_image"])
    with pytest.raises(JudgeError, match="yes/no"):
        check_judge_covers(judge, ["mme"])
