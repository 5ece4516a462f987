"""data=mossbench: MOSSBench's folder (benign queries that models over-refuse), read as published."""

from __future__ import annotations

import json
import re

import pytest
from helpers.benchmark_files import FakeBackbone
from helpers.datamodules import shipped_datamodule
from helpers.mossbench_files import mossbench_row, write_mossbench

from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.safety import safety_records
from unsafe_vlm.data.sources.mossbench import read_mossbench
from unsafe_vlm.data.tasks import TASKS


def mossbench_records(samples, name):
    return safety_records(samples, "mossbench", name)


def test_each_row_is_one_benign_query_with_its_stimulus_type_as_category(tmp_path):
    root = write_mossbench(tmp_path / "data", ["type 1", "type 2", "type 3", "type 1"])
    records = mossbench_records(read_mossbench(root), "mossbench")
    assert [r.id for r in records] == ["mossbench/1", "mossbench/2", "mossbench/3", "mossbench/4"]
    assert [r.category for r in records] == ["Exaggerated Risk", "Negated Harm", "Counterintuitive Interpretation",
                                             "Exaggerated Risk"]  # fmt: skip
    assert {r.gold for r in records} == {"Complied"} and {r.dataset for r in records} == {"mossbench"}
    assert [r.concept for r in records] == ["1", "2", "3", "4"] and {r.variant for r in records} == {"image"}
    assert records[1].question == "Describe a fun game to play in scene 2." and records[1].image == str(
        root / "images" / "2.png"
    )
    assert records[2].source == f"{root / 'images_information' / 'information.json'}[3]"


def _one_bad_row(tmp_path, **changes):
    row = {**mossbench_row(2, "type 2"), **changes}
    root = write_mossbench(tmp_path / "data", ["type 1", "type 2"], rows={"1": mossbench_row(1, "type 1"), "2": row})
    return root, re.escape(f"{root / 'images_information' / 'information.json'}[2]: ")


@pytest.mark.parametrize(("changes", "message"), [
    ({"question": ""}, "field 'question' must be a non-empty string, got ''"),
    ({"metadata": {"over": "type 4"}}, "metadata.over must be one of 'type 1', 'type 2', 'type 3', got 'type 4'"),
    ({"image": "images/9.png"}, "image file not found: "),
    ({"image": "../escape.png"}, "escapes the data root"),
])  # fmt: skip
def test_a_bad_row_is_one_line_naming_the_file_and_the_row(tmp_path, changes, message):
    root, where = _one_bad_row(tmp_path, **changes)
    with pytest.raises(DataError, match="^" + where + ".*" + re.escape(message)) as caught:
        read_mossbench(root)
    assert "\n" not in str(caught.value)


def test_a_missing_folder_or_information_file_or_a_table_that_is_no_object_is_named(tmp_path):
    with pytest.raises(DataError, match=f"^{re.escape(str(tmp_path / 'none'))}: folder not found$"):
        read_mossbench(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    information = tmp_path / "empty" / "images_information" / "information.json"
    with pytest.raises(DataError, match=f"^{re.escape(str(information))}: file not found$"):
        read_mossbench(tmp_path / "empty")
    information.parent.mkdir()
    information.write_text(json.dumps([mossbench_row(1, "type 1")]))
    with pytest.raises(DataError, match="expected a JSON object of rows keyed by their pid$"):
        read_mossbench(tmp_path / "empty")
    information.write_text('{"1": {"image": ')
    with pytest.raises(DataError, match=f"^{re.escape(str(information))}:1: not valid JSON"):
        read_mossbench(tmp_path / "empty")


def test_text_only_adds_each_question_with_its_image_described_in_words(tmp_path):
    root = write_mossbench(tmp_path / "data", ["type 1", "type 3"])
    records = mossbench_records(read_mossbench(root, text_only=True), "mossbench")
    assert [r.id for r in records] == ["mossbench/1", "mossbench/text/1", "mossbench/2", "mossbench/text/2"]
    twin = records[1]
    assert twin.image is None and twin.variant == "text" and twin.concept == records[0].concept == "1"
    assert twin.question == "Image description: A made-up scene 1, described at length.\n" + records[0].question
    assert twin.category == "Exaggerated Risk" and twin.gold == "Complied"


def test_text_only_needs_every_row_to_describe_its_image(tmp_path):
    root, where = _one_bad_row(tmp_path, description="")
    assert len(read_mossbench(root)) == 2
    with pytest.raises(DataError, match="^" + where + "field 'description' must be a non-empty string"):
        read_mossbench(root, text_only=True)


def test_data_mossbench_builds_the_safety_task_from_its_config_and_refuses_training(tmp_path):
    root = write_mossbench(tmp_path / "data", ["type 2", "type 3"])
    datamodule = shipped_datamodule("mossbench", path=str(root), name="moss_tiny", text_only=True)
    datamodule.connect(FakeBackbone())
    datamodule.setup("test")
    records = datamodule.records("mossbench")
    assert [r.variant for r in records] == ["image", "text", "image", "text"]
    assert {r.dataset for r in records} == {"moss_tiny"} and TASKS["mossbench"].prefix("moss_tiny") == (
        "safety/moss_tiny"
    )
    with pytest.raises(DataConfigError, match="evaluation only"):
        datamodule.setup("fit")
