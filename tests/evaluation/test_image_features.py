"""An evaluation encodes each image once (``ImageFeatureCache``) and answers exactly as without it, on
every tiny family; a family that cannot share image features is left as it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from helpers.datamodules import shipped_datamodule
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.evaluation.image_features import ImageFeatureCache
from unsafe_vlm.paths import CONF_DIR, REPO_DIR

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
TASKS = ["perception", "alignment_image", "context_image", "alignment_test"]  # the same images, asked again


def tiny_backbone(name: str):
    torch.manual_seed(0)
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml"))).eval()


def evaluation_batches(backbone, cache_dir) -> list[dict]:
    """Every batch of a small evaluation, task after task, as ``predict`` gets them."""
    datamodule = shipped_datamodule(
        "synthetic", tasks=TASKS, limit_per_task=5, eval_batch_size=3, num_workers=0, cache_dir=str(cache_dir)
    )
    datamodule.connect(backbone)
    datamodule.setup("predict")
    return [batch for loader in datamodule.predict_dataloader() for batch in loader]


def image_digests(cache: ImageFeatureCache, batches: list[dict]) -> set[str]:
    rows = [(batch["inputs"], row) for batch in batches for row in range(len(batch["records"]))]
    return {cache._digest(cache.backbone.select_rows(inputs, torch.tensor([row]))) for inputs, row in rows}


def vision_tower(backbone) -> torch.nn.Module:
    model = getattr(backbone.model, "model", backbone.model)
    return next(getattr(model, name) for name in ("vision_tower", "visual", "vision_model") if hasattr(model, name))


@pytest.mark.parametrize("name", TINY_CONFIGS)
def test_greedy_answers_with_shared_image_features_equal_those_without_and_each_image_is_encoded_once(
    name, data_cache
):
    backbone = tiny_backbone(name)
    batches = evaluation_batches(backbone, data_cache)
    plain = [backbone.generate(batch["inputs"], max_new_tokens=8).texts for batch in batches]
    cache = ImageFeatureCache(backbone, limit_mib=64)
    calls = []
    vision_tower(backbone).register_forward_hook(lambda *_: calls.append(1))
    shared = [backbone.generate(cache.encode(batch["inputs"]), max_new_tokens=8).texts for batch in batches]
    assert shared == plain
    if not cache.enabled:  # every batch runs its vision tower
        assert name in FALLS_BACK and len(calls) == len(batches)
        return
    assert len(cache.features) == len(image_digests(cache, batches)) < sum(len(b["records"]) for b in batches)
    assert len(calls) == _encoder_passes(batches, cache)
    again = [cache.encode(batch["inputs"]) for batch in batches]  # every image is cached now
    assert len(calls) == _encoder_passes(batches, cache) and all("image_features" in inputs for inputs in again)


FALLS_BACK = {
    "tiny_instructblip": "its generate takes pixels only",
    "tiny_mllama": "cross-attention: the model has no get_image_features",
    "tiny_qwen3_vl": "deepstack: the language model also reads the tower's middle layers",
}


def _encoder_passes(batches: list[dict], cache: ImageFeatureCache) -> int:
    """Passes of the vision tower when every batch encodes only the images no earlier batch had
    (one per batch with a new image; Qwen2-VL's tower runs once per pass too)."""
    seen: set[str] = set()
    passes = 0
    for batch in batches:
        digests = image_digests(cache, [batch])
        passes += bool(digests - seen)
        seen |= digests
    return passes


def test_no_feature_is_kept_beyond_the_bound_and_a_zero_bound_turns_the_cache_off(data_cache):
    backbone = tiny_backbone("tiny")
    batches = evaluation_batches(backbone, data_cache)
    assert not ImageFeatureCache(backbone, limit_mib=0).enabled
    cache = ImageFeatureCache(backbone, limit_mib=1)
    one_image = cache._encoder_outputs(batches[0]["inputs"])[0]
    cache.limit_bytes = 2 * one_image.numel() * one_image.element_size()  # room for two images
    first = cache.encode(batches[0]["inputs"])
    assert len(cache.features) == 2 and "image_features" in first
    plain = backbone.generate(batches[1]["inputs"], max_new_tokens=8).texts
    assert backbone.generate(cache.encode(batches[1]["inputs"]), max_new_tokens=8).texts == plain
    assert len(cache.features) == 2



def evaluate(run_dir, cache_dir, *extra: str) -> dict[str, bytes]:
    command = [
        sys.executable, "-m", "unsafe_vlm", "evaluate", "model=tiny", "data=synthetic", f"data.cache_dir={cache_dir}",
        "data.limit_per_task=4", "data.eval_batch_size=3", "generation.max_new_tokens=6", f"hydra.run.dir={run_dir}",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    files = [run_dir / "metrics.json", *sorted((run_dir / "responses").glob("*.jsonl"))]
    return {path.name: path.read_bytes() for path in files}


@pytest.mark.slow
def test_evaluate_writes_the_same_metrics_and_responses_with_and_without_the_image_cache(tmp_path, data_cache):
    shared = evaluate(tmp_path / "shared", data_cache)
    assert len(shared) > 2
    assert evaluate(tmp_path / "plain", data_cache, "data.image_cache_mib=0") == shared
