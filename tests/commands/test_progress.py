"""The terminal while a command runs: bars labelled with the stage, epochs counted as Lightning runs them."""

from __future__ import annotations

from types import SimpleNamespace

from unsafe_vlm.commands.progress import StageBar, training_budget


def trainer(**values) -> SimpleNamespace:
    defaults = {"max_epochs": 2, "max_steps": -1, "num_training_batches": 32, "global_step": 0}
    return SimpleNamespace(**{**defaults, **values})


def bar_with(**values) -> StageBar:
    bar = StageBar("training")
    bar._trainer = trainer(**values)  # what Lightning's setup hook sets
    return bar


def test_the_training_bar_counts_epochs_from_one_to_max_epochs():
    bar = bar_with(max_epochs=2)
    assert [bar._get_train_description(epoch) for epoch in (0, 1)] == ["epoch 1/2", "epoch 2/2"]


def test_a_training_bounded_by_steps_alone_shows_no_epoch_total():
    assert bar_with(max_epochs=-1, max_steps=10)._get_train_description(3) == "epoch 4"


def test_an_evaluation_bar_is_named_by_its_stage():
    assert StageBar("before training").predict_description == "before training"


def test_the_training_line_says_epochs_batches_and_where_it_stops_or_resumes():
    assert training_budget(trainer()) == "2 epochs of 32 batches"
    assert training_budget(trainer(max_epochs=1, num_training_batches=4)) == "1 epoch of 4 batches"
    assert training_budget(trainer(max_epochs=1, num_training_batches=1)) == "1 epoch of 1 batch"
    assert training_budget(trainer(max_steps=50, global_step=10)) == (
        "2 epochs of 32 batches, stopping at step 50, resuming at step 10"
    )

