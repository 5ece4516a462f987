"""The pass counter of the benchmarks, and the passes one PPO iteration makes beyond generation."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from helpers.method_settings import lora_settings
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from bench.configs import method_settings
from bench.passes import PassCounter, adapter_role, first_lora_layer
from bench.phases import PhaseTimer
from unsafe_vlm.backbones.lora import add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.records import UNSAFE, Record, RecordBatch
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.methods.ppo import PPOModule, PPOSettings
from unsafe_vlm.paths import CONF_DIR

QUESTIONS = ["Is this image safe?", "Is this image harmful?", "Would you post this image online?", "Is it okay?"]


def tiny():
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    torch.manual_seed(0)
    return build_backbone(model_settings(cfg)).eval(), cfg


def test_passes_are_counted_by_phase_role_and_gradient_and_images_by_phase():
    backbone, cfg = tiny()
    counter = PassCounter(backbone.model)  # before the adapters: peft keeps the hooked model
    add_lora(backbone, lora_settings(cfg.lora))
    inputs = backbone.encode(QUESTIONS[:3], [None] * 3, answers=["No."] * 3)
    with counter.phase("score"):
        backbone(inputs)
        with torch.no_grad(), backbone.reference():
            backbone(inputs)
    with counter.phase("train"), counter.phase("inner"):
        backbone(backbone.select_rows(inputs, torch.tensor([0, 1])))
    assert counter.count("score", "default", grad=True) == 1
    assert counter.count("score", "reference", grad=False) == 1
    assert counter.count("inner") == 1 and counter.count("train") == 0  # the innermost mark counts
    assert counter.count() == 3
    assert sum(counter.rows.values()) == 3 + 3 + 2
    assert counter.images == {"score": 6, "inner": 2}
    assert all(seconds > 0 for seconds in counter.seconds.values())
    counter.reset()
    assert counter.count() == 0
    counter.remove()
    backbone(inputs)
    assert counter.count() == 0


def test_a_model_without_adapters_is_the_base():
    backbone, _ = tiny()
    assert first_lora_layer(backbone.model) is None
    assert adapter_role(None) == "base"


def test_phase_timer_adds_up_wrapped_calls_per_lap():
    class Work:
        def run(self, x):
            return x + 1

    work, timer = Work(), PhaseTimer()
    timer.wrap(work, "run", "work")
    assert work.run(1) == 2 and work.run(2) == 3
    with timer.measure("outer"):
        work.run(0)
    seconds, calls = timer.lap()
    assert calls == {"work": 3, "outer": 1}
    assert seconds["outer"] >= 0 and seconds["work"] >= 0
    assert timer.lap() == ({}, {})


def ppo_iteration_passes(value_adapter: str, *, batch: int = 4, minibatch: int = 2, epochs: int = 2) -> PassCounter:
    """Count the passes of one PPO iteration on the tiny model, marked as the benchmark marks them."""
    L.seed_everything(0, verbose=False)
    backbone, cfg = tiny()
    method = method_settings("ppo", cfg, batch_size=batch, minibatch_size=minibatch, ppo_epochs=epochs,
                             max_new_tokens=4, value_adapter=value_adapter)
    module = PPOModule(backbone, PPOSettings.from_config(method, "method"), lora_settings(cfg.lora), judge=RuleJudge())
    counter = PassCounter(backbone.model)
    timer = PhaseTimer(counter)
    for owner, attribute, phase in ((backbone, "generate", "generate"), (module, "collect_rollout", "rollout"),
                                    (module, "update", "update")):
        timer.wrap(owner, attribute, phase)
    records = RecordBatch(
        Record(id=f"ppo/{i}", task="ppo", question=q, image=None, concept="Arson", category="Illegal activity",
               gold=UNSAFE)
        for i, q in enumerate(QUESTIONS[:batch])
    )
    data = {"records": records, "inputs": backbone.encode([r.question for r in records], [None] * batch)}
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, train_dataloaders=DataLoader([0], batch_size=None, collate_fn=lambda _: data))
    return counter


@pytest.mark.parametrize("value_adapter", ["shared", "separate", "frozen"])
def test_one_ppo_iteration_makes_one_reference_pass_and_one_forward_per_update(value_adapter):
    counter = ppo_iteration_passes(value_adapter)
    updates = 2 * math.ceil(4 / 2)
    assert counter.count("rollout", "reference", grad=False) == 1
    assert counter.count("rollout", "default", grad=False) == 1
    assert counter.count("update", "default", grad=True) == updates
    assert counter.count("update", "reference") == 0
    # the images are encoded in generation and once more for all the passes after it
    assert counter.images == {"generate": 4, "rollout": 4}
    if value_adapter != "separate":  # shared: one pass gives log-probs and values; frozen: the reference pass
        assert counter.count("rollout") == 2 and counter.count("update") == updates
    else:  # the value adapter is a second network over the same rows: one more pass each time
        assert counter.count("rollout", "value") == 1 and counter.count("update", "value", grad=True) == updates
