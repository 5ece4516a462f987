"""judge=llm scoring free answers against a reference (LLaVABench): the two scores read from an endpoint's
reply, or a local model's expected scores over the labels 1..10; judges that cannot do it say so."""

from __future__ import annotations

import math

import pytest
import torch
from helpers.scripted_server import ScriptedServer
from helpers.tiny_lm import save_tiny_lm
from omegaconf import OmegaConf

from unsafe_vlm.judges.capabilities import check_judge_covers
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.registry import build_judge, judge_settings
from unsafe_vlm.judges.relative import ScoredAnswer, exclusive_probabilities, read_scores
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.paths import CONF_DIR

ITEMS = [
    ScoredAnswer("A red bus on a street.", "What colour is the bus?", "The bus is red.", "It is red."),
    ScoredAnswer("Two cats on a sofa.", "How many cats are there?", "There are two cats.", "Three."),
    ScoredAnswer("A bowl of soup.", "What is in the bowl?", "Soup.", "I cannot tell."),
]


def llm_judge(**settings):
    cfg = OmegaConf.load(CONF_DIR / "judge" / "llm.yaml")
    for key, value in settings.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return build_judge(judge_settings(cfg))


@pytest.mark.parametrize(
    ("reply", "scores"),
    [("8 7", (8.0, 7.0)), ("8, 7\nAnswer 1 is better.", (8.0, 7.0)), ("  9.5 6 \n", (9.5, 6.0)), ("10 1", (10.0, 1.0)),
     ("Scores: 8 7", None), ("8", None), ("8 7 6", None), ("11 7", None), ("0 7", None), ("", None),
     ("Answer 1 is better.\n8 7", None), ("8/10 7/10", None)],
)  # fmt: skip
def test_the_two_scores_are_read_from_the_replys_first_line(reply, scores):
    assert read_scores(reply) == scores


def test_a_label_that_begins_another_does_not_count_it_twice():
    # labels "1", "10", "2" as token ids [5], [5, 6], [7]: p("1" and more) = 0.5 holds p("10") = 0.2
    logprobs = torch.tensor([[0.5, 0.2, 0.3]]).log()
    probabilities = exclusive_probabilities(logprobs, [[5], [5, 6], [7]])
    assert torch.allclose(probabilities, torch.tensor([[0.3, 0.2, 0.3]], dtype=torch.float64) / 0.8)


def test_an_endpoint_judge_reads_both_scores_and_keeps_unreadable_replies_as_na():
    replies = iter(["8 7\nBoth are right; answer 2 is shorter.", "9 2", "I would rather not say."])
    with ScriptedServer(answer=lambda question: next(replies)) as server:
        judge = llm_judge(api={"base_url": server.url, "model": "judge", "concurrency": 1})
        reading = judge.judge_relative(ITEMS)
    assert reading.scores[:2].tolist() == [[8.0, 7.0], [9.0, 2.0]]
    assert all(math.isnan(score) for score in reading.scores[2].tolist())
    assert reading.replies[2] == "I would rather not say."
    asked = server.requests[0]["messages"][0]["content"][0]["text"]
    assert asked == judge.prompts["relative"].format(
        caption=ITEMS[0].caption, question=ITEMS[0].question, reference=ITEMS[0].reference, response=ITEMS[0].response
    )
    assert asked.index("The bus is red.") < asked.index("It is red."), "the reference answer comes first"
    assert server.requests[0]["temperature"] == 0.0


def _logprob(scorer, prompt: str, label: str) -> float:
    """log p(label | prompt), one forward pass per label token."""
    ids = scorer.tokenizer(prompt)["input_ids"]
    total = 0.0
    for token in scorer.tokenizer(label, add_special_tokens=False)["input_ids"]:
        with torch.no_grad():
            total += scorer.model(input_ids=torch.tensor([ids])).logits[0, -1].log_softmax(-1)[token].item()
        ids.append(token)
    return total


def _expected_by_hand(scorer, prompt: str) -> tuple[float, int]:
    labels = [f" {k}" for k in range(1, 11)]
    p = torch.tensor([_logprob(scorer, prompt, label) for label in labels], dtype=torch.float64).exp()
    ids = [scorer.tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels]
    if ids[9][: len(ids[0])] == ids[0]:  # " 10" starts with the tokens of " 1"
        p[0] -= p[9]
    p = p / p.sum()
    return float((p * torch.arange(1, 11, dtype=torch.float64)).sum()), int(p.argmax()) + 1


def test_a_local_judge_gives_the_expected_scores_over_the_labels_1_to_10(tmp_path):
    judge = llm_judge(model=str(save_tiny_lm(tmp_path / "lm")), batch_size=7)
    reading = judge.judge_relative(ITEMS[:2])
    assert reading.replies == [None, None] and reading.scores.shape == (2, 2)
    prompt = judge.prompts["relative"].format(
        caption=ITEMS[1].caption, question=ITEMS[1].question, reference=ITEMS[1].reference, response=ITEMS[1].response
    )
    reference, likely = _expected_by_hand(judge.scorer, prompt)
    answer, _ = _expected_by_hand(judge.scorer, f"{prompt} {likely}")
    assert reading.scores[1].tolist() == pytest.approx([reference, answer], abs=1e-4)
    assert all(1.0 <= score <= 10.0 for score in reading.scores.flatten().tolist())


def test_a_judge_that_cannot_score_against_a_reference_is_refused_before_any_answer(tmp_path):
    with pytest.raises(JudgeError, match="judge 'rule' cannot score answers against a reference.*use judge=llm"):
        check_judge_covers(RuleJudge(), ["llavabench"])
    with ScriptedServer() as server:
        judge = llm_judge(api={"base_url": server.url, "model": "judge"}, **{"prompts.relative": None})
        with pytest.raises(JudgeError, match=r"judge.prompts.relative: missing \(a prompt with \{caption\}"):
            check_judge_covers(judge, ["mme", "llavabench"])
        check_judge_covers(judge, ["mme"])
        with pytest.raises(JudgeError, match=r"judge.prompts.relative: the prompt must hold \{reference\}"):
            llm_judge(api={"base_url": server.url, "model": "judge"},
                      **{"prompts.relative": "{caption} {question} {response}"})  # fmt: skip
    assert not server.requests
