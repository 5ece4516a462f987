"""data=llavabench: a LLaVABench-style TSV of open questions with reference answers and captions."""

from __future__ import annotations

import pytest
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import shipped_datamodule
from helpers.image_sets import LLAVABENCH_HEADER, png_base64, write_llavabench_tsv, write_tsv

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.sources.llavabench import LLaVABenchDataModule

CATEGORIES = ["conv", "detail", "complex", "conv"]


def module(path, **settings) -> LLaVABenchDataModule:
    datamodule = shipped_datamodule("llavabench", path=str(path), **settings)
    datamodule.connect(FakeBackbone())
    return datamodule


def test_rows_become_records_with_reference_and_caption(tmp_path):
    path = write_llavabench_tsv(tmp_path / "LLaVABench.tsv", CATEGORIES)
    datamodule = module(path, name="lb")
    datamodule.setup("predict")
    records = datamodule.records("llavabench")
    assert [r.id for r in records] == [f"llavabench/{i}" for i in range(4)]
    assert records[2].question == "What is in picture 2?" and records[2].gold == "Reference answer 2."
    assert records[2].caption == "A photo of thing 2." and [r.category for r in records] == CATEGORIES
    assert {r.task for r in records} == {"llavabench"} and {r.dataset for r in records} == {"lb"}
    assert records[3].source == f"{path}:5" and datamodule.task_names("predict") == ("llavabench",)
    assert records[1].image_bytes is records[0].image_bytes and records[1].image == records[0].image
    assert records[2].image != records[0].image
    assert len(next(iter(datamodule.predict_dataloader()[0]))["records"]) == 4


def _row(index, image=None, **cells):
    values = {"question": "Q?", "gpt4_ans": "Ref.", "caption": "Cap.", "category": "conv", **cells}
    return [index, image or png_base64((1, 2, 3)), *(values[c] for c in LLAVABENCH_HEADER[2:])]


def test_bad_input_is_one_line_naming_file_and_row(tmp_path):
    path = write_tsv(
        tmp_path / "a.tsv", ["index", "image", "question", "caption"], [[0, png_base64((1, 2, 3)), "Q", "C"]]
    )
    with pytest.raises(DataError, match=error_at(path, 1) + "missing column.s. 'gpt4_ans'"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "b.tsv", LLAVABENCH_HEADER, [_row(0), _row(1, image="@@@" * 30)])
    with pytest.raises(DataError, match=error_at(path, 3) + "the image is not valid base64"):
        module(path).setup("predict")
    path = write_tsv(
        tmp_path / "c.tsv", LLAVABENCH_HEADER, [_row(0), _row(1, image=png_base64((1, 2, 3))[:40] + "AAAA")]
    )
    with pytest.raises(DataError, match=error_at(path, 3) + "the base64 text does not decode to an image"):
        module(path).setup("predict")
    for column in ("question", "gpt4_ans", "caption"):
        path = write_tsv(tmp_path / f"{column}.tsv", LLAVABENCH_HEADER, [_row(0), _row(1, **{column: ""})])
        with pytest.raises(DataError, match=error_at(path, 3) + f"empty {column}"):
            module(path).setup("predict")
    path = write_tsv(tmp_path / "d.tsv", LLAVABENCH_HEADER, [_row(0), _row(0)])
    with pytest.raises(DataError, match=error_at(path, 3) + "index '0' is already used on line 2"):
        module(path).setup("predict")


def test_the_config_composes(tmp_path):
    cfg = check_overrides("evaluate", ["data=llavabench", f"data.path={tmp_path / 'LLaVABench.tsv'}"])
    assert cfg.data.name == "llavabench" and cfg.data.source == "llavabench"
