"""conf/tuning/<model>_<method>.yaml: a model's own values for a method, merged after the method
and the trainer and before the command line, composed as ``fit`` composes them."""

from __future__ import annotations

import shutil

import pytest
import yaml
from helpers.cli_runner import run_cli
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from unsafe_vlm.commands import parts
from unsafe_vlm.commands.checks import check_settings
from unsafe_vlm.config_check import check_overrides, group_options, plain_method_override
from unsafe_vlm.evaluation.runner import evaluation_settings
from unsafe_vlm.paths import CONF_DIR

# The organism's values (they were conf/model/organism.yaml's `training:` section).
ORGANISM = {
    "ppo": {"lr": 1e-3, "minibatch_size": 16, "kl_coef": 0.05, "ppo_epochs": 2},
    "grpo": {"lr": 1e-3, "minibatch_size": 16, "kl_coef": 0.05, "ppo_epochs": 2},  # what PPO gets, nothing else
    "sft": {"lr": 7e-4},
    "dpo": {"lr": 7e-5},
}
ORGANISM_MAX_EPOCHS = 2
# GRPO's budget on the organism: as many answers as PPO's two epochs, one epoch over half the prompts x 4 answers
ORGANISM_TRAINER = {"grpo": {"max_epochs": 1, "limit_train_batches": 0.5}}


def paper(method: str) -> dict:
    """conf/method/<method>.yaml as written: the paper's values."""
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / "method" / f"{method}.yaml"))


def hydra_compose(overrides: list[str], conf_dir=CONF_DIR):
    """Hydra's own compose of ``fit``, with the overrides the CLI hands it."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            return compose(config_name="fit", overrides=plain_method_override("fit", overrides))
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.parametrize("method", sorted(ORGANISM))
def test_plus_method_on_the_default_model_gets_the_organism_values(method):
    for cfg in (hydra_compose([f"+method={method}"]), check_overrides("fit", [f"+method={method}"])):
        assert cfg.model.name == "organism"
        expected = {**paper(method), **ORGANISM[method]}
        assert OmegaConf.to_container(cfg.method) == expected
        trainer = ORGANISM_TRAINER.get(method, {"max_epochs": ORGANISM_MAX_EPOCHS, "limit_train_batches": None})
        assert {key: cfg.trainer[key] for key in trainer} == trainer


@pytest.mark.parametrize("method", sorted(ORGANISM))
def test_the_command_line_beats_the_tuning_file(method):
    cfg = hydra_compose([f"+method={method}", "method.lr=5e-4", "trainer.max_epochs=3"])
    assert cfg.method.lr == 5e-4 and cfg.trainer.max_epochs == 3
    assert cfg.method.name == method


@pytest.mark.parametrize("order", ["model first", "method first"])
def test_the_order_of_the_overrides_does_not_matter(order):
    overrides = ["model=organism", "+method=ppo", "trainer=ddp"]
    cfg = hydra_compose(overrides if order == "model first" else overrides[::-1])
    assert cfg.method.lr == 1e-3 and cfg.method.ppo_epochs == 2 and cfg.trainer.max_epochs == ORGANISM_MAX_EPOCHS
    assert cfg.trainer.strategy == "ddp"


@pytest.mark.parametrize("model", ["tiny", "smolvlm_256m"])
@pytest.mark.parametrize("method", sorted(ORGANISM))
def test_a_model_without_a_tuning_file_gets_the_paper_values(model, method):
    assert not (CONF_DIR / "tuning" / f"{model}_{method}.yaml").exists()
    cfg = hydra_compose([f"+method={method}", f"model={model}"])
    assert OmegaConf.to_container(cfg.method) == paper(method)
    assert cfg.trainer.max_epochs == OmegaConf.load(CONF_DIR / "trainer" / "default.yaml").max_epochs == 1


def test_any_method_key_can_be_tuned_for_a_model(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "tuning" / "tiny_ppo.yaml").write_text(
        "# @package _global_\nmethod:\n  clip_ratio: 0.3\n  value_adapter: shared\ntrainer:\n  max_steps: 7\n"
    )
    cfg = hydra_compose(["+method=ppo", "model=tiny"], conf_dir=conf)
    assert (cfg.method.clip_ratio, cfg.method.value_adapter, cfg.trainer.max_steps) == (0.3, "shared", 7)
    assert cfg.method.lr == paper("ppo")["lr"]


def test_every_tuning_file_names_a_model_and_a_method_and_passes_the_checks():
    files = sorted(p.stem for p in (CONF_DIR / "tuning").glob("*.yaml"))
    assert files == ["organism_dpo", "organism_grpo", "organism_ppo", "organism_sft"]
    for stem in files:
        model, method = stem.rsplit("_", 1)
        assert model in group_options("model") and method in group_options("method"), stem
        tuned = OmegaConf.load(CONF_DIR / "tuning" / f"{stem}.yaml")
        assert set(tuned) <= {"method", "trainer"}, stem
        assert set(tuned.method) <= set(paper(method)), stem  # no key the method does not have
        settings = check_settings(check_overrides("fit", [f"model={model}", f"+method={method}"]))
        assert settings.method.lr == tuned.method.lr


def test_no_model_config_holds_training_settings_any_more():
    for option in group_options("model"):
        assert "training" not in OmegaConf.load(CONF_DIR / "model" / f"{option}.yaml"), option
    for option in group_options("method"):
        assert "oc.select" not in (CONF_DIR / "method" / f"{option}.yaml").read_text(), option


def test_cfg_job_shows_the_tuned_values():
    result = run_cli("fit", "+method=ppo", "--cfg", "job", "--resolve")
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert {k: printed["method"][k] for k in ORGANISM["ppo"]} == ORGANISM["ppo"]
    assert printed["trainer"]["max_epochs"] == ORGANISM_MAX_EPOCHS
    assert "training" not in printed["model"]


def fingerprint(cfg) -> dict:
    settings = check_settings(cfg)
    return evaluation_settings(settings.evaluation(), parts.build_datamodule(settings.data))


def test_fit_and_evaluate_share_one_evaluation_fingerprint():
    """The responses of fit's evaluations and of evaluate depend on the same settings, named alike."""
    fit = fingerprint(check_overrides("fit", ["+method=ppo"]))
    evaluate = fingerprint(check_overrides("evaluate", []))
    assert fit == evaluate
    generation = {k: v for k, v in fit.items() if k.startswith("generation.")}
    assert generation == {
        "generation.max_new_tokens": 64, "generation.do_sample": False,
        "generation.temperature": 1.0, "generation.top_p": 0.9,
    }  # fmt: skip
    assert not any(k.startswith(("model.lora", "model.training", "method.")) for k in fit)
