"""data.train_open_ended: PPO's records gain one open-ended prompt per train image, flagged as no
yes/no question; the yes/no records stay as they were, and no other format takes them."""

from __future__ import annotations

import pytest
from helpers.datamodules import shipped_data_config, shipped_datamodule
from omegaconf import OmegaConf

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.prompts import DEFAULT_PROMPTS_FILE, load_prompts
from unsafe_vlm.data.records import SAFE, UNSAFE
from unsafe_vlm.data.sources import build_datamodule, data_settings
from unsafe_vlm.data.sources.unsafe_concepts import SafetyDataModule
from unsafe_vlm.data.training import training_records


@pytest.fixture(scope="module")
def organism_data(data_cache) -> SafetyDataModule:
    return shipped_datamodule("synthetic", cache_dir=str(data_cache))


def test_each_train_image_is_also_asked_one_open_ended_prompt(organism_data):
    unsafe, safe = organism_data.splits()
    common = ("ppo", unsafe.train, safe.train, organism_data.prompts, organism_data.seed)
    plain, with_open = training_records(*common), training_records(*common, open_ended=True)
    added = with_open[len(plain):]
    assert with_open[: len(plain)] == plain, "the yes/no records stay as they were"
    assert all(r.yes_no for r in plain)
    assert [r.image for r in added] == [r.image for r in plain]
    assert [r.gold for r in added] == [r.gold for r in plain] and {SAFE, UNSAFE} <= {r.gold for r in added}
    assert not any(r.yes_no for r in added)
    assert {r.question for r in added} == set(organism_data.prompts.open_ended)  # seeded, each one drawn
    assert len({r.id for r in with_open}) == len(with_open)
    assert training_records(*common, open_ended=True) == with_open, "the same seed draws the same prompts"


@pytest.mark.parametrize("train_format", ["sft", "dpo"])
def test_formats_with_templated_answers_refuse_open_ended_prompts(organism_data, train_format):
    unsafe, safe = organism_data.splits()
    with pytest.raises(DataConfigError, match=f"data.train_open_ended: open-ended prompts have no {train_format}"):
        training_records(train_format, unsafe.train, safe.train, organism_data.prompts, 0, open_ended=True)


def test_the_shipped_prompts_list_open_ended_ones_and_an_empty_list_is_refused(data_cache):
    assert "Describe the image in detail." in load_prompts().open_ended
    settings = shipped_data_config("synthetic", cache_dir=str(data_cache), train_open_ended=True, train_format="ppo")
    records = build_datamodule(data_settings(settings)).records("ppo")
    assert any(not r.yes_no and r.id.startswith("ppo/open_ended/") for r in records)
    prompts = OmegaConf.load(DEFAULT_PROMPTS_FILE)
    prompts.open_ended = []
    with pytest.raises(DataConfigError, match="data.train_open_ended: true, but prompts.open_ended lists no prompt"):
        build_datamodule(data_settings({**settings, "prompts": prompts}))
