"""The generic family (``family: auto``) on the tiny instances: what it reads off a checkpoint,
the settings that steer it, and the family names kept for old configs."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from helpers.chat_templates import THINKING_TEMPLATE
from omegaconf import OmegaConf
from torch import nn

from unsafe_vlm.backbones.auto import AutoBackbone
from unsafe_vlm.backbones.chat_format import ChatTemplateError
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings, resolve_family
from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.registry import UnknownChoice

# every tiny config whose family is the generic one or a few lines on top of it
AUTO_CONFIGS = sorted(
    path.stem
    for path in (CONF_DIR / "model").glob("tiny*.yaml")
    if issubclass(resolve_family(OmegaConf.load(path).family), AutoBackbone)
)


def _build(config: str, *overrides: str):
    cfg = check_overrides("evaluate", [f"model={config}", *overrides])
    return build_backbone(model_settings(cfg.model)).eval()


@pytest.fixture(scope="module")
def tiny() -> AutoBackbone:
    return _build("tiny")


def test_the_tiny_configs_with_a_chat_template_derive_their_format_through_the_generic_family():
    assert {"tiny", "tiny_idefics3", "tiny_qwen2_vl", "tiny_qwen2_5_vl"} <= set(AUTO_CONFIGS)


@pytest.mark.parametrize("config", AUTO_CONFIGS)
def test_lora_targets_every_linear_layer_of_the_language_model_and_nothing_else(config):
    backbone = _build(config)
    model = backbone.model
    decoder = model.get_decoder()
    in_decoder = {id(m) for m in decoder.modules()}
    linears = {name for name, m in model.named_modules() if isinstance(m, nn.Linear) and id(m) in in_decoder}
    pattern = re.compile(backbone.lora_target_modules)
    matched = {name for name, _ in model.named_modules() if pattern.fullmatch(name)}
    assert linears and matched == linears
    add_lora(backbone, LoraSettings(r=2, alpha=4, dropout=0.0, target_modules=None))
    trainable = [name for name, p in backbone.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    # the vision tower and the projector stay frozen: no adapter outside the language model
    assert all(".language_model." in n or ".text_model." in n for n in trainable), trainable[:3]


def test_a_template_kept_with_the_tokenizer_serves_and_none_at_all_is_one_line_naming_the_path(tiny):
    processor = copy.deepcopy(tiny.processor)
    processor.chat_template = None
    assert AutoBackbone(tiny.model, processor).prompt_text("Is it safe?", True) == tiny.prompt_text("Is it safe?", True)
    processor = copy.deepcopy(tiny.processor)
    processor.chat_template = processor.tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError) as refused:
        AutoBackbone(tiny.model, processor, name="org/no-template")
    message = str(refused.value)
    assert message == (
        "model.path: org/no-template has no chat template; give one as model.chat_template "
        "(a Jinja template or a file holding one)"
    )


def test_a_saved_checkpoint_without_a_template_is_refused_and_loads_with_model_chat_template(tiny, tmp_path):
    tiny.save_pretrained(tmp_path)
    for name in ("chat_template.jinja", "chat_template.json"):
        (tmp_path / name).unlink(missing_ok=True)
    base = ["model=tiny", f"model.path={tmp_path}", "model.tiny=null"]
    with pytest.raises(ChatTemplateError, match=f"^model.path: {re.escape(str(tmp_path))} has no chat template"):
        _build("tiny", *base)
    template = tmp_path.parent / "llava.jinja"
    template.write_text(tiny.processor.chat_template, encoding="utf-8")
    loaded = _build("tiny", *base, f"model.chat_template={template}")
    assert (loaded.answer_prefix, loaded.end_of_turn) == (" ", "</s>")
    assert loaded.prompt_text("Is it safe?", True) == tiny.prompt_text("Is it safe?", True)


THINK = "<think>\n\n</think>\n\n"


@pytest.mark.parametrize(("thinking", "prompt_end", "prefix"), [(False, THINK, ""), (True, "", THINK)])
def test_enable_thinking_reaches_the_template_and_its_answer_prefix(tmp_path, thinking, prompt_end, prefix):
    template = tmp_path / "thinking.jinja"
    template.write_text(THINKING_TEMPLATE, encoding="utf-8")
    flag = f"model.enable_thinking={str(thinking).lower()}"
    backbone = _build("tiny_qwen2_vl", f"model.chat_template={template}", flag)
    prompt = backbone.prompt_text("Is it safe?", True)
    assert prompt.endswith("<|im_start|>assistant\n" + prompt_end)
    assert (backbone.answer_prefix, backbone.end_of_turn) == (prefix, "<|im_end|>")
    answer = backbone.tokenizer.decode(backbone.answer_token_ids(prompt, "No."))
    assert answer == prefix + "No.<|im_end|>"


@pytest.mark.parametrize("thinking", [False, True])
def test_generation_may_open_a_think_block_only_with_thinking_on(thinking):
    tiny_qwen = _build("tiny_qwen2_vl")
    processor = copy.deepcopy(tiny_qwen.processor)
    processor.tokenizer.add_tokens(["<think>", "</think>"], special_tokens=True)
    backbone = AutoBackbone(tiny_qwen.model, processor, chat_template=THINKING_TEMPLATE, enable_thinking=thinking)
    think = processor.tokenizer.convert_tokens_to_ids(["<think>", "</think>"])
    suppressed = set(backbone.suppressed_token_ids)
    assert suppressed.isdisjoint(think) if thinking else set(think) <= suppressed
    assert processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") in suppressed


def test_an_unknown_tiny_architecture_is_one_line_with_the_nearest_name():
    cfg = check_overrides("evaluate", ["model=tiny", "model.tiny.architecture=lava"])
    line = "^model.tiny.architecture: unknown tiny architecture 'lava'; did you mean 'llava'"
    with pytest.raises(UnknownChoice, match=line):
        model_settings(cfg.model)


@pytest.mark.parametrize("family", ["llava", "idefics3", "qwen2_vl"])
def test_the_old_family_names_still_serve_their_models(family):
    config = {"llava": "tiny", "idefics3": "tiny_idefics3", "qwen2_vl": "tiny_qwen2_vl"}[family]
    old, new = _build(config, f"model.family={family}"), _build(config, "model.family=auto")
    assert isinstance(old, AutoBackbone)
    questions, answers = ["Is it safe?", "Describe the image."], ["No.", "A cat."]
    before, after = old.encode(questions, [None, None], answers), new.encode(questions, [None, None], answers)
    assert all(torch.equal(before[k], after[k]) for k in ("input_ids", "attention_mask", "answer_mask"))
    assert old.stop_token_ids == new.stop_token_ids and old.lora_target_modules == new.lora_target_modules


def test_a_checkpoint_whose_processor_transformers_cannot_build_is_one_line(tmp_path, monkeypatch):
    _build("tiny_qwen2_vl").save_pretrained(tmp_path)  # its processor class is the suite's own
    # the stock processor without its video part (processors.py) serves it
    loaded = _build("tiny_qwen2_vl", "model.family=auto", f"model.path={tmp_path}", "model.tiny=null")
    assert type(loaded.processor).__name__ == "Qwen2VLProcessor" and loaded.end_of_turn == "<|im_end|>"

    (tmp_path / "tokenizer.json").unlink()  # now transformers builds no processor for images from it
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ConfigValueError) as refused:
        _build("tiny_qwen2_vl", "model.family=auto", f"model.path={tmp_path}", "model.tiny=null")
    message = str(refused.value)
    assert message.startswith(f"model.path: {tmp_path}: transformers loads no processor for images")
    assert "\n" not in message

    def unreadable(*_, **__):
        raise OSError("the files cannot be read\nsecond line")

    monkeypatch.setattr("transformers.AutoProcessor.from_pretrained", unreadable)
    with pytest.raises(ConfigValueError) as refused:
        _build("tiny_qwen2_vl", "model.family=auto", f"model.path={tmp_path}", "model.tiny=null")
    expected = f"model.path: {tmp_path}: transformers cannot build its processor: the files cannot be read"
    assert str(refused.value) == expected
