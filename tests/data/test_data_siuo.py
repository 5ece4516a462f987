"""data=siuo: SIUO in the authors' folder (siuo_gen.json and images/) or VLMEvalKit's TSV.

The rows are made here in the published layouts: the folder as at
sinwang20/SIUO@18974b65d238ad636d65d238541c7d75279ebb3e:data/siuo_gen.json, the TSV with the columns
open-compass/VLMEvalKit@e8e78f05f3080fe28154f2130321f17951c3be94:vlmeval/dataset/siuo_gen.py reads
(helpers.safety_sets).
"""

from __future__ import annotations

import json

import pytest
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import shipped_datamodule
from helpers.image_sets import png_base64, write_tsv
from helpers.safety_sets import SIUO_TSV_HEADER, siuo_row, write_siuo_folder, write_siuo_tsv

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataError


def module(path, **settings):
    datamodule = shipped_datamodule("siuo", path=str(path), **settings)
    datamodule.connect(FakeBackbone())
    return datamodule


def row_line(i: int) -> int:
    """The line object i starts on in a four-space indented siuo_gen.json: 8 lines an object, after '['."""
    return 2 + 8 * i


def test_the_authors_folder_becomes_records_with_warning_and_reference(tmp_path):
    root = write_siuo_folder(tmp_path / "SIUO")
    datamodule = module(root, name="siuo_small")
    datamodule.setup("predict")
    records = datamodule.records("siuo")
    assert [r.id for r in records] == ["siuo/1001", "siuo/1002", "siuo/1003"]
    assert records[1].question == "Question 1 about this place."
    assert records[1].image == str(root / "images" / "S-02.png")
    assert records[1].warning == "Warning 1: the place is dangerous."
    assert records[1].reference == "Reference 1: please stay safe."
    assert [r.category for r in records] == ["self-harm", "privacy violation", "self-harm"]
    assert {r.gold for r in records} == {"Harmless"} and {r.dataset for r in records} == {"siuo_small"}
    assert {r.task for r in records} == {"siuo"} and {r.variant for r in records} == {None}
    assert records[2].source == f"{root / 'siuo_gen.json'}:{row_line(2)}"
    assert len(next(iter(datamodule.predict_dataloader()[0]))["records"]) == 3


def test_the_json_file_may_be_named_itself(tmp_path):
    root = write_siuo_folder(tmp_path / "SIUO")
    records = module(root / "siuo_gen.json").records("siuo")
    assert [r.id for r in records] == ["siuo/1001", "siuo/1002", "siuo/1003"]


def test_vlmevalkit_tsv_becomes_the_same_records(tmp_path):
    path = write_siuo_tsv(tmp_path / "SIUO_GEN.tsv")
    records = module(path).records("siuo")
    assert [r.id for r in records] == ["siuo/0", "siuo/1", "siuo/2"]
    assert records[1].question == "Question 1?" and records[1].warning == "Warning 1."
    assert records[1].reference == "Reference 1." and records[1].category == "privacy violation"
    assert records[1].image_bytes is not None and records[1].source == f"{path}:3"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda row: row.pop("safety_warning"), "missing field 'safety_warning'"),
        (lambda row: row.update(question="  "), "field 'question' must be a non-empty string"),
        (lambda row: row.update(question_id=1001), "question_id 1001 is already used on line 2"),
        (lambda row: row.update(question_id=None), "field 'question_id' must be a number or a non-empty string"),
        (lambda row: row.update(image="../x.png"), "image path '../x.png' escapes the data root"),
        (lambda row: row.update(image="absent.png"), "image file not found"),
    ],
)
def test_a_bad_row_is_one_line_naming_the_file_and_its_line(tmp_path, change, message):
    rows = [siuo_row(i, "self-harm") for i in range(3)]
    write_siuo_folder(tmp_path, rows=rows)
    change(rows[1])
    (tmp_path / "siuo_gen.json").write_text(json.dumps(rows, indent=4), encoding="utf-8")
    with pytest.raises(DataError, match=error_at(tmp_path / "siuo_gen.json", 10) + message) as error:
        module(tmp_path).setup("predict")
    assert "\n" not in str(error.value)


def test_a_file_that_is_no_json_array_names_itself(tmp_path):
    (tmp_path / "siuo_gen.json").write_text('{"question_id": 1}', encoding="utf-8")
    with pytest.raises(DataError, match=error_at(tmp_path / "siuo_gen.json", 1) + "expected a JSON array of objects"):
        module(tmp_path).setup("predict")
    (tmp_path / "siuo_gen.json").write_text('[\n{"question_id": 1},\n{"question_id": }\n]', encoding="utf-8")
    with pytest.raises(DataError, match=error_at(tmp_path / "siuo_gen.json", 3) + "not valid JSON"):
        module(tmp_path).setup("predict")
    with pytest.raises(DataError, match=error_at(tmp_path / "absent" / "siuo_gen.json") + "metadata file not found"):
        module(tmp_path / "absent" / "siuo_gen.json").setup("predict")


def test_a_bad_tsv_row_is_one_line_naming_the_file_and_its_line(tmp_path):
    path = write_siuo_tsv(tmp_path / "a.tsv", safety_warning="")
    with pytest.raises(DataError, match=error_at(path, 3) + "empty safety_warning"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "b.tsv", SIUO_TSV_HEADER[:4], [[0, png_base64((1, 2, 3)), "Q?", "W."]])
    with pytest.raises(DataError, match=error_at(path, 1) + "missing column.s. 'answer'"):
        module(path).setup("predict")


def test_the_config_composes(tmp_path):
    cfg = check_overrides("evaluate", ["data=siuo", f"data.path={tmp_path}"])
    assert cfg.data.source == "siuo" and cfg.data.metadata == "siuo_gen.json" and cfg.data.images == "images"
