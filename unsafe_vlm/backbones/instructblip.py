"""InstructBLIP in the transformers format (Salesforce/instructblip-vicuna-7b and -13b), as the paper measured.

An EVA ViT-g vision tower, a Q-Former that reads the image through ``num_query_tokens`` learnt
queries *and* the instruction (its own BERT tokenizer: ``qformer_input_ids``), and a Vicuna
language model that sees the projected queries in place of as many ``<image>`` tokens.

Prompt format: Vicuna-InstructBLIP has no chat template; as on the model card, the prompt is the
plain question, for the Q-Former and the language model alike, and the answer follows after a
space and ends with ``</s>`` (the LAVIS training target: ``{question} {answer}</s>``). The
processor puts the ``<image>`` tokens before the padded text (``[image][pad][<s>question]``);
``encode`` moves each row's padding to its left (``[pad][image][<s>question]``), the layout of
``base.py``, so a row scores and generates the same in any batch. The Q-Former's text stays
right-padded (BERT's absolute positions start at 0).

The generic family cannot serve it: no chat template, a second tokenizer and padding for the
Q-Former, language-model outputs nested in the model's, and its own ``generate``. The tiny
instance (``model=tiny_instructblip``) is ``tiny_architectures/instructblip.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from PIL import Image
from transformers.models.instructblip.modeling_instructblip import BaseModelOutputWithVisionQformerOutputs

from unsafe_vlm.backbones.base import Generation, ModelInputs, VLMBackbone, padding_side
from unsafe_vlm.errors import ConfigValueError


class InstructBlipBackbone(VLMBackbone):
    family: ClassVar[str] = "instructblip"
    end_of_turn: ClassVar[str] = "</s>"
    answer_prefix: ClassVar[str] = " "
    shares_prefill_family: ClassVar[bool] = False  # its generate builds the language model's inputs from pixels
    generates_from_image_features: ClassVar[bool] = False  # its generate takes the pixels only
    # Only Vicuna: "language_model.model.layers.N.{self_attn,mlp}.*". The ViT ("vision_model":
    # qkv, projection, fc1/fc2), the Q-Former (query/key/value, dense) and "language_projection" stay out.
    lora_target_modules: ClassVar[str] = (
        r"language_model\.model\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"
    )

    def __init__(self, model: Any, processor: Any, **options: Any) -> None:
        if options.get("chat_template") is not None:
            raise ConfigValueError("model.chat_template: InstructBLIP is prompted with the plain question; give null")
        if model.config.image_token_index is None or processor.num_query_tokens is None:
            raise ConfigValueError(
                "model.path: this InstructBLIP checkpoint names no image_token_index (config.json) or "
                "num_query_tokens (processor_config.json), as saved for older transformers; use a newer revision"
            )
        token = processor.image_token
        processor.image_token = ImageToken(getattr(token, "content", token))
        super().__init__(model, processor, **options)

    def train(self, mode: bool = True) -> InstructBlipBackbone:
        """Train mode for the language model (LoRA dropout); a frozen ViT or Q-Former stays in eval
        mode, as at inference: the Q-Former's dropout (0.1) would otherwise give the policy and the
        reference passes of one batch different image features. Lightning's note on modules in
        eval mode at the start of training counts these."""
        super().train(mode)
        model = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        for part in (model.vision_model, model.qformer):
            if not any(p.requires_grad for p in part.parameters()):
                part.eval()
        return self

    def prompt_text(self, question: str, has_image: bool, system: str | None = None) -> str:
        """The plain question, as the model card prompts (the image is the query tokens before it); the
        model has no chat template, so no system message is shown."""
        return question

    def encode(
        self,
        questions: Sequence[str],
        images: Sequence[Image.Image | None],
        answers: Sequence[str] | None = None,
        systems: Sequence[str | None] | None = None,
    ) -> ModelInputs:
        """``VLMBackbone.encode``, with the Q-Former's text right-padded and every prompt's padding
        moved before its query tokens."""
        with padding_side(self.processor.qformer_tokenizer, "right"):
            inputs = super().encode(questions, images, answers, systems)
        return pads_first(inputs)

    def model_kwargs(self, inputs: ModelInputs) -> dict[str, Any]:
        """Features from ``encode_images`` go in as the Q-Former's projected outputs (B, N, H), the
        form InstructBLIP's ``forward`` takes; ``generate`` always wants the pixels."""
        kwargs = super().model_kwargs(inputs)
        if "image_features" in inputs:
            features = BaseModelOutputWithVisionQformerOutputs(pooler_output=inputs["image_features"])
            kwargs.update(pixel_values=None, mm_encoder_outputs={"image": features})
        return kwargs

    def generate(self, inputs: ModelInputs, *, group_size: int = 1, **options: Any) -> Generation:
        """``VLMBackbone.generate``; from pixels only: InstructBLIP's ``generate`` takes no image
        features or cache, so each of a group's answers encodes its image and reads its prompt."""
        if "image_features" in inputs:
            raise ValueError("InstructBLIP generates from pixel_values only: generate before encode_images")
        if group_size > 1:
            inputs = self.select_rows(inputs, torch.arange(inputs["input_ids"].shape[0]).repeat_interleave(group_size))
        return super().generate(inputs, **options)

    def language_outputs(self, outputs: Any) -> Any:
        return outputs.language_model_outputs


class ImageToken(str):
    """The image token as a tokenizer takes it (a str) and as the stock processor reads it
    (``.content``): transformers 5.24's InstructBlipProcessor keeps a tokenizer's own
    ``image_token`` as a plain str, then asks it for ``.content``."""

    @property
    def content(self) -> str:
        return str(self)


def pads_first(inputs: ModelInputs) -> ModelInputs:
    """The batch with each prompt's padding columns moved to its left, the other prompt tokens in
    their order; the answer columns (from ``prompt_length`` on) stay where they are."""
    prompt_length = inputs["prompt_length"]
    order = inputs["attention_mask"][:, :prompt_length].argsort(dim=1, stable=True)
    moved = dict(inputs)
    for key in ("input_ids", "attention_mask"):
        prompt = inputs[key][:, :prompt_length].gather(1, order)
        moved[key] = torch.cat([prompt, inputs[key][:, prompt_length:]], dim=1)
    return moved
