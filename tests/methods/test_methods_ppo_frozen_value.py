"""PPO with ``value_adapter: frozen`` on the tiny model: the value head reads the reference pass's
hidden states, its loss trains the head alone, and a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import lightning as L
import torch
from helpers.method_settings import lora_settings, settings_for
from helpers.policy_learning import QUESTIONS, FirstWordJudge, sharp_tiny_backbone
from helpers.trainers import quiet_trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from unsafe_vlm.data.records import UNSAFE, Record, RecordBatch
from unsafe_vlm.methods.ppo import VALUE_HEAD_FILE, PPOModule

HEAD_KEYS = {"0.weight", "0.bias", "2.weight", "2.bias"}  # Linear, GELU, Linear


def frozen_module(**changes) -> PPOModule:
    backbone, cfg = sharp_tiny_backbone()
    settings = settings_for("ppo", value_adapter="frozen", minibatch_size=2, ppo_epochs=1, max_new_tokens=4,
                            warmup_ratio=0.0, **changes)
    return PPOModule(backbone, settings, lora_settings(cfg.lora), judge=FirstWordJudge("a"))


def test_the_values_are_the_heads_reading_of_the_reference_pass():
    torch.manual_seed(0)
    module = frozen_module()
    module.configure_model()
    with torch.no_grad():
        module.value_head[-1].weight.normal_()  # off its zero start, so the values say something
    rollout = module.collect_rollout(module.backbone.encode(QUESTIONS[:4], [None] * 4), [UNSAFE] * 4)

    with torch.no_grad(), module.backbone.reference():
        features = module.backbone(rollout.inputs, hidden=True).hidden
    torch.testing.assert_close(rollout.value_features, features)
    torch.testing.assert_close(rollout.values, module.value_head(features).squeeze(-1))
    assert rollout.values.abs().max() > 0


def test_the_value_loss_trains_the_head_alone_and_the_rest_of_the_loss_leaves_the_head_alone():
    torch.manual_seed(0)
    module = frozen_module()
    module.configure_model()
    with torch.no_grad():
        module.value_head[-1].weight.normal_()
    rollout = module.collect_rollout(module.backbone.encode(QUESTIONS[:4], [None] * 4), [UNSAFE] * 4)
    trainable = {name: p for name, p in module.named_parameters() if p.requires_grad}
    head = {name for name in trainable if name.startswith("value_head.")}
    assert {name.removeprefix("value_head.") for name in head} == HEAD_KEYS
    assert all(".lora_" in name and ".default." in name for name in set(trainable) - head)  # no value adapter

    def gradients(loss: torch.Tensor) -> dict[str, torch.Tensor]:
        for p in trainable.values():
            p.grad = None
        loss.backward()
        return {name: p.grad for name, p in trainable.items() if p.grad is not None and p.grad.abs().max() > 0}

    rows = torch.arange(4)
    value_loss, _ = module.penalty(rollout, rows, None, None, rollout.mask[rows])
    from_value = gradients(value_loss)
    assert set(from_value) == head  # every head tensor moves, nothing else

    module.backbone.train()
    loss, _ = module.minibatch_loss(rollout, rows)
    from_all = gradients(loss)
    assert any(".lora_B." in name for name in from_all)
    for name in head:  # the rest of the loss (policy, entropy) leaves the head alone
        torch.testing.assert_close(from_all[name], from_value[name], rtol=0, atol=0)


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    """Two of four iterations, then ckpt_path=last: the head's tensors are checkpointed with the
    policy's adapter, and the weights come out bit for bit those of one run of four."""

    class StopAfter(L.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            trainer.should_stop = trainer.should_stop or trainer.global_step >= 2

    def run(folder, *callbacks, ckpt_path=None) -> tuple[PPOModule, dict[str, torch.Tensor]]:
        L.seed_everything(0, verbose=False)
        module = frozen_module(batch_size=2, lr=1e-2)
        records = RecordBatch(
            Record(id=f"ppo/{i}", task="ppo", question=q, image=None, concept="Swastika", category="Hate", gold=UNSAFE)
            for i, q in enumerate(QUESTIONS[:2])
        )
        batch = {"records": records, "inputs": module.backbone.encode(QUESTIONS[:2], [None] * 2)}
        loader = DataLoader(range(4), batch_size=None, collate_fn=lambda _: batch)
        checkpoints = ModelCheckpoint(dirpath=folder, save_last=True, save_top_k=0, every_n_train_steps=1)
        trainer = quiet_trainer(max_steps=4, enable_checkpointing=True, callbacks=[checkpoints, *callbacks])
        trainer.fit(module, train_dataloaders=loader, ckpt_path=ckpt_path)
        return module, {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}

    _, whole = run(tmp_path / "whole")
    _, halfway = run(tmp_path / "resumed", StopAfter())
    module, resumed = run(tmp_path / "resumed", ckpt_path=tmp_path / "resumed" / "last.ckpt")
    saved = torch.load(tmp_path / "resumed" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 4
    assert {f"value_head.{key}" for key in HEAD_KEYS} <= set(saved["state_dict"])
    assert not any(".value." in key for key in saved["state_dict"])
    assert any(not torch.equal(halfway[name], whole[name]) for name in whole)  # the first run stopped short
    assert any(not torch.equal(halfway[name], whole[name]) for name in whole if name.startswith("value_head."))
    assert all(torch.equal(resumed[name], whole[name]) for name in whole)

    folder = module.save_adapter(tmp_path / "adapter")
    head = load_file(str(folder / VALUE_HEAD_FILE))
    assert set(head) == HEAD_KEYS
    torch.testing.assert_close(head["0.weight"], whole["value_head.0.weight"])
    assert not (folder / "value").exists()  # no value adapter to save
