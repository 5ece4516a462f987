"""``data.eval_split``: perception and alignment_image ask about every unsafe image, or the test split's only."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.benchmark_files import FakeBackbone, write_placeholder_benchmark, write_safe_images
from helpers.datamodules import benchmark_module, datamodule_of
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.sources.unsafe_concepts import SafetyDataModule
from unsafe_vlm.paths import CONF_DIR

PAPER_TEST = 345


def build(*overrides: str) -> SafetyDataModule:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(overrides=["+prompts=default", "+data=unsafe_concepts", *overrides])
    datamodule = datamodule_of(cfg)
    datamodule.connect(FakeBackbone())
    return datamodule


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return write_placeholder_benchmark(tmp_path_factory.mktemp("unsafe"))


def image_ids(records) -> set[str]:
    return {r.image for r in records}


def test_the_default_asks_about_every_image(root):
    datamodule = build(f"data.root={root}")
    assert datamodule.eval_split == "all"
    assert len(datamodule.records("perception")) == 1567
    assert len(datamodule.records("alignment_image")) == 5 * 1567


def test_test_split_asks_only_about_the_test_images_and_needs_no_safe_side(root):
    datamodule = build(f"data.root={root}", "data.eval_split=test")
    datamodule.setup("test")  # no safe_root: the unsafe test split needs none
    test_images = {str(s.image) for s in datamodule.eval_images()}
    assert len(test_images) == PAPER_TEST
    assert image_ids(datamodule.records("perception")) == test_images
    assert image_ids(datamodule.records("alignment_image")) == test_images
    assert len(datamodule.records("alignment_image")) == 5 * PAPER_TEST
    assert len(datamodule.records("alignment_text")) == 5 * 75  # every concept, as before


def test_test_split_images_are_the_unsafe_test_split_of_training(root, tmp_path):
    safe = write_safe_images(tmp_path / "safe", [f"object {i}" for i in range(20)], 5, png=False)
    datamodule = build(f"data.root={root}", f"data.safe_root={safe}", "data.eval_split=test")
    unsafe_split, _ = datamodule.splits()
    assert image_ids(datamodule.records("perception")) == {str(s.image) for s in unsafe_split.test}
    assert not image_ids(datamodule.records("perception")) & {str(s.image) for s in unsafe_split.train}


def test_an_unknown_split_is_a_config_error(root):
    with pytest.raises(DataConfigError, match="data.eval_split"):
        benchmark_module(str(root), eval_split="train")
