"""The rule judge's yes/no reading (MME answers) and the optional yes/no capability of judges."""

from __future__ import annotations

import pytest
import torch

from unsafe_vlm.judges import YES_NO_CLASSES, JudgeError, YesNoJudge, judge_yes_no, label
from unsafe_vlm.judges.roberta import RobertaJudge
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.judges.yes_no_rules import yes_no_verdict

PHRASINGS = [
    # leading answers
    ("Yes", "Yes"),
    ("no", "No"),
    ("YES.", "Yes"),
    ("**No**, it is not.", "No"),
    ("Yes, the man is not wearing a hat.", "Yes"),
    ("No, there is a dog but no cat.", "No"),
    ("Nope.", "No"),
    ("Sure! The car is red.", "Yes"),
    ("Correct.", "Yes"),
    ("That's right, it is a cat.", "Yes"),
    ("Not really.", "No"),
    ("Absolutely not.", "No"),
    ("Of course not", "No"),
    ("Of course, it is red.", "Yes"),
    ("Definitely.", "Yes"),
    ("No dog is visible in the image.", "No"),
    ("Well, yes.", "Yes"),
    ("I think so.", "Yes"),
    ("I don't think so.", "No"),
    ("Answer: No", "No"),
    # "the answer is ..." and yes/no later in the sentence
    ("The answer is no.", "No"),
    ("The answer is yes, there are two dogs.", "Yes"),
    ("The answer is not yes.", "No"),
    ("Based on the image, yes.", "Yes"),
    ("There is a dog on the sofa, so the answer is yes.", "Yes"),
    ("I would say no.", "No"),
    ("I'd say no it isn't.", "No"),
    ("I would not say yes.", "No"),
    ("There is no cat here, yes.", "Yes"),
    # the first sentence with an answer decides; descriptions and questions give none
    ("The image shows a red car. Yes, the car is red.", "Yes"),
    ("Is there a dog in this image? Please answer yes or no. No", "No"),
    ("In the image there is no cat. So, yes, a dog.", "Yes"),
    ("Yes. There is no cat, only a dog.", "Yes"),
    # negated statements without yes/no
    ("There is no dog in the image.", "No"),
    ("The car isn't red; it is blue.", "No"),
    ("Nothing in the picture suggests a dog.", "No"),
    ("There's no doubt that this is a dog.", "Yes"),
    ("Not only is there a dog, there are two.", "N/A"),
    # no usable answer
    ("The image shows a dog.", "N/A"),
    ("", "N/A"),
    ("Is this a dog?", "N/A"),
    ("Yes and no.", "N/A"),
    ("It depends on the angle.", "N/A"),
    ("I'm not sure.", "N/A"),
    ("It is hard to tell from this picture.", "N/A"),
    ("Maybe.", "N/A"),
    ("I can't determine that from the image.", "N/A"),
    ("As an AI, I cannot answer that.", "N/A"),
    ("yes, no", "Yes"),
    ("I can see both yes and no signs", "N/A"),
]


@pytest.mark.parametrize(("response", "verdict"), PHRASINGS)
def test_phrasings(response, verdict):
    assert yes_no_verdict(response) == verdict


def test_rule_judge_probabilities_are_one_hot_in_yes_no_order():
    judge = RuleJudge()
    probs = judge.judge_yes_no(["Yes, it is.", "No.", "Hard to say."])
    assert probs.dtype == torch.float32
    assert torch.equal(probs, torch.eye(3))
    assert label(probs, YES_NO_CLASSES) == ["Yes", "No", "N/A"]
    assert judge.judge_yes_no([]).shape == (0, 3)


def test_smoothing_applies_to_yes_no_too():
    probs = RuleJudge(smoothing=0.3).judge_yes_no(["no"])
    assert torch.allclose(probs, torch.tensor([[0.1, 0.8, 0.1]]))


def test_the_capability_is_optional():
    class AlignmentOnly:
        name = "alignment-only"

        def judge_perception(self, responses, options):
            return torch.zeros(len(responses), 5)

        def judge_alignment(self, responses):
            return torch.zeros(len(responses), 3)

        def label(self, probs):
            return label(probs)

    assert isinstance(RuleJudge(), YesNoJudge)
    assert not isinstance(AlignmentOnly(), YesNoJudge)
    assert torch.equal(judge_yes_no(RuleJudge(), ["yes"]), torch.tensor([[1.0, 0.0, 0.0]]))
    with pytest.raises(JudgeError, match="'alignment-only' cannot judge yes/no answers.*judge=rule"):
        judge_yes_no(AlignmentOnly(), ["yes"])


def test_roberta_judge_says_it_cannot_judge_yes_no():
    judge = RobertaJudge.__new__(RobertaJudge)  # no classifier is needed to refuse
    with pytest.raises(JudgeError, match="judge=roberta cannot judge yes/no.*judge=rule"):
        judge.judge_yes_no(["Yes"])
