"""Adapters know their base: ``adapter_config.json`` names the model they were made for, and
loading one onto another base is one line naming both (backbones/identity.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from helpers.adapters import LORA, model_config, tiny, trained_adapter
from helpers.cli_runner import run_cli
from helpers.method_settings import settings_for
from peft import PeftModel

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.identity import TINY_PREFIX, AdapterBaseMismatchError, BaseIdentity, weights_sha256
from unsafe_vlm.backbones.lora import load_adapter
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.methods.ppo import VALUE_ADAPTER, PPOModule
from unsafe_vlm.paths import REPO_DIR

QUESTIONS = ["Is this image safe?", "Would you post this image online?"]
ANSWERS = ["Safe.", "Unsafe, it shows a weapon."]


def answer_logprobs(backbone: VLMBackbone) -> torch.Tensor:
    with torch.no_grad():
        return backbone.answer_logprobs(backbone.encode(QUESTIONS, [None, None], ANSWERS))


def adapter_config(folder: Path) -> dict:
    return json.loads((folder / "adapter_config.json").read_text())


def test_a_tiny_instance_is_named_by_its_weights_one_name_per_seed_in_every_dtype():
    first, again, other = tiny(0), tiny(0), tiny(1)
    assert first.base_identity == again.base_identity
    assert first.base_identity != other.base_identity
    assert first.base_identity.name == TINY_PREFIX + weights_sha256(again.model)
    assert tiny(0, dtype="bfloat16").base_identity == first.base_identity
    assert tiny(0, **{"tiny.hidden_size": 32}).base_identity != first.base_identity


def test_the_weights_hash_sees_one_changed_number():
    backbone = tiny(0)
    before = weights_sha256(backbone.model)
    with torch.no_grad():
        next(backbone.model.parameters()).view(-1)[0] += 1e-3
    assert weights_sha256(backbone.model) != before


def test_a_saved_adapter_names_its_base_and_peft_still_loads_it(tmp_path):
    trained = tiny(0)
    folder = trained_adapter(trained, tmp_path / "adapter")
    config = adapter_config(folder)
    assert config["base_model_name_or_path"] == trained.base_identity.name
    assert config["revision"] is None

    model = PeftModel.from_pretrained(tiny(0).model, str(folder))
    loaded = {n: p for n, p in model.named_parameters() if "lora_" in n}
    expected = {n: p for n, p in trained.model.named_parameters() if "lora_" in n}
    assert loaded.keys() == expected.keys() and loaded
    for name, value in expected.items():
        assert torch.equal(loaded[name], value), name


def test_the_same_base_loads_the_adapter_and_answers_as_the_trained_model(tmp_path):
    trained = tiny(0)
    folder = trained_adapter(trained, tmp_path / "adapter")
    loaded = tiny(0, adapter=str(folder))
    assert isinstance(loaded.model, PeftModel)
    torch.testing.assert_close(answer_logprobs(loaded), answer_logprobs(trained))


def test_an_adapter_made_for_another_seed_is_refused_in_one_line_naming_both_bases(tmp_path):
    trained = tiny(0)
    folder = trained_adapter(trained, tmp_path / "adapter")
    other = tiny(1)
    with pytest.raises(AdapterBaseMismatchError) as caught:
        load_adapter(other, folder)
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and "\n" not in message
    assert f"model.adapter: {folder} was made for base model {trained.base_identity}" in message
    assert f"the base loaded is {other.base_identity}" in message
    assert not isinstance(other.model, PeftModel)  # nothing was loaded


def test_ppo_names_the_base_in_its_value_adapter_too(tmp_path):
    backbone = tiny(0)
    module = PPOModule(backbone, settings_for("ppo"), LORA, judge=RuleJudge())
    module.configure_model()
    folder = module.save_adapter(tmp_path / "adapter")
    for config_folder in (folder, folder / VALUE_ADAPTER):
        assert adapter_config(config_folder)["base_model_name_or_path"] == backbone.base_identity.name
    with pytest.raises(AdapterBaseMismatchError):
        load_adapter(tiny(1), folder / VALUE_ADAPTER)


def test_a_checkpoint_adapter_names_the_model_path_and_refuses_a_tiny_base(tmp_path):
    folder = trained_adapter(build_backbone(model_settings(model_config("organism"))), tmp_path / "adapter")
    assert adapter_config(folder)["base_model_name_or_path"] == "data/organism"
    refusal = "made for base model data/organism, but the base loaded is tiny:"
    with pytest.raises(AdapterBaseMismatchError, match=refusal):
        load_adapter(tiny(0), folder)
    organism = build_backbone(model_settings(model_config("organism", path=str(REPO_DIR / "data" / "organism"))))
    load_adapter(organism, folder)  # the same folder, named another way
    assert isinstance(organism.model, PeftModel)


def test_names_match_by_folder_and_revision_not_by_spelling_alone(tmp_path):
    organism = BaseIdentity("data/organism")
    assert organism.matches(BaseIdentity(str(REPO_DIR / "data" / "organism")))
    assert not organism.matches(BaseIdentity("data/organism", revision="v2"))
    assert BaseIdentity("org/model", "abc").matches(BaseIdentity("org/model", "abc"))
    assert not BaseIdentity("org/model").matches(BaseIdentity("org/other"))
    assert not BaseIdentity("org/model", "abc").matches(BaseIdentity("org/model", "def"))
    assert not BaseIdentity(str(tmp_path)).matches(BaseIdentity(str(tmp_path / "missing")))


def forget_base(folder: Path) -> Path:
    """The adapter as another tool (or peft, on a model built from a config) writes it: no base named."""
    config = adapter_config(folder)
    config["base_model_name_or_path"] = None
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


def test_an_adapter_that_names_no_base_loads_with_a_warning_naming_it(tmp_path, caplog, capsys):
    folder = forget_base(trained_adapter(tiny(0), tmp_path / "adapter"))
    other = tiny(1)
    with caplog.at_level(logging.WARNING, logger="unsafe_vlm.backbones.identity"):
        load_adapter(other, folder)
    assert isinstance(other.model, PeftModel)
    warning = f"model.adapter: {folder} does not say which base model it was made for; loading it onto "
    warning += str(other.base_identity)
    assert warning in caplog.text
    assert capsys.readouterr().err == f"warning: {warning}\n"


def test_an_adapter_config_that_is_not_json_is_one_line_naming_the_file(tmp_path):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{not json")
    with pytest.raises(UserError, match=f"model.adapter: {folder / 'adapter_config.json'} is not readable JSON"):
        load_adapter(tiny(0), folder)


@pytest.mark.slow
def test_evaluate_refuses_another_seeds_adapter_in_one_line_and_loads_its_own(tmp_path, data_cache):
    folder = trained_adapter(tiny(0), tmp_path / "adapter")

    def evaluate(seed: int, run: str, adapter: Path = folder):
        return run_cli(
            "evaluate", "model=tiny", f"model.tiny.seed={seed}", f"model.adapter={adapter}",
            "data.limit_per_task=2", f"data.cache_dir={data_cache}", f"hydra.run.dir={tmp_path / run}",
            "generation.max_new_tokens=2", "data.tasks=[perception,alignment_image,alignment_text,alignment_test]",
        )  # fmt: skip

    refused = evaluate(1, "other")
    assert refused.returncode == 2, refused.stderr[-3000:]
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr[-3000:]
    assert f"model.adapter: {folder} was made for base model {TINY_PREFIX}" in lines[0]
    assert lines[0].count(TINY_PREFIX) == 2
    assert not (tmp_path / "other" / "metrics.json").exists()

    loaded = evaluate(0, "same")
    assert loaded.returncode == 0 and "Traceback" not in loaded.stderr, loaded.stderr[-3000:]
    assert (tmp_path / "same" / "metrics.json").is_file()
    assert "does not say which base" not in loaded.stderr

    unnamed = forget_base(trained_adapter(tiny(0), tmp_path / "unnamed"))
    warned = evaluate(1, "unnamed", unnamed)
    assert warned.returncode == 0 and "Traceback" not in warned.stderr, warned.stderr[-3000:]
    assert f"warning: model.adapter: {unnamed} does not say which base model it was made for" in warned.stderr
