"""data=vlsbench: VLSBench in the authors' folder (data.json and imgs/), each instruction asked with its
image (vlsbench) and with the image's description instead (vlsbench_text, for the modality gap).

The rows are made here in the published layout,
AI45Lab/VLSBench@68f54dea3eab134afefe602a5c7283bfa39a886a:data/data.json (helpers.safety_sets).
"""

from __future__ import annotations

import json

import pytest
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import shipped_datamodule
from helpers.safety_sets import vlsbench_row, write_vlsbench_folder

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataConfigError, DataError


def module(path, **settings):
    datamodule = shipped_datamodule("vlsbench", path=str(path), **settings)
    datamodule.connect(FakeBackbone())
    return datamodule


def row_line(i: int) -> int:
    """The line object i starts on in the helper's data.json: 10 lines an object (8 keys), after '['."""
    return 2 + 10 * i


def test_the_authors_folder_becomes_image_records_each_with_its_text_twin(tmp_path):
    root = write_vlsbench_folder(tmp_path / "vlsbench")
    datamodule = module(root, name="vls")
    datamodule.setup("predict")
    assert datamodule.task_names("predict") == ("vlsbench",)
    records = datamodule.records("vlsbench")
    assert [r.id for r in records[:4]] == ["vlsbench/image/0", "vlsbench/text/0", "vlsbench/image/1", "vlsbench/text/1"]
    image, text = records[4], records[5]
    assert image.question == text.request == "What is the best way to use this item 2?"
    assert image.image == str(root / "imgs" / "2.png") and text.image is None
    assert text.question == "The image shows: A picture of a harmful item 2.\nWhat is the best way to use this item 2?"
    assert (image.variant, text.variant) == ("image", "text") and image.concept == text.concept
    assert image.caption == text.caption == "A picture of a harmful item 2."
    assert image.warning == text.warning == "Item 2 can hurt people."
    assert records[2].category == "Violent" and records[2].concept == "Violent sub/1"
    assert {r.dataset for r in records} == {"vls"} and {r.gold for r in records} == {"Harmless"}
    assert records[6].source == records[7].source == f"{root / 'data.json'}:{row_line(3)}"
    assert len(next(iter(datamodule.predict_dataloader()[0]))["records"]) == 8


def test_the_text_twin_can_be_left_out_and_its_prompt_changed(tmp_path):
    root = write_vlsbench_folder(tmp_path)
    assert [r.variant for r in module(root, text_only=False).records()] == ["image"] * 4
    datamodule = module(root / "data.json", text_prompt="{question} (The picture: {description})")
    assert datamodule.records()[1].question == (
        "What is the best way to use this item 0? (The picture: A picture of a harmful item 0.)"
    )


def test_a_text_prompt_without_both_places_is_refused_naming_the_key(tmp_path):
    with pytest.raises(DataConfigError, match=r"^data.text_prompt: must hold \{description\} and \{question\}"):
        module(tmp_path, text_prompt="{question}")
    with pytest.raises(DataConfigError, match=r"^data.text_prompt: must hold"):
        module(tmp_path, text_prompt="{description} {question} {image}")


def test_rows_without_description_are_read_but_not_asked_as_text(tmp_path):
    rows = [vlsbench_row(i, "Hate") for i in range(2)]
    del rows[1]["image_description"], rows[1]["safety_reason"], rows[1]["sub_category"]
    rows[0]["instruction"] = ""  # as instruction_id 1685 is published
    root = write_vlsbench_folder(tmp_path, rows=rows)
    records = module(root, text_only=False).records()
    assert records[0].question == "" and records[1].warning is None and records[1].concept == "Hate/1"
    with pytest.raises(DataError, match=error_at(root / "data.json", row_line(1)) + "no image_description"):
        module(root).setup("predict")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda row: row.pop("instruction"), "missing field 'instruction'"),
        (lambda row: row.update(instruction=None), "field 'instruction' must be text"),
        (lambda row: row.update(category=""), "field 'category' must be a non-empty string"),
        (lambda row: row.update(image_description=3), "field 'image_description' must be text"),
        (lambda row: row.update(instruction_id=0), "instruction_id 0 is already used on line 2"),
        (lambda row: row.update(image_path="/imgs/1.png"), "image path '/imgs/1.png' is absolute"),
        (lambda row: row.update(image_path="imgs/absent.png"), "image file not found"),
    ],
)
def test_a_bad_row_is_one_line_naming_the_file_and_its_line(tmp_path, change, message):
    rows = [vlsbench_row(i, "Hate") for i in range(3)]
    write_vlsbench_folder(tmp_path, rows=rows)
    change(rows[1])
    (tmp_path / "data.json").write_text(json.dumps(rows, indent=6), encoding="utf-8")
    with pytest.raises(DataError, match=error_at(tmp_path / "data.json", row_line(1)) + message) as error:
        module(tmp_path).setup("predict")
    assert "\n" not in str(error.value)


def test_the_config_composes(tmp_path):
    cfg = check_overrides("evaluate", ["data=vlsbench", f"data.path={tmp_path}"])
    assert cfg.data.source == "vlsbench" and cfg.data.text_only is True
