"""``SafetyDataModule``: configs, what each stage builds, loaders, DDP shards, and the sources."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers.benchmark_files import FakeBackbone, error_at, write_placeholder_benchmark, write_safe_images
from helpers.datamodules import benchmark_module, datamodule_of
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image
from torch.utils.data import DistributedSampler

from unsafe_vlm.data.benchmark import load_benchmark, load_safe_images
from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.hub import export_rows, require_datasets
from unsafe_vlm.data.records import RecordBatch
from unsafe_vlm.data.sources.unsafe_concepts import SafetyDataModule
from unsafe_vlm.paths import CONF_DIR

PAPER_TRAIN, PAPER_TEST = 1222, 345


def compose_data(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(overrides=["+prompts=default", *overrides])


def build(*overrides: str, backbone=None) -> SafetyDataModule:
    datamodule = datamodule_of(compose_data(*overrides))
    datamodule.connect(backbone or FakeBackbone())
    return datamodule


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path]:
    """The published metadata with empty placeholder images, and 2,000 safe placeholders."""
    root = write_placeholder_benchmark(tmp_path_factory.mktemp("unsafe"))
    safe = write_safe_images(tmp_path_factory.mktemp("safe"), [f"object {i}" for i in range(200)], 10, png=False)
    return root, safe


@pytest.fixture
def small(tmp_path) -> tuple[Path, Path]:
    """Seven real images of two concepts, and twenty safe ones."""
    root = tmp_path / "unsafe"
    (root / "images").mkdir(parents=True)
    rows = []
    for i, (concept, category) in enumerate([("Swastika", "Hate")] * 4 + [("Arson", "Illegal activity")] * 3):
        Image.new("RGB", (4, 4), (200, 20 * i, 20)).save(root / f"images/{i}.png")
        rows.append(f'{{"image_filename": "images/{i}.png", "category": "{category}", "unsafe_concept": "{concept}"}}')
    (root / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    return root, write_safe_images(tmp_path / "safe", ["goldfish", "banana"], per_concept=10)


# ----- the published metadata through the config ------------------------------------------------


def test_published_metadata_gives_the_papers_balanced_split_sizes(published):
    root, safe = published
    datamodule = build("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}")
    datamodule.connect(FakeBackbone(), train_format="sft", batch_size=8)
    datamodule.setup("fit")
    unsafe_split, safe_split = datamodule.splits()
    assert (len(unsafe_split.train), len(unsafe_split.test)) == (PAPER_TRAIN, PAPER_TEST)
    assert (len(safe_split.train), len(safe_split.test)) == (PAPER_TRAIN, PAPER_TEST)
    assert Counter(r.gold for r in datamodule.records("alignment_test")) == {"Unsafe": PAPER_TEST, "Safe": PAPER_TEST}
    assert Counter(r.gold for r in datamodule.records("sft")) == {"Unsafe": PAPER_TRAIN, "Safe": PAPER_TRAIN}


def test_each_stage_builds_only_what_it_needs(published):
    root, _ = published
    datamodule = build("+data=unsafe_concepts", f"data.root={root}")  # no safe images at all
    datamodule.setup("test")
    assert set(datamodule._records) == {"perception", "alignment_image", "alignment_text", "context_image",
                                        "context_text"}  # fmt: skip
    assert datamodule._safe is None and datamodule._splits is None
    counts = [len(datamodule.records(t)) for t in datamodule.task_names("test")]
    assert counts == [1567, 1567 * 5, 75 * 5, 1567 * 2, 75 * 2]
    with pytest.raises(ValueError, match="needs safe images: set data.safe_root"):
        datamodule.setup("fit")


def test_a_missing_image_stops_setup_naming_the_file(published, tmp_path):
    root = write_placeholder_benchmark(tmp_path)
    (root / "images/1566.png").unlink()
    datamodule = build("+data=unsafe_concepts", f"data.root={root}")
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 1567) + "image file not found.*1566.png"):
        datamodule.setup("predict")


# ----- loaders ---------------------------------------------------------------------------


def test_loaders_for_every_task_and_training_format(small):
    root, safe = small
    datamodule = build("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}", "data.eval_batch_size=4")
    datamodule.setup("predict")
    loaders = datamodule.predict_dataloader()
    assert len(loaders) == len(datamodule.task_names("predict")) == 5
    batch = next(iter(loaders[1]))
    assert isinstance(batch["records"], RecordBatch) and len(batch["records"]) == 4
    assert batch["inputs"]["input_ids"].shape[0] == 4
    datamodule.setup("fit")
    # alignment_test: one test image of each unsafe concept (4 -> 3 + 1, 3 -> 2 + 1), two safe ones to balance
    assert [len(loader.dataset) for loader in datamodule.val_dataloader()] == [4]
    for train_format, keys in (("sft", {"inputs"}), ("dpo", {"pairs"}), ("ppo", {"inputs"})):
        datamodule.connect(FakeBackbone(), train_format=train_format, batch_size=8)
        batch = next(iter(datamodule.train_dataloader()))
        assert set(batch) == {"records", *keys}
        assert {r.task for r in batch["records"]} == {train_format}


def test_loaders_need_a_backbone_and_training_a_format(small):
    root, safe = small
    datamodule = benchmark_module(root=str(root), safe_root=str(safe))
    with pytest.raises(ValueError, match=r"call datamodule.connect\(backbone\) first"):
        datamodule.test_dataloader()
    datamodule.connect(FakeBackbone())
    with pytest.raises(ValueError, match="no training format"):
        datamodule.train_dataloader()


def test_limit_per_task_keeps_the_same_seeded_subset(small):
    root, safe = small
    overrides = ("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}", "data.limit_per_task=5")
    first, second = build(*overrides), build(*overrides)
    assert len(first.records("alignment_image")) == 5
    assert first.records("alignment_image") == second.records("alignment_image")
    assert len(first.records("perception")) == 5


def test_held_out_concepts_through_the_config(small):
    root, safe = small
    datamodule = build(
        "+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}", "data.holdout_concepts=[Arson]"
    )
    assert {r.concept for r in datamodule.records("ppo")} == {"Swastika", "goldfish", "banana"}
    assert "Arson" in {r.concept for r in datamodule.records("alignment_test")}
    wrong = build(
        "+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}", "data.holdout_concepts=[Kittens]"
    )
    with pytest.raises(ValueError, match="no images of 'Kittens'"):
        wrong.records("sft")


def test_skip_answered_leaves_those_records_out_of_the_loaders(small):
    root, safe = small
    datamodule = build("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}")
    datamodule.setup("predict")
    done = {r.id for r in datamodule.records("alignment_image")[:30]}
    datamodule.skip_answered({"alignment_image": done})
    left = [r.id for batch in datamodule.eval_dataloader("alignment_image") for r in batch["records"]]
    assert left == [r.id for r in datamodule.records("alignment_image")[30:]]
    assert len(datamodule.eval_dataloader("perception").dataset) == 7
    datamodule.setup("fit")  # a new trainer run starts without skips
    assert len(datamodule.eval_dataloader("alignment_image").dataset) == 35


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_shards_cover_every_evaluation_record_exactly_once(small, monkeypatch, world):
    root, safe = small
    datamodule = build("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}", "data.eval_batch_size=2")
    datamodule.setup("predict")
    for task, _ in zip(datamodule.task_names("predict"), datamodule.predict_dataloader(), strict=True):
        shards = []
        for rank in range(world):
            monkeypatch.setattr(datamodule, "_world", lambda rank=rank: (world, rank))
            loader = datamodule.eval_dataloader(task)
            shards.append([r.id for batch in loader for r in batch["records"]])
        ids = [i for shard in shards for i in shard]
        assert sorted(ids) == sorted(r.id for r in datamodule.records(task))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_ddp_training_uses_a_seeded_distributed_sampler(small, monkeypatch):
    root, safe = small
    datamodule = build("+data=unsafe_concepts", f"data.root={root}", f"data.safe_root={safe}")
    datamodule.connect(FakeBackbone(), train_format="sft", batch_size=8)
    monkeypatch.setattr(datamodule, "_world", lambda: (2, 1))
    sampler = datamodule.train_dataloader().sampler
    assert isinstance(sampler, DistributedSampler) and sampler.shuffle and sampler.seed == 2024 and sampler.rank == 1


# ----- config errors and sources -------------------------------------------------------------


def test_config_mistakes_are_clear_errors(small, tmp_path):
    root, safe = small
    with pytest.raises(ValueError, match="unknown task"):
        benchmark_module(root=str(root), tasks=["perception", "vibes"])
    with pytest.raises(ValueError, match="leave root, safe_root and the hub ids unset"):
        benchmark_module(root=str(root), synthetic={"seed": 1})
    with pytest.raises(ValueError, match="no data: set data.root"):
        benchmark_module()
    with pytest.raises(ValueError, match="data.train_format: .rlhf. is not one of: .sft., .dpo., .ppo."):
        benchmark_module(root=str(root), train_format="rlhf")
    with pytest.raises(DataConfigError, match="no data: set data.root"):
        build("+data=unsafe_concepts")


def test_data_synthetic_generates_into_the_cache_once_and_reuses_it(tmp_path):
    overrides = ("+data=synthetic", f"data.cache_dir={tmp_path}", "data.synthetic.images_per_concept=2")
    overrides += ("data.synthetic.safe_concepts=10",)
    first = build(*overrides)
    first.prepare_data()
    first.setup("fit")
    (generated,) = (tmp_path / "synthetic").iterdir()
    stamp = (generated / "metadata.jsonl").stat().st_mtime_ns
    second = build(*overrides)
    second.setup("test")
    assert (generated / "metadata.jsonl").stat().st_mtime_ns == stamp
    assert second.records("alignment_image")[0].image.startswith(str(generated))
    assert len(second.records("alignment_test")) == 2 * 75  # int(0.8 * 2) = 1 of 2 images per concept in train


# ----- the hub path (export to the folder layout) -------------------------------------------------


def test_hub_rows_with_labels_export_to_the_folder_layout(tmp_path):
    red = Image.new("RGB", (3, 3), (255, 0, 0))
    rows = [
        {"image": red, "category": "Hate", "unsafe_concept": "Swastika"},
        {"image": red, "category": "Violence", "unsafe_concept": "Gun violence"},
    ]
    export_rows(rows, ["image", "category", "unsafe_concept"], "unsafe", tmp_path / "u", "some/dataset")
    samples = load_benchmark(tmp_path / "u", verify_images=True)
    assert [s.concept for s in samples] == ["Swastika", "Gun violence"]
    export_rows(
        [{"image": red, "concept": "goldfish", "id": 7}], ["image", "concept", "id"], "safe", tmp_path / "s", "x"
    )
    assert load_safe_images(tmp_path / "s")[0].image.name == "7.png"


def test_hub_rows_without_labels_must_match_the_published_metadata(tmp_path):
    rows = [{"image": Image.new("RGB", (2, 2))}] * 3
    with pytest.raises(DataError, match=error_at("some/dataset") + "has 3 rows and no category/unsafe_concept"):
        export_rows(rows, ["image"], "unsafe", tmp_path / "u", "some/dataset")
    with pytest.raises(DataError, match=error_at("some/dataset") + "no 'image' column"):
        export_rows([], ["picture"], "unsafe", tmp_path / "v", "some/dataset")
    with pytest.raises(DataError, match="no 'concept' column"):
        export_rows([], ["image"], "safe", tmp_path / "w", "some/dataset")


def test_missing_datasets_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'unsafe-vlm\[hub\]'"):
        require_datasets()


def test_a_saved_hub_dataset_loads_through_the_data_module(tmp_path):
    import datasets  # the `hub` extra, which CI installs
    images = [Image.new("RGB", (3, 3), (i * 40, 0, 0)) for i in range(3)]
    table = {"image": images, "category": ["Hate"] * 3, "unsafe_concept": ["Swastika"] * 3}
    dataset = datasets.Dataset.from_dict(table, features=datasets.Features({
        "image": datasets.Image(), "category": datasets.Value("string"), "unsafe_concept": datasets.Value("string"),
    }))  # fmt: skip
    dataset.save_to_disk(str(tmp_path / "saved"))
    datamodule = benchmark_module(hub_id=str(tmp_path / "saved"), cache_dir=str(tmp_path / "cache"))
    datamodule.connect(FakeBackbone())
    datamodule.setup("test")
    assert len(datamodule.records("alignment_image")) == 15
