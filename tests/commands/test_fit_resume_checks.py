"""``fit ckpt_path=...`` refuses, in one line and before any work, a checkpoint that is missing,
unreadable or made by another method or LoRA set-up; the run folder is left as it was."""

from __future__ import annotations

import pytest
import torch
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf

from unsafe_vlm.commands.resume import check_resume
from unsafe_vlm.errors import UserError

LORA = {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": None}


def config(method: str = "sft", ckpt_path: str | None = "last", **lora) -> OmegaConf:
    return OmegaConf.create({"ckpt_path": ckpt_path, "method": {"name": method}, "model": {"lora": {**LORA, **lora}}})


def save_checkpoint(run_dir, method: str = "sft", **lora):
    path = run_dir / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    hyper = {"method": {"name": method, "lr": 1e-3}, "lora": {**LORA, **lora}}
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": hyper, "global_step": 3}, path)
    return path


def test_no_checkpoint_to_resume_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(UserError, match=f"ckpt_path=last: no checkpoint at {tmp_path / 'checkpoints' / 'last.ckpt'}"):
        check_resume(config(), tmp_path)
    with pytest.raises(UserError, match="ckpt_path=/nowhere/x.ckpt: no checkpoint at /nowhere/x.ckpt: no such file"):
        check_resume(config(ckpt_path="/nowhere/x.ckpt"), tmp_path)
    check_resume(config(ckpt_path=None), tmp_path)  # a fresh start needs none


def test_a_truncated_checkpoint_is_named(tmp_path):
    path = save_checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match=f"^{path}: not a readable checkpoint"):
        check_resume(config(), tmp_path)


def test_a_checkpoint_of_another_method_or_lora_is_refused_naming_what_differs(tmp_path):
    path = save_checkpoint(tmp_path, method="sft")
    check_resume(config("sft"), tmp_path)
    with pytest.raises(UserError, match=f"^{path} was made with method.name='sft', this run has 'dpo'"):
        check_resume(config("dpo"), tmp_path)
    with pytest.raises(UserError, match=f"^{path} was made with model.lora.r=8, this run has 16"):
        check_resume(config("sft", r=16), tmp_path)


def test_the_cli_refuses_before_hydra_writes_anything(tmp_path):
    run = tmp_path / "run"
    result = run_cli("fit", "+method=sft", "model=tiny", "ckpt_path=last", f"hydra.run.dir={run}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: ckpt_path=last: no checkpoint at {run / 'checkpoints' / 'last.ckpt'}: this run folder "
        "(hydra.run.dir) holds none; resume in the run's own hydra.run.dir, or leave ckpt_path unset to train "
        "from the start"
    ]
    assert not run.exists()

    path = save_checkpoint(run, method="sft")
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    result = run_cli("fit", "+method=dpo", "model=tiny", "ckpt_path=last", f"hydra.run.dir={run}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {path} was made with method.name='sft'")
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before  # .hydra/ not rewritten, nothing added


def test_a_checkpoint_of_another_base_model_is_refused(tmp_path):
    path = save_checkpoint(tmp_path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"]["model"] = {"name": "tiny", "path": None, "revision": None, "tiny": {"seed": 0}}
    torch.save(checkpoint, path)
    cfg = config()
    cfg.model.update({"name": "tiny", "path": None, "revision": None, "tiny": {"seed": 0}})
    check_resume(cfg, tmp_path)
    cfg.model.tiny.seed = 1
    with pytest.raises(UserError, match=f"^{path} was made with model.tiny={{'seed': 0}}, this run has {{'seed': 1}}"):
        check_resume(cfg, tmp_path)


@pytest.mark.slow
def test_a_real_checkpoint_names_its_model_and_a_resume_onto_another_is_refused(tmp_path, data_cache):
    run = tmp_path / "run"
    args = ["fit", "+method=sft", "model=tiny", "data.limit_per_task=4", "method.batch_size=2", "trainer.max_steps=1",
            "generation.max_new_tokens=2", f"data.cache_dir={data_cache}", f"hydra.run.dir={run}",
            "data.tasks=[perception,alignment_image,alignment_text,alignment_test]"]  # fmt: skip
    assert run_cli(*args).returncode == 0
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]["model"]
    assert saved["name"] == "tiny" and saved["path"] is None and saved["tiny"]["seed"] == 0
    result = run_cli(*args, "model.tiny.seed=1", "ckpt_path=last")
    assert result.returncode == 2
    assert "was made with model.tiny=" in result.stderr.strip().splitlines()[-1]
    result = run_cli(*args, "method.lr=0.5", "ckpt_path=last")
    assert result.returncode == 2
    assert "was made with method.lr=2e-05, this run has 0.5" in result.stderr.strip().splitlines()[-1]


def fingerprinted(run_dir, method: str, *overrides: str):
    """A checkpoint as fit saves it: the fingerprint of the composed config of these overrides."""
    from unsafe_vlm.commands.resume import FINGERPRINT, training_fingerprint
    from unsafe_vlm.config_check import check_overrides

    cfg = check_overrides("fit", [f"+method={method}", "model=tiny", *overrides])
    path = save_checkpoint(run_dir, method=method)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"][FINGERPRINT] = training_fingerprint(cfg)
    checkpoint["hyper_parameters"]["lora"] = OmegaConf.to_container(cfg.model.lora, resolve=True)
    torch.save(checkpoint, path)
    return path


def resumed(method: str, *overrides: str):
    from unsafe_vlm.config_check import check_overrides

    return check_overrides("fit", [f"+method={method}", "model=tiny", "ckpt_path=last", *overrides])


@pytest.mark.parametrize(
    "method, change, message",
    [
        ("sft", "method.lr=0.5", "method.lr=2e-05, this run has 0.5"),
        ("grpo", "method.baseline=rloo", "method.baseline='mean', this run has 'rloo'"),
        ("ppo", "method.kl_coef=0.3", "method.kl_coef=0.1, this run has 0.3"),
        ("ppo", "judge.smoothing=0.2", "judge.smoothing="),
        ("dpo", "data.limit_per_task=3", "data.limit_per_task=None, this run has 3"),
        ("sft", "seed=7", "seed=0, this run has 7"),
        ("sft", "trainer.accumulate_grad_batches=4", "trainer.accumulate_grad_batches=1, this run has 4"),
        ("sft", "model.dtype=bfloat16", "model.dtype='float32', this run has 'bfloat16'"),
    ],
    ids=["learning rate", "method variant", "kl coefficient", "reward judge", "data", "seed", "accumulation", "dtype"],
)
def test_a_resume_with_settings_that_change_the_training_is_refused_naming_the_setting(
    tmp_path, method, change, message
):
    path = fingerprinted(tmp_path, method)
    check_resume(resumed(method), tmp_path)
    with pytest.raises(UserError, match=f"^{path} was made with {message}"):
        check_resume(resumed(method, change), tmp_path)


@pytest.mark.parametrize(
    "change",
    ["trainer.max_steps=9", "trainer.max_epochs=3", "trainer.devices=2", "checkpoint_every=5", "evaluate_before=false",
     "generation.max_new_tokens=7", "data.eval_batch_size=3", "data.num_workers=2", "model.gradient_checkpointing=true",
     "data.image_cache_mib=0", "judge.smoothing=0.2"],
)  # fmt: skip
def test_a_resume_may_train_further_elsewhere_and_evaluate_otherwise(tmp_path, change):
    fingerprinted(tmp_path, "sft")  # SFT's training reads no judge
    check_resume(resumed("sft", change), tmp_path)
