"""conf/recipe/paper_<method>.yaml: the paper's released scripts as one config per method
(TrustAIRLab/SaferVLM@22632cf, RLHF/scripts/train_<method>.sh), merged after the model's tuning,
so that on the organism they replace its scaled settings; the command line still wins."""

from __future__ import annotations

import pytest

from unsafe_vlm.config_check import check_overrides, plain_method_override

# The scripts' values, as read from them (the recipe files cite each line).
SCRIPTS = {
    "sft": {"lr": 3e-5, "batch_size": 32},
    "dpo": {"lr": 2e-6, "beta": 0.1, "batch_size": 32},
    "ppo": {"lr": 3e-5, "kl_coef": 0.1, "entropy_coef": 0.02, "batch_size": 32, "minibatch_size": 32,
            "ppo_epochs": 1, "length_bonus": 4.0, "length_bonus_per": "max_new_tokens", "unfinished_penalty": 8.0},
}  # fmt: skip


def composed(*overrides: str):
    return check_overrides("fit", plain_method_override("fit", list(overrides)))


@pytest.mark.parametrize("method", SCRIPTS)
def test_each_recipe_holds_its_scripts_values_over_the_organisms_tuning(method):
    cfg = composed(f"+method={method}", f"+recipe=paper_{method}")
    assert {key: cfg.method[key] for key in SCRIPTS[method]} == SCRIPTS[method]
    assert cfg.trainer.max_epochs == 4, "the scripts' 4 epochs"
    assert cfg.data.train_contexts is False and cfg.data.train_open_ended is False, "the released data uses neither"


def test_the_command_line_overrides_a_recipe():
    assert composed("+method=ppo", "+recipe=paper_ppo", "method.kl_coef=0.3").method.kl_coef == 0.3
