"""A real two-process DDP run: every evaluation record is predicted exactly once across ranks."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from helpers.benchmark_files import FakeBackbone, write_safe_images
from helpers.datamodules import benchmark_module
from PIL import Image


class WriteIds(L.LightningModule):
    """Writes the id of every record it is shown to ``<out>/rank<r>.txt``."""

    def __init__(self, out: str):
        super().__init__()
        self.out = out
        self.layer = torch.nn.Linear(1, 1)  # DDP needs a parameter to wrap

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        with open(Path(self.out) / f"rank{self.global_rank}.txt", "a") as file:
            file.writelines(f"{record.id}\n" for record in batch["records"])


@pytest.mark.slow
def test_two_process_predict_sees_every_record_once(tmp_path):
    root = tmp_path / "unsafe"
    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(7):  # an odd count, so the shards differ in size
        Image.new("RGB", (4, 4), (30 * i, 0, 0)).save(root / f"images/{i}.png")
        lines.append(f'{{"image_filename": "images/{i}.png", "category": "Hate", "unsafe_concept": "Swastika"}}')
    (root / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    safe = write_safe_images(tmp_path / "safe", ["goldfish"], per_concept=10)
    datamodule = benchmark_module(
        root=str(root),
        safe_root=str(safe),
        tasks=["perception", "alignment_image", "alignment_text", "alignment_test"],
        eval_batch_size=3,
    )
    datamodule.connect(FakeBackbone())
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
    expected = benchmark_module(root=str(root), safe_root=str(safe), tasks=datamodule.tasks)
    all_ids = sorted(r.id for task in expected.tasks for r in expected.records(task))
    assert sorted(shards[0] + shards[1]) == all_ids
    assert shards[0] and shards[1]


def test_the_resumable_sampler_starts_an_epoch_where_a_resumed_run_stopped():
    from unsafe_vlm.data.base import ResumableDistributedSampler

    dataset = list(range(10))
    whole = list(ResumableDistributedSampler(dataset, num_replicas=1, rank=0, seed=3))
    resumed = list(ResumableDistributedSampler(dataset, num_replicas=1, rank=0, seed=3, offset=lambda: 4))
    assert sorted(whole) == dataset and resumed == whole[4:]
    sampler = ResumableDistributedSampler(dataset, num_replicas=1, rank=0, seed=3)
    sampler.set_epoch(1)
    assert list(sampler) != whole  # a new shuffle each epoch, the same one on every rank
