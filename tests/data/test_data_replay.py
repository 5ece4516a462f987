"""data.train_replay: capability questions about the unsafe train images join every format's training
records, their targets the reference model's answers (never gold); with it off nothing changes."""

from __future__ import annotations

import pytest
from helpers.datamodules import shipped_datamodule

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.records import UNSAFE, Record
from unsafe_vlm.data.replay import opposite_answer, replay_records
from unsafe_vlm.data.settings import BenchmarkSettings
from unsafe_vlm.settings import SettingsError


@pytest.fixture(scope="module")
def replaying(data_cache):
    return shipped_datamodule("synthetic", cache_dir=str(data_cache), train_replay=["capability", "capability_shape"])


@pytest.fixture(scope="module")
def plain(data_cache):
    return shipped_datamodule("synthetic", cache_dir=str(data_cache))


def made_up_answers(questions) -> dict[str, str]:
    """Answers no template or gold would give: the opposite of the gold on every other question."""
    return {q.id: f"{'Yes' if (i % 2 == 0) == (q.gold == 'Yes') else 'No'}, reference answer {i}." for i, q in
            enumerate(questions)}  # fmt: skip


def test_the_leading_yes_or_no_is_swapped_and_other_answers_have_no_opposite():
    assert opposite_answer("Yes, it does. This is a cat.") == "No, it does. This is a cat."
    assert opposite_answer("no.") == "yes."
    assert opposite_answer("  NO it is not") == "  YES it is not"
    assert opposite_answer("Nothing here") is None
    assert opposite_answer("The image shows yes") is None


def test_each_unsafe_train_image_is_asked_one_question_of_each_replayed_task(replaying):
    unsafe, _ = replaying.splits()
    questions = replaying.replay_questions()
    assert len(questions) == 2 * len(unsafe.train)
    assert {q.task for q in questions} == {"capability", "capability_shape"}
    assert {q.image for q in questions} == {str(s.image) for s in unsafe.train}
    assert {q.gold for q in questions} == {"Yes", "No"}, "own and other questions are both drawn"
    test_images = {str(s.image) for s in unsafe.test}
    assert not test_images & {q.image for q in questions}, "the capability evaluation's images stay unseen"


def test_ppo_gets_the_questions_unscored_and_the_alignment_records_stay_as_they_were(replaying, plain):
    records = replaying.records("ppo")
    base = plain.records("ppo")
    assert records[: len(base)] == base
    replay = records[len(base):]
    assert len(replay) == len(replaying.replay_questions())
    assert all(r.id.startswith("ppo/replay/") and not r.yes_no and r.gold == UNSAFE for r in replay)
    assert [r.question for r in replay] == [q.question for q in replaying.replay_questions()]


@pytest.mark.parametrize("train_format", ["sft", "dpo"])
def test_sft_and_dpo_train_on_the_given_answers_not_the_gold(data_cache, train_format):
    data = shipped_datamodule("synthetic", cache_dir=str(data_cache), train_replay=["capability"])
    with pytest.raises(DataConfigError, match="data.train_replay: the reference model's answers"):
        data.records(train_format)
    questions = data.replay_questions()
    answers = made_up_answers(questions)
    data.give_replay_answers(answers)
    replay = [r for r in data.records(train_format) if "/replay/" in r.id]
    assert [r.answer for r in replay] == [answers[q.id] for q in questions]
    if train_format == "dpo":
        assert [r.rejected for r in replay] == [opposite_answer(answers[q.id]) for q in questions]
    else:
        assert all(r.rejected is None for r in replay)


def test_dpo_leaves_out_answers_without_a_yes_or_no():
    questions = [Record(id=f"capability/{i}/own", task="capability", question="Does this image show x?",
                        image="a.png", concept="x", category="Hate", gold="Yes") for i in range(2)]  # fmt: skip
    records = replay_records("dpo", questions, {questions[0].id: "Yes.", questions[1].id: "A cat."})
    assert [(r.answer, r.rejected) for r in records] == [("Yes.", "No.")]


def test_a_limit_caps_the_replayed_questions_apart_from_the_alignment_records(data_cache):
    data = shipped_datamodule("synthetic", cache_dir=str(data_cache), train_replay=["capability"], limit_per_task=6)
    records = data.records("ppo")
    assert len(records) == 12 and sum("/replay/" in r.id for r in records) == 6


def test_an_unknown_replay_task_is_refused_by_name(data_cache):
    values = {"train_replay": ["alignment_test"]}
    with pytest.raises(SettingsError, match="data.train_replay: 'alignment_test' is not a task it can replay"):
        BenchmarkSettings.from_config(
            {**shipped_datamodule("synthetic", cache_dir=str(data_cache)).settings.to_dict(), **values}, "data"
        )
