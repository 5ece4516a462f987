"""The synthetic stand-in: published layout, determinism, distinct visual codes, the cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from helpers.benchmark_files import FakeBackbone, error_at
from helpers.datamodules import datamodule_of
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

import unsafe_vlm.data.synth as cache_module
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.synth import SynthParams, ensure_synthetic, run_synth, synthetic_dir, write_synthetic
from unsafe_vlm.data.synth.codes import PALETTE, codebook, concept_codes, distance
from unsafe_vlm.data.synth.generate import safe_images_needed, unsafe_image, unsafe_rows
from unsafe_vlm.data.taxonomy import published_taxonomy, safe_concepts
from unsafe_vlm.paths import CONF_DIR, REPO_DIR

TINY = {"images_per_concept": 1, "safe_concepts": 10, "safe_images_per_concept": 2}
SMALL = {"images_per_concept": 5, "safe_concepts": 30}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return run_synth(out=tmp_path_factory.mktemp("synth") / "small", **SMALL)


def test_writes_the_published_layout(small_set):
    unsafe_rows = [json.loads(line) for line in (small_set / "metadata.jsonl").read_text().splitlines()]
    assert len(unsafe_rows) == 75 * 5
    assert unsafe_rows[0] == {"image_filename": "images/0.png", "category": "Hate", "unsafe_concept": "Swastika"}
    perception = [json.loads(line) for line in (small_set / "perception_metadata.jsonl").read_text().splitlines()]
    assert [{k: r[k] for k in unsafe_rows[0]} for r in perception] == unsafe_rows
    assert perception[0]["option_str"].count(" \n") == 3 and perception[0]["correct_option"] in "ABCD"
    safe_rows = [json.loads(line) for line in (small_set / "safe/metadata.jsonl").read_text().splitlines()]
    assert {r["concept"] for r in safe_rows} == set(safe_concepts()[:30])
    with Image.open(small_set / "images/7.png") as image:
        assert (image.size, image.mode) == ((32, 32), "RGB")


def test_loads_as_data_unsafe_concepts_through_the_real_data_path(small_set, tmp_path):
    GlobalHydra.instance().clear()
    overrides = [
        "+data=unsafe_concepts",
        "+prompts=default",
        f"data.root={small_set}",
        f"data.safe_root={small_set}/safe",
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(overrides=[*overrides, f"data.cache_dir={tmp_path}"])
    datamodule = datamodule_of(cfg)
    datamodule.connect(FakeBackbone(), train_format="sft", batch_size=8)
    datamodule.setup("fit")
    unsafe, safe = datamodule.splits()
    assert (len(unsafe.train), len(unsafe.test)) == (75 * 4, 75)
    assert (len(safe.train), len(safe.test)) == (75 * 4, 75)
    assert len(datamodule.records("sft")) == 2 * 75 * 4
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["inputs"]["pixel_values"].shape == (8, 3, 4, 4)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    first = digest(run_synth(out=tmp_path / "a", seed=5, **TINY))
    again = digest(run_synth(out=tmp_path / "b", seed=5, **TINY))
    other = digest(run_synth(out=tmp_path / "c", seed=6, **TINY))
    assert first == again
    images = [name for name in first if name.endswith(".png")]
    assert len(images) == 75 + 20
    assert sum(first[name] != other[name] for name in images) == len(images)


def test_run_synth_replaces_only_a_synthetic_data_set_and_only_when_asked(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match=error_at(out) + "exists and is not empty .*overwrite=true"):
        run_synth(out=out, **TINY)
    with pytest.raises(DataError, match=error_at(out) + "holds something other than a synthetic data set"):
        run_synth(out=out, overwrite=True, **TINY)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"
    generated = tmp_path / "generated"
    run_synth(out=generated, **TINY)
    (generated / "stale.txt").write_text("from an earlier run")
    run_synth(out=generated, overwrite=True, seed=1, **TINY)
    assert not (generated / "stale.txt").exists() and (generated / "metadata.jsonl").is_file()
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(DataError, match=error_at(tmp_path / "a-file") + "is a file, not a folder"):
        run_synth(out=tmp_path / "a-file", overwrite=True, **TINY)
    with pytest.raises(DataError, match="out=DIR"):
        run_synth(out="???")
    with pytest.raises(ValueError, match="unknown synthetic parameter"):
        SynthParams.from_mapping({"colours": 3})


def test_visual_codes_are_distinct_at_least_three_factors_apart_and_shared_by_both_sides():
    codes = concept_codes(len(published_taxonomy().concepts) + len(safe_concepts()))
    assert len(codebook()) >= len(codes) >= 175
    assert min(distance(a, b) for a, b in combinations(codes, 2)) >= 3
    for a, b in combinations(codes, 2):
        assert (a.background, a.band, a.foreground) != (b.background, b.band, b.foreground)
    assert all(c.background != "white" and c.band != c.background != c.foreground for c in codes)
    unsafe, safe = codes[:75], codes[75:]
    for factor in ("background", "texture", "shape"):
        assert {getattr(c, factor) for c in unsafe} == {getattr(c, factor) for c in safe}
    assert set(PALETTE) >= {c.foreground for c in codes}


def test_concepts_are_told_apart_from_raw_pixels_by_nearest_class_mean(small_set):
    """A cheap check that codes survive nuisance: held-out images, 105 concepts, chance is 1%."""

    def load(folder: Path, key: str) -> tuple[np.ndarray, list[str]]:
        rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
        pixels = np.stack([np.asarray(Image.open(folder / r["image_filename"]), dtype=np.float32) for r in rows])
        return pixels.reshape(len(rows), -1), [r[key] for r in rows]

    unsafe_x, unsafe_y = load(small_set, "unsafe_concept")
    safe_x, safe_y = load(small_set / "safe", "concept")
    x, labels = np.concatenate([unsafe_x, safe_x]), np.array(unsafe_y + safe_y)
    held_out = np.zeros(len(labels), dtype=bool)
    for concept in set(labels):
        held_out[np.flatnonzero(labels == concept)[-1]] = True  # the last image of each concept
    classes = sorted(set(labels))
    means = np.stack([x[~held_out & (labels == c)].mean(axis=0) for c in classes])
    nearest = ((x[held_out][:, None, :] - means[None]) ** 2).sum(-1).argmin(axis=1)
    accuracy = (np.array(classes)[nearest] == labels[held_out]).mean()
    assert accuracy > 0.8, accuracy


def test_safe_side_is_sized_to_balance_the_unsafe_side_after_the_split():
    per_concept = safe_images_needed([20] * 75, 132, 0.8)
    total = per_concept * 132
    assert int(total * 0.8) >= 1200 and total - int(total * 0.8) >= 300
    smaller = (per_concept - 1) * 132
    assert int(smaller * 0.8) < 1200 or smaller - int(smaller * 0.8) < 300


def test_published_counts_mirror_the_real_benchmark(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr("unsafe_vlm.data.synth.generate._draw", lambda code, params, path, key: drawn.append(key))
    run_synth(out=tmp_path / "p", published_counts=True, safe_concepts=5, safe_images_per_concept=1)
    counts = Counter(key[1] for key in drawn if key[0] == 0)
    assert sum(counts.values()) == 1567 and counts[0] == 13  # 13 images of Swastika


def test_cache_generates_once_per_parameter_set(tmp_path, monkeypatch):
    calls = []
    real = cache_module.write_synthetic
    monkeypatch.setattr(cache_module, "write_synthetic", lambda p, out: calls.append(p) or real(p, out))
    params = SynthParams(**TINY)
    first = ensure_synthetic(params, tmp_path)
    assert ensure_synthetic(params, tmp_path) == first == synthetic_dir(params, tmp_path)
    assert len(calls) == 1
    changed = ensure_synthetic(SynthParams(**{**TINY, "noise": 2.0}), tmp_path)
    assert changed != first and len(calls) == 2


def test_a_foreign_folder_under_the_key_is_an_error_not_a_data_set(tmp_path):
    params = SynthParams(**TINY)
    synthetic_dir(params, tmp_path).mkdir(parents=True)
    (synthetic_dir(params, tmp_path) / "notes.txt").write_text("not a data set")
    with pytest.raises(DataError, match=error_at(synthetic_dir(params, tmp_path)) + "holds something other"):
        ensure_synthetic(params, tmp_path)


def test_interrupted_generation_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    def fail_midway(params, out):
        (out / "metadata.jsonl").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module, "write_synthetic", fail_midway)
    params = SynthParams(**TINY)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic(params, tmp_path)
    assert not synthetic_dir(params, tmp_path).exists()
    assert list((tmp_path / "synthetic").iterdir()) == []


def test_the_synth_command_writes_only_the_data_set(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    args = ["out=data_set", "images_per_concept=1", "safe_concepts=3", "safe_images_per_concept=1"]
    result = subprocess.run(
        [sys.executable, "-m", "unsafe_vlm", "synth", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data_set"]
    assert (tmp_path / "data_set/safe/metadata.jsonl").is_file()


@pytest.mark.slow
def test_a_small_cnn_recognises_held_out_images_of_all_concepts(tmp_path):
    """The bar a later issue sets for a ~1M-parameter VLM: >= 0.9 held-out recognition at 32x32."""
    import torch
    from torch import nn

    root = run_synth(out=tmp_path / "default")
    rows = [json.loads(line) for line in (root / "metadata.jsonl").read_text().splitlines()]
    safe_rows = [json.loads(line) for line in (root / "safe/metadata.jsonl").read_text().splitlines()]
    paths = [root / r["image_filename"] for r in rows] + [root / "safe" / r["image_filename"] for r in safe_rows]
    labels = [r["unsafe_concept"] for r in rows] + [r["concept"] for r in safe_rows]
    classes = {c: i for i, c in enumerate(dict.fromkeys(labels))}
    x = torch.tensor(np.stack([np.asarray(Image.open(p)) for p in paths])).permute(0, 3, 1, 2).float() / 255
    y = torch.tensor([classes[c] for c in labels])
    generator = torch.Generator().manual_seed(0)
    test = torch.zeros(len(y), dtype=torch.bool)
    for c in range(len(classes)):
        members = torch.nonzero(y == c).flatten()
        test[members[torch.randperm(len(members), generator=generator)[: max(1, len(members) // 5)]]] = True
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(256, len(classes)),
    )  # fmt: skip
    optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3)
    train_x, train_y = x[~test], y[~test]
    for _ in range(12):
        for batch in torch.randperm(len(train_y)).split(64):
            loss = nn.functional.cross_entropy(net(train_x[batch]), train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        accuracy = (net(x[test]).argmax(1) == y[test]).float().mean().item()
    assert accuracy >= 0.9, accuracy


def test_one_unsafe_image_drawn_alone_equals_the_written_one(tmp_path):
    params = SynthParams(images_per_concept=2, safe_concepts=2, safe_images_per_concept=1)
    write_synthetic(params, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    assert [concept for concept, _ in unsafe_rows(params)] == [row["unsafe_concept"] for row in rows]
    for row in (0, 3, len(rows) - 1):
        written = np.asarray(Image.open(tmp_path / "images" / f"{row}.png").convert("RGB"))
        assert np.array_equal(np.asarray(unsafe_image(params, row)), written)
