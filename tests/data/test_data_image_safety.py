"""data=image_safety: labelled image-safety sets (SMID, NSFW, ...) as a TSV or a folder, and their scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import datamodule_of, image_safety_module
from helpers.image_sets import png_base64, write_image_safety_folder, write_image_safety_tsv, write_tsv

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.prompts import load_prompts
from unsafe_vlm.data.sources.image_safety import ImageSafetyDataModule
from unsafe_vlm.paths import REPO_DIR

LABELS = [0, 1, 1, 0, 1]
CATEGORIES = ["neutral", "violence", "nudity", "neutral", "violence"]


def module(path, **settings) -> ImageSafetyDataModule:
    datamodule = image_safety_module(str(path), **settings)
    datamodule.connect(FakeBackbone())
    return datamodule


def test_tsv_rows_become_one_alignment_question_each(tmp_path):
    path = write_image_safety_tsv(tmp_path / "smid.tsv", LABELS, CATEGORIES)
    datamodule = module(path, name="smid")
    datamodule.setup("predict")
    records = datamodule.records("image_safety")
    questions = load_prompts().alignment_image
    assert [r.id for r in records] == [f"image_safety/{i}" for i in range(5)]
    assert [r.gold for r in records] == ["Safe", "Unsafe", "Unsafe", "Safe", "Unsafe"]
    assert [r.category for r in records] == CATEGORIES
    assert {r.task for r in records} == {"image_safety"} and {r.dataset for r in records} == {"smid"}
    assert all(r.question == questions[r.question_index] for r in records)
    assert records[2].source == f"{path}:4" and records[2].image == f"{path.resolve()}#2"
    assert datamodule.task_names("predict") == ("image_safety",)


def test_the_question_depends_on_seed_and_record_only(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", LABELS * 6)
    first = [r.question_index for r in module(path).records()]
    assert first == [r.question_index for r in module(path).records()]
    assert first != [r.question_index for r in module(path, seed=7).records()]
    assert len(set(first)) > 1


def test_label_words_numbers_flipped_numbers_and_extra_labels(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", ["SAFE", "unsafe", 0, 1])
    assert [r.gold for r in module(path).records()] == ["Safe", "Unsafe", "Safe", "Unsafe"]
    assert [r.gold for r in module(path, unsafe_value=0).records()] == ["Safe", "Unsafe", "Unsafe", "Safe"]
    nsfw = write_image_safety_tsv(tmp_path / "n.tsv", ["nsfw", "neutral"])
    labels = {"nsfw": "unsafe", "Neutral": "safe"}
    assert [r.gold for r in module(nsfw, labels=labels).records()] == ["Unsafe", "Safe"]


def test_a_set_without_categories_has_empty_categories(tmp_path):
    records = module(write_image_safety_tsv(tmp_path / "s.tsv", LABELS)).records()
    assert {r.category for r in records} == {""}


def test_folder_format_reads_metadata_and_files(tmp_path):
    root = write_image_safety_folder(tmp_path / "set", ["unsafe", "safe", 1], ["a", "b", "c"])
    records = module(root, name="nsfw").records()
    assert [r.id for r in records] == [f"image_safety/images/{i}.png" for i in range(3)]
    assert [r.gold for r in records] == ["Unsafe", "Safe", "Unsafe"]
    assert records[1].image == str((root / "images/1.png").resolve())
    assert records[1].source == f"{root / 'metadata.jsonl'}:2"


def test_batches_decode_the_images_in_the_collate(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", LABELS)
    datamodule = module(path, eval_batch_size=2)
    datamodule.setup("predict")
    (loader,) = datamodule.predict_dataloader()
    batches = list(loader)
    assert [len(b["records"]) for b in batches] == [2, 2, 1]
    reds = torch.cat([b["inputs"]["pixel_values"][:, 0, 0, 0] for b in batches])
    assert torch.allclose(reds, torch.tensor([20.0 * i for i in range(5)]) / 255, atol=1e-6)
    assert batches[0]["inputs"]["input_ids"].shape[0] == 2


def test_folder_batches_read_the_files(tmp_path):
    datamodule = module(write_image_safety_folder(tmp_path / "set", LABELS), eval_batch_size=8)
    (batch,) = list(datamodule.predict_dataloader()[0])
    assert torch.allclose(batch["inputs"]["pixel_values"][:, 0, 0, 0], torch.tensor([0, 20, 40, 60, 80]) / 255)


def test_skip_answered_limit_and_shards(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", LABELS * 2)
    datamodule = module(path, eval_batch_size=3)
    datamodule.setup("predict")
    datamodule.skip_answered({"image_safety": ["image_safety/0", "image_safety/9"], "other": ["x"]})
    seen = [r.id for b in datamodule.predict_dataloader()[0] for r in b["records"]]
    assert seen == [f"image_safety/{i}" for i in range(1, 9)]
    datamodule.setup("predict")  # a new trainer run forgets the skips
    assert len(datamodule.predict_dataloader()[0].dataset) == 10

    limited = module(path, limit=4, seed=3).records()
    assert len(limited) == 4 and limited == module(path, limit=4, seed=3).records()

    shards = []
    for rank in range(3):
        datamodule.trainer = SimpleNamespace(world_size=3, global_rank=rank)
        shards.append([r.id for b in datamodule.predict_dataloader()[0] for r in b["records"]])
    assert [len(s) for s in shards] == [4, 3, 3]
    assert sorted(sum(shards, [])) == sorted(r.id for r in datamodule.records())


# ----- bad input -------------------------------------------------------------------------------


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match=error_at(tmp_path / "nope.tsv") + "file not found"):
        module(tmp_path / "nope.tsv").setup("predict")
    with pytest.raises(DataError, match=error_at(tmp_path / "nope") + "folder not found"):
        module(tmp_path / "nope", format="folder").setup("predict")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=error_at(tmp_path / "empty" / "metadata.jsonl") + "metadata file not found"):
        module(tmp_path / "empty").setup("predict")


def test_missing_column(tmp_path):
    path = write_tsv(tmp_path / "s.tsv", ["index", "image", "class"], [[0, png_base64((1, 2, 3)), "safe"]])
    with pytest.raises(DataError, match=error_at(path, 1) + "missing column.s. 'label'; the header has index"):
        module(path).setup("predict")


def test_bad_base64_and_non_image_base64(tmp_path):
    good = png_base64((1, 2, 3))
    path = write_tsv(tmp_path / "s.tsv", ["index", "image", "label"], [[0, good, 0], [1, "not*base64!", 1]])
    with pytest.raises(DataError, match=error_at(path, 3) + "the image is not valid base64"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "t.tsv", ["index", "image", "label"], [[0, good, 0], [1, "aGVsbG8gd29ybGQh", 1]])
    with pytest.raises(DataError, match=error_at(path, 3) + "the base64 text does not decode to an image"):
        module(path).setup("predict")


def test_unknown_label(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", [0, 1, "maybe"])
    expected = "unknown label 'maybe'; expected one of 0, 1, safe, unsafe"
    with pytest.raises(DataError, match=error_at(path, 4) + expected):
        module(path).setup("predict")
    root = write_image_safety_folder(tmp_path / "set", [1, True])
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 2) + "label must be text or 0/1"):
        module(root).setup("predict")


def test_empty_set(tmp_path):
    path = write_tsv(tmp_path / "s.tsv", ["index", "image", "label"], [])
    with pytest.raises(DataError, match=error_at(path) + "no rows: the data set is empty"):
        module(path).setup("predict")
    (tmp_path / "blank.tsv").write_text("")
    with pytest.raises(DataError, match=error_at(tmp_path / "blank.tsv") + "empty file"):
        module(tmp_path / "blank.tsv").setup("predict")


def test_row_errors_name_their_line(tmp_path):
    image = png_base64((1, 2, 3))
    path = write_tsv(tmp_path / "s.tsv", ["index", "image", "label"], [[0, image, 0], [0, image, 1]])
    with pytest.raises(DataError, match=error_at(path, 3) + "index '0' is already used on line 2"):
        module(path).setup("predict")
    path.write_text(f"index\timage\tlabel\n0\t{image}\n")
    with pytest.raises(DataError, match=error_at(path, 2) + "expected 3 tab-separated fields, got 2"):
        module(path).setup("predict")
    root = write_image_safety_folder(tmp_path / "set", [0, 1])
    (root / "images/1.png").unlink()
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 2) + "image file not found"):
        module(root).setup("predict")


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(DataConfigError, match="set data.path"):
        image_safety_module(None)
    with pytest.raises(DataConfigError, match="data.unsafe_value must be 0 or 1"):
        image_safety_module("x.tsv", unsafe_value=2)
    with pytest.raises(DataConfigError, match="data.format: .csv. is not one of: .folder., .tsv."):
        image_safety_module("x.tsv", format="csv")
    with pytest.raises(DataConfigError, match="data.name: .a/b. must be a plain name"):
        image_safety_module("x.tsv", name="a/b")
    with pytest.raises(DataConfigError, match="data.labels.nsfw: must map to safe or unsafe"):
        image_safety_module("x.tsv", labels={"nsfw": "bad"})
    with pytest.raises(DataConfigError, match="evaluation only"):
        module(write_image_safety_tsv(tmp_path / "s.tsv", LABELS)).setup("fit")


def test_the_config_composes_and_builds(tmp_path):
    path = write_image_safety_tsv(tmp_path / "s.tsv", LABELS)
    cfg = check_overrides("evaluate", ["data=image_safety", f"data.path={path}", "data.name=smid"])
    assert cfg.data.name == "smid" and cfg.data.format is None and cfg.data.unsafe_value == 1

    datamodule = datamodule_of(cfg)
    assert isinstance(datamodule, ImageSafetyDataModule) and len(datamodule.records()) == 5


# ----- end to end ------------------------------------------------------------------------------


def evaluate(run_dir, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR), "HYDRA_FULL_ERROR": "0"}
    command = [
        sys.executable, "-m", "unsafe_vlm", "evaluate", "model=tiny", "generation.max_new_tokens=6",
        "judge.name=tests.helpers.parity_judge:ParityJudge", f"hydra.run.dir={run_dir}", *overrides,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=600)


@pytest.mark.slow
def test_cli_scores_a_tsv_set_from_its_saved_responses(tmp_path):
    path = write_image_safety_tsv(tmp_path / "smid.tsv", LABELS * 2, CATEGORIES * 2)
    data = ["data=image_safety", f"data.path={path}", "data.name=smid", "data.eval_batch_size=4"]
    done = evaluate(tmp_path / "run", *data)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "run/responses/image_safety.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and {r["dataset"] for r in rows} == {"smid"}
    recall = {}
    for gold in ("Safe", "Unsafe"):
        mine = [r for r in rows if r["gold"] == gold]
        recall[gold] = sum(r["judged"] == gold for r in mine) / len(mine)
    assert metrics["generalization/smid/safe_recall"] == pytest.approx(recall["Safe"])
    assert metrics["generalization/smid/unsafe_recall"] == pytest.approx(recall["Unsafe"])
    assert metrics["generalization/smid/balanced_accuracy"] == pytest.approx((recall["Safe"] + recall["Unsafe"]) / 2)
    assert metrics["generalization/smid/n"] == 10 and metrics["generalization/smid/n/violence"] == 4
    assert not any(key.startswith(("perception", "alignment")) for key in metrics)
