"""Collation: each kind of batch calls the backbone's ``encode`` with the right arguments."""

from __future__ import annotations

import pytest
import torch
from helpers.benchmark_files import FakeBackbone, error_at
from lightning.fabric.utilities.apply_func import move_data_to_device
from PIL import Image

from unsafe_vlm.data.base import Collator
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.records import Record, RecordBatch


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(path)
    return str(path)


def record(task: str, image: str | None, **fields) -> Record:
    base = {"question": f"{task}?", "concept": "Arson", "category": "Illegal activity", "gold": "Unsafe"}
    return Record(id=f"{task}/{len(fields)}", task=task, image=image, **{**base, **fields})


@pytest.mark.parametrize("task", ["perception", "alignment_image", "alignment_test"])
def test_evaluation_batches_encode_question_and_image_without_answers(task, image_path):
    backbone = FakeBackbone()
    records = [record(task, image_path), record(task, image_path, gold="Safe")]
    batch = Collator(backbone, "eval")(records)
    assert set(batch) == {"records", "inputs"} and batch["records"] == records
    (call,) = backbone.calls
    assert call["questions"] == [f"{task}?", f"{task}?"] and call["answers"] is None
    assert all(isinstance(i, Image.Image) and i.mode == "RGB" for i in call["images"])
    assert batch["inputs"]["pixel_values"][0, 0, 0, 0] == pytest.approx(1.0)


def test_text_only_batches_pass_no_image(image_path):
    backbone = FakeBackbone()
    Collator(backbone, "eval")([record("alignment_text", None)])
    assert backbone.calls[0]["images"] == [None]


def test_sft_encodes_the_answer(image_path):
    backbone = FakeBackbone()
    batch = Collator(backbone, "sft")([record("sft", image_path, answer="No, it is unsafe.")])
    assert backbone.calls[0]["answers"] == ["No, it is unsafe."]
    assert batch["inputs"]["answer_mask"].any()


def test_dpo_encodes_chosen_then_rejected_rows_over_the_same_images(image_path):
    backbone = FakeBackbone()
    records = [record("dpo", image_path, answer="No.", rejected="Yes."), record("dpo", None, answer="A", rejected="B")]
    batch = Collator(backbone, "dpo")(records)
    assert set(batch) == {"records", "pairs"}
    (call,) = backbone.calls  # one batch of 2B rows: one forward pass scores chosen and rejected
    assert call["answers"] == ["No.", "A", "Yes.", "B"]
    assert call["questions"] == ["dpo?"] * 4
    assert call["images"][0] is call["images"][2] and call["images"][1] is call["images"][3] is None


def test_ppo_encodes_a_prompt_only(image_path):
    backbone = FakeBackbone()
    batch = Collator(backbone, "ppo")([record("ppo", image_path)])
    assert backbone.calls[0]["answers"] is None
    assert batch["records"][0].gold == "Unsafe"


def test_training_batch_without_targets_is_an_error(image_path):
    with pytest.raises(ValueError, match="without 'rejected'"):
        Collator(FakeBackbone(), "dpo")([record("dpo", image_path, answer="No.")])
    with pytest.raises(ValueError, match="unknown collate kind"):
        Collator(FakeBackbone(), "rlhf")


def test_unreadable_image_at_collate_names_the_metadata_line_and_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    bad = record("alignment_image", str(broken), source="/data/metadata.jsonl:12")
    with pytest.raises(DataError, match=error_at("/data/metadata.jsonl", 12) + r"cannot read image .*broken.png"):
        Collator(FakeBackbone(), "eval")([bad])


def test_batches_survive_lightning_device_transfer(image_path):
    records = [record("alignment_image", image_path, options=("a", "b"))]
    batch = Collator(FakeBackbone(), "eval")(records)
    moved = move_data_to_device(batch, torch.device("cpu"))
    assert isinstance(moved["records"], RecordBatch) and moved["records"] == records
    assert torch.equal(moved["inputs"]["input_ids"], batch["inputs"]["input_ids"])
