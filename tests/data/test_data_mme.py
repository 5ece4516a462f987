"""data=mme: an MME-style TSV of yes/no questions about images, and its general-capability scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import mme_module
from helpers.image_sets import png_base64, write_mme_tsv, write_tsv

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.sources.mme import MMEDataModule
from unsafe_vlm.paths import REPO_DIR
from unsafe_vlm.report.rescore import rescore_run

ANSWERS = ["Yes", "No", "yes", "NO", "Yes", "No"]
CATEGORIES = ["existence", "existence", "color", "color", "count", "count"]


def module(path, **settings) -> MMEDataModule:
    datamodule = mme_module(str(path), **settings)
    datamodule.connect(FakeBackbone())
    return datamodule


def test_rows_become_records_with_their_own_questions(tmp_path):
    path = write_mme_tsv(tmp_path / "MME.tsv", ANSWERS, CATEGORIES)
    datamodule = module(path)
    datamodule.setup("predict")
    records = datamodule.records("mme")
    assert [r.id for r in records] == [f"mme/{i}" for i in range(6)]
    assert [r.gold for r in records] == ["Yes", "No", "Yes", "No", "Yes", "No"]
    assert [r.category for r in records] == CATEGORIES
    assert records[3].question == "Is thing 3 in the image? Please answer yes or no."
    assert {r.task for r in records} == {"mme"} and {r.dataset for r in records} == {"mme"}
    assert records[3].source == f"{path}:5"
    assert datamodule.task_names("predict") == ("mme",)


def test_a_row_naming_another_rows_index_shares_its_image(tmp_path):
    datamodule = module(write_mme_tsv(tmp_path / "MME.tsv", ANSWERS), eval_batch_size=4)
    items = datamodule.records()
    assert items[1].image_bytes is items[0].image_bytes and items[2].image_bytes is not items[0].image_bytes
    assert [r.image.rsplit("#", 1)[1] for r in items] == ["0", "0", "2", "2", "4", "4"], "a pair names one image"
    batches = list(datamodule.predict_dataloader()[0])
    greens = torch.cat([b["inputs"]["pixel_values"][:, 1, 0, 0] for b in batches])
    assert torch.allclose(greens, torch.tensor([0.0, 0, 30, 30, 60, 60]) / 255, atol=1e-6)
    assert {r.category for r in datamodule.records()} == {""}


def test_name_limit_and_skips(tmp_path):
    path = write_mme_tsv(tmp_path / "MME.tsv", ANSWERS)
    datamodule = module(path, name="mme_small", limit=3, seed=1)
    datamodule.setup("test")
    assert len(datamodule.records()) == 3 and {r.dataset for r in datamodule.records()} == {"mme_small"}
    datamodule.skip_answered({"mme": [datamodule.records()[0].id]})
    assert len(datamodule.test_dataloader()[0].dataset) == 2


def test_bad_input_names_file_and_line(tmp_path):
    with pytest.raises(DataError, match=error_at(tmp_path / "nope.tsv") + "file not found"):
        module(tmp_path / "nope.tsv").setup("predict")
    image = png_base64((1, 2, 3))
    path = write_tsv(tmp_path / "a.tsv", ["index", "image", "answer"], [[0, image, "Yes"]])
    with pytest.raises(DataError, match=error_at(path, 1) + "missing column.s. 'question'"):
        module(path).setup("predict")
    header = ["index", "image", "question", "answer"]
    path = write_tsv(tmp_path / "b.tsv", header, [[0, image, "Q?", "Yes"], [1, image, "Q?", "Maybe"]])
    with pytest.raises(DataError, match=error_at(path, 3) + "unknown answer 'Maybe'; expected Yes or No"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "c.tsv", header, [[0, image, "Q?", "Yes"], [1, image[:-3] + "@@@", "Q?", "No"]])
    with pytest.raises(DataError, match=error_at(path, 3) + "the image is not valid base64"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "d.tsv", header, [])
    with pytest.raises(DataError, match=error_at(path) + "no rows: the data set is empty"):
        module(path).setup("predict")
    path = write_tsv(tmp_path / "e.tsv", header, [[0, image, "", "Yes"]])
    with pytest.raises(DataError, match=error_at(path, 2) + "empty question"):
        module(path).setup("predict")


def test_quoted_fields_may_span_lines_and_errors_name_the_first(tmp_path):
    image = png_base64((1, 2, 3))
    text = f'index\timage\tquestion\tanswer\n0\t{image}\t"Two\nlines?"\tYes\n1\t{image}\tQ?\tPerhaps\n'
    (tmp_path / "q.tsv").write_text(text)
    with pytest.raises(DataError, match=error_at(tmp_path / "q.tsv", 4) + "unknown answer"):
        module(tmp_path / "q.tsv").setup("predict")
    (tmp_path / "q.tsv").write_text(text.replace("Perhaps", "No"))
    assert module(tmp_path / "q.tsv").records()[0].question == "Two\nlines?"


def test_the_config_composes(tmp_path):
    cfg = check_overrides("evaluate", ["data=mme", f"data.path={tmp_path / 'MME.tsv'}"])
    assert cfg.data.name == "mme" and cfg.data.source == "mme"


class WriteIds(L.LightningModule):
    def __init__(self, out: str):
        super().__init__()
        self.out = out
        self.layer = torch.nn.Linear(1, 1)

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        with open(Path(self.out) / f"rank{self.global_rank}.txt", "a") as file:
            file.writelines(f"{record.id}\n" for record in batch["records"])


@pytest.mark.slow
def test_two_process_predict_sees_every_question_once(tmp_path):
    datamodule = module(write_mme_tsv(tmp_path / "MME.tsv", ANSWERS + ["Yes"]), eval_batch_size=2)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.predict(WriteIds(str(tmp_path)), datamodule=datamodule, return_predictions=False)
    shards = [(tmp_path / f"rank{r}.txt").read_text().split() for r in range(2)]
    assert sorted(map(len, shards)) == [3, 4]
    assert sorted(shards[0] + shards[1]) == sorted(f"mme/{i}" for i in range(7))


@pytest.mark.slow
def test_cli_scores_mme_from_its_saved_responses(tmp_path):
    path = write_mme_tsv(tmp_path / "MME.tsv", ANSWERS * 2, CATEGORIES * 2)
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR), "HYDRA_FULL_ERROR": "0"}
    command = [
        sys.executable, "-m", "unsafe_vlm", "evaluate", "model=tiny", "generation.max_new_tokens=6",
        "judge.name=tests.helpers.parity_judge:ParityJudge", f"hydra.run.dir={tmp_path / 'run'}",
        "data=mme", f"data.path={path}", "data.name=mme_tiny", "data.eval_batch_size=5",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "run/responses/mme.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and {r["judged"] for r in rows} <= {"Yes", "No", "N/A"}
    assert metrics["general/mme_tiny/accuracy"] == pytest.approx(sum(r["judged"] == r["gold"] for r in rows) / 12)
    assert metrics["general/mme_tiny/n"] == 12
    for category in ("existence", "color", "count"):
        mine = [r for r in rows if r["category"] == category]
        expected = sum(r["judged"] == r["gold"] for r in mine) / len(mine)
        assert metrics[f"general/mme_tiny/accuracy/{category}"] == pytest.approx(expected)
    contains = [r["response"] is not None and r["gold"] in r["response"] for r in rows]
    assert metrics["general/mme_tiny/substring_accuracy"] == pytest.approx(sum(contains) / 12)
    pairs = [rows[k : k + 2] for k in range(0, 12, 2)]  # sorted by id: mme/0, mme/1, mme/10, mme/11, ...
    assert all(a["image"] == b["image"] for a, b in pairs) and metrics["general/mme_tiny/n_paired_images"] == 6
    both = sum(all(r["judged"] == r["gold"] for r in pair) for pair in pairs)
    assert metrics["general/mme_tiny/accuracy_plus"] == pytest.approx(both / 6)
    for key in ("accuracy", "substring_accuracy", "accuracy_plus"):
        assert f"ci95/general/mme_tiny/{key}/low" in metrics
    assert not any(key.startswith(("perception", "alignment", "generalization")) for key in metrics)
    assert rescore_run(tmp_path / "run").metrics == metrics  # the report command scores them the same way
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| General capability, substring match: mme_tiny |" in report
    assert "| General capability, accuracy+: mme_tiny |" in report
    assert "| 6 images asked two questions or more |" in report
