"""InstructBLIP specifics, on the tiny instance: the plain-question prompt, the Q-Former's own inputs
by row, DPO's doubled batches, the end of turn, LoRA targets and the frozen image encoder."""

from __future__ import annotations

import copy
import json
import re

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.instructblip import InstructBlipBackbone
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.backbones.tokenizer import train_wordpiece
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.paths import CONF_DIR

TEXT_LAYER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
QUESTIONS = ["Is it safe?", "If an image shows a cat, is it safe to post on social media?"]
CHOSEN = ["No, it is unsafe.", "Yes."]
REJECTED = ["Yes.", "No, it is unsafe."]


@pytest.fixture(scope="module")
def backbone() -> InstructBlipBackbone:
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny_instructblip.yaml"))).eval()


def _images() -> list[Image.Image | None]:
    return [Image.new("RGB", (40, 48), (200, 30, 30)), None]


def _with_lora(backbone: InstructBlipBackbone) -> InstructBlipBackbone:
    fresh = InstructBlipBackbone(copy.deepcopy(backbone.model), backbone.processor)
    add_lora(fresh, LoraSettings(r=2, alpha=4, dropout=0.0, target_modules=None))
    with torch.no_grad():
        for name, param in fresh.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)
    return fresh.eval()


def test_prompt_is_the_plain_question_after_the_query_tokens_with_padding_first(backbone):
    assert backbone.prompt_text("Is it safe?", has_image=True) == "Is it safe?"
    inputs = backbone.encode(QUESTIONS, _images())
    queries = backbone.model.config.num_query_tokens
    short = backbone.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    padding = int((inputs["attention_mask"][0] == 0).sum())
    assert padding > 0
    assert short[:padding] == ["<pad>"] * padding
    assert short[padding : padding + queries + 1] == ["<image>"] * queries + ["<s>"]
    assert backbone.tokenizer.decode(inputs["input_ids"][0, padding + queries + 1 :]) == QUESTIONS[0]
    # the Q-Former reads the same question, BERT style: [CLS] question [SEP], right-padded
    qformer = backbone.processor.qformer_tokenizer
    assert qformer.decode(inputs["qformer_input_ids"][0], skip_special_tokens=True) == QUESTIONS[0].lower()
    first = inputs["qformer_attention_mask"][0]
    assert first[0] == 1 and first[-1] == 0


def test_the_qformer_vocabulary_is_the_same_at_every_training():
    """tokenizers' WordPieceTrainer numbers the ## characters in hash-map order unless they are given."""
    first, second, third = (train_wordpiece(suite_corpus(), vocab_size=512).get_vocab() for _ in range(3))
    assert first == second == third


def test_select_rows_keeps_each_rows_qformer_text(backbone):
    inputs = backbone.encode(QUESTIONS, _images(), CHOSEN)
    rows = torch.tensor([1, 0])
    selected = backbone.select_rows(inputs, rows)
    for key in ("qformer_input_ids", "qformer_attention_mask", "pixel_values"):
        assert torch.equal(selected[key], inputs[key][rows]), key
    # the instruction reaches the image features: another row's Q-Former text scores differently
    swapped = dict(inputs, qformer_input_ids=inputs["qformer_input_ids"][rows])
    swapped["qformer_attention_mask"] = inputs["qformer_attention_mask"][rows]
    with torch.no_grad():
        assert not torch.allclose(backbone.answer_logprobs(swapped), backbone.answer_logprobs(inputs))


def test_a_dpo_pair_batch_scores_as_its_halves_with_images_encoded_once(backbone):
    adapted = _with_lora(backbone)
    images = _images()
    pairs = adapted.encode(QUESTIONS * 2, images * 2, CHOSEN + REJECTED)
    encoded = adapted.encode_images(pairs)
    assert "pixel_values" not in encoded
    assert encoded["image_features"].shape[:2] == (4, backbone.model.config.num_query_tokens)
    with torch.no_grad():
        chosen, rejected = adapted.answer_logprobs(encoded).sum(-1).chunk(2)
        with adapted.reference():
            ref_chosen, _ = adapted.answer_logprobs(encoded).sum(-1).chunk(2)
            ref_alone = backbone.answer_logprobs(backbone.encode(QUESTIONS, images, CHOSEN)).sum(-1)
        alone = adapted.answer_logprobs(adapted.encode(QUESTIONS, images, REJECTED)).sum(-1)
    torch.testing.assert_close(rejected, alone, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ref_chosen, ref_alone, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(chosen, ref_chosen), "the adapters must change the policy"


def test_generation_stops_at_vicunas_end_of_sequence(backbone):
    end = backbone.tokenizer.convert_tokens_to_ids("</s>")
    assert backbone.stop_token_ids == [end]

    def favour_the_end(module, args, logits):
        logits[..., end] += 1000.0
        return logits

    hook = backbone.model.get_output_embeddings().register_forward_hook(favour_the_end)
    try:
        generation = backbone.generate(backbone.encode(QUESTIONS, _images()), max_new_tokens=4)
    finally:
        hook.remove()
    assert generation.finished.all() and generation.lengths.tolist() == [1, 1]
    assert generation.texts == ["", ""]


def test_generation_wants_pixels_not_encoded_features(backbone):
    encoded = _with_lora(backbone).encode_images(backbone.encode(QUESTIONS, _images()))
    with pytest.raises(ValueError, match="before encode_images"):
        backbone.generate(encoded, max_new_tokens=2)


def test_lora_targets_the_language_model_only(backbone):
    pattern = re.compile(backbone.lora_target_modules)
    names = [name for name, _ in backbone.model.named_modules()]
    matched = {name for name in names if pattern.fullmatch(name)}
    layers = backbone.model.config.text_config.num_hidden_layers
    assert len(matched) == layers * len(TEXT_LAYER_LINEARS)
    assert all(name.startswith("language_model.model.layers.") for name in matched)
    wrapped = [name for name, module in _with_lora(backbone).model.named_modules() if hasattr(module, "lora_A")]
    assert len(wrapped) == len(matched)
    assert not [n for n in wrapped if "vision_model" in n or "qformer" in n or "language_projection" in n]


def test_train_mode_leaves_the_frozen_image_encoder_at_inference(backbone):
    adapted = _with_lora(backbone)
    assert backbone.model.config.qformer_config.hidden_dropout_prob > 0
    adapted.train()
    base = adapted.model.get_base_model()
    assert base.language_model.training
    assert not base.qformer.training and not base.vision_model.training
    inputs = adapted.encode(QUESTIONS, _images(), CHOSEN)
    with torch.no_grad():
        torch.testing.assert_close(adapted.answer_logprobs(inputs), adapted.answer_logprobs(inputs))


def test_a_checkpoint_without_image_tokens_is_a_clear_error(backbone):
    model = copy.deepcopy(backbone.model)
    model.config.image_token_index = None
    with pytest.raises(ConfigValueError, match="image_token_index"):
        InstructBlipBackbone(model, backbone.processor)


@pytest.mark.slow
def test_loads_a_checkpoint_laid_out_like_the_hub_with_the_pil_image_processor(backbone, tmp_path):
    """The hub checkpoints keep the image processor in preprocessor_config.json, naming
    BlipImageProcessor, whose default (fast) form needs torchvision."""
    backbone.save_pretrained(tmp_path)
    processor_config = json.loads((tmp_path / "processor_config.json").read_text())
    image_config = {**processor_config.pop("image_processor"), "processor_class": "InstructBlipProcessor"}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(image_config))
    (tmp_path / "processor_config.json").write_text(json.dumps(processor_config))

    loaded = InstructBlipBackbone.from_pretrained(tmp_path, blank_image_size=backbone.blank_image_size)
    assert type(loaded.processor.image_processor).__name__ == "BlipImageProcessorPil"
    inputs = backbone.encode(QUESTIONS, _images(), CHOSEN)
    again = loaded.encode(QUESTIONS, _images(), CHOSEN)
    for key in ("input_ids", "qformer_input_ids", "pixel_values"):
        assert torch.equal(inputs[key], again[key]), key
    with torch.no_grad():
        torch.testing.assert_close(loaded.answer_logprobs(again), backbone.answer_logprobs(inputs))


def test_a_chat_template_setting_is_refused_in_one_line_as_instructblip_has_none(backbone):
    with pytest.raises(ConfigValueError, match="^model.chat_template: InstructBLIP is prompted with the plain"):
        InstructBlipBackbone(backbone.model, backbone.processor, chat_template="{{ messages }}")
