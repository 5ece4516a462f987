"""The generic family (``family: auto``): any transformers image-text-to-text checkpoint from a config alone.

What a family adapter used to write by hand is read off the checkpoint:

- the answer prefix and the end of a turn, from its chat template and generation config
  (``chat_format.py``); ``model.chat_template`` gives a template where the checkpoint has none;
- the LoRA targets: the linear layers of the language model (``lora_targets.py``), so the vision
  tower and the projector stay frozen;
- the stop tokens: the end of turn and every end-of-sequence token of the generation config;
- the modality of each token (``mm_token_type_ids``) for models whose rotary positions need it
  (Qwen2-VL and its successors, GLM-4V, Gemma 4), over the answer columns too;
- the packed patches of such models (one ``(patches, D)`` tensor for the batch), picked by image;
- which image tiles each token sees (Mllama's ``cross_attention_mask``), over the answer columns too.

Images go to the processor one list per prompt, the form every transformers processor takes.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, ClassVar

import torch
from PIL import Image

from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone
from unsafe_vlm.backbones.chat_format import ChatTemplateError, derive_turn_format
from unsafe_vlm.backbones.lora_targets import language_model_targets
from unsafe_vlm.errors import ConfigValueError

# Modalities as transformers numbers them (ProcessorMixin.create_mm_token_type_ids): 0 is text.
_MODALITIES = {"image": 1, "video": 2, "audio": 3}


class AutoBackbone(VLMBackbone):
    family: ClassVar[str] = "auto"

    @classmethod
    def load_processor(cls, path: str, **options: Any) -> Any:
        """``AutoProcessor``'s, or the stock class without its video part where that needs torchvision,
        which the suite does not install (``processors.py``); one line where transformers cannot build
        it or falls back to a tokenizer alone."""
        from unsafe_vlm.backbones.processors import load_images_only

        try:
            try:
                processor = super().load_processor(path, **options)
            except (ImportError, OSError) as error:
                # a video processor that needs torchvision, or none saved (a tiny instance's)
                if "torchvision" not in str(error).lower() and "video processor" not in str(error).lower():
                    raise
                processor = load_images_only(path, **options)
            if not hasattr(processor, "tokenizer"):  # AutoProcessor's tokenizer alone, for want of torchvision
                with contextlib.suppress(OSError, ImportError, ValueError, KeyError):
                    processor = load_images_only(path, **options)
        except (OSError, ImportError, ValueError, KeyError) as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            message = f"model.path: {path}: transformers cannot build its processor: {first_line}"
            raise ConfigValueError(message) from error
        if not hasattr(processor, "tokenizer"):
            raise ConfigValueError(
                f"model.path: {path}: transformers loads no processor for images from it, only a "
                f"{type(processor).__name__}; name a family that loads one in model.family (qwen2_vl for Qwen2-VL)"
            )
        return processor

    def configure(self) -> None:
        tokenizer = self.tokenizer
        if not getattr(self.processor, "chat_template", None) and isinstance(tokenizer.chat_template, str):
            self.processor.chat_template = tokenizer.chat_template  # a checkpoint that keeps it with the tokenizer
        if not getattr(self.processor, "chat_template", None):
            raise ChatTemplateError(
                f"model.path: {self.name} has no chat template; give one as model.chat_template "
                "(a Jinja template or a file holding one)"
            )
        eos_ids = [tokenizer.eos_token_id, *self._generation_eos_ids()]
        special = [t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if t.special]
        turn = derive_turn_format(
            self.render,
            stop_tokens=[tokenizer.convert_ids_to_tokens(i) for i in eos_ids if i is not None],
            end_of_sequence=tokenizer.eos_token,
            name=self.name,
            special_tokens=sorted(set(special) | set(tokenizer.all_special_tokens)),
        )
        self.answer_prefix, self.end_of_turn = turn.answer_prefix, turn.end_of_turn
        self.lora_target_modules = language_model_targets(self.model)
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        self.token_modalities = "mm_token_type_ids" in inspect.signature(base.forward).parameters

    def _generation_eos_ids(self) -> list[int]:
        config = getattr(self.model, "generation_config", None)
        ids = getattr(config, "eos_token_id", None)
        return [] if ids is None else [ids] if isinstance(ids, int) else list(ids)

    def _stop_token_ids(self) -> list[int]:
        return sorted(set(super()._stop_token_ids()) | set(self._generation_eos_ids()))

    def _suppressed_token_ids(self) -> list[int]:
        """``VLMBackbone``'s, less the tokens the template writes into an answer turn (``<think>``
        and ``</think>`` when thinking is on): an answer may hold what its own turn holds."""
        written = set(self.tokenizer(self.answer_prefix + self.end_of_turn, add_special_tokens=False)["input_ids"])
        return [i for i in super()._suppressed_token_ids() if i not in written]

    def processor_images(self, images: list[Image.Image]) -> list[list[Image.Image]]:
        """One list per prompt: processors that take several images per prompt (Idefics3, Gemma 3,
        Mllama) need it, and the others flatten it."""
        return [[image] for image in images]

    def model_kwargs(self, inputs: ModelInputs) -> dict[str, Any]:
        """The modality of every token where the model takes it: the processor gives it over the
        prompt columns only, so it is read off the token ids, answer columns included."""
        kwargs = super().model_kwargs(inputs)
        if self.token_modalities:
            kwargs["mm_token_type_ids"] = self.token_types(kwargs["input_ids"])
        cross = kwargs.get("cross_attention_mask")
        if cross is not None and cross.shape[1] < kwargs["input_ids"].shape[1]:
            kwargs["cross_attention_mask"] = extend_over_answers(cross, kwargs["input_ids"].shape[1])
        return kwargs

    def token_types(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) long: 0 for text, then 1 image, 2 video, 3 audio, by the processor's token ids."""
        types = torch.zeros_like(input_ids)
        for modality, number in _MODALITIES.items():
            ids = [i for i in getattr(self.processor, f"{modality}_token_ids", None) or [] if i is not None]
            if ids:
                types[torch.isin(input_ids, torch.tensor(ids, device=input_ids.device))] = number
        return types

    def select_rows(self, inputs: ModelInputs, rows: torch.Tensor) -> ModelInputs:
        """``VLMBackbone.select_rows``; pixels packed into one tensor for the batch are picked by
        prompt: patches (``image_grid_thw`` gives each image's grid), or InternVL's tiles (a prompt's
        image may take several rows of pixels)."""
        pixels = inputs.get("pixel_values")
        if pixels is None:
            return super().select_rows(inputs, rows)
        if "image_grid_thw" in inputs:
            sizes = inputs["image_grid_thw"].prod(dim=-1).tolist()
        elif (tiles := self._tiles_per_row(inputs)) is not None:
            sizes = tiles
        else:
            return super().select_rows(inputs, rows)
        selected = super().select_rows({k: v for k, v in inputs.items() if k != "pixel_values"}, rows)
        chunks = torch.split(pixels, sizes, dim=0)
        selected["pixel_values"] = torch.cat([chunks[i] for i in rows.tolist()], dim=0)
        return selected

    def _tiles_per_row(self, inputs: ModelInputs) -> list[int] | None:
        """Rows of ``pixel_values`` each prompt holds where an image is cut into tiles of a fixed
        number of image tokens (InternVL's ``image_seq_length``), so that the rows do not pair one
        to one with the prompts; None otherwise."""
        per_tile = getattr(self.processor, "image_seq_length", None)
        image_token = getattr(self.processor, "image_token_id", None)
        if not per_tile or image_token is None or inputs["pixel_values"].shape[0] == inputs["input_ids"].shape[0]:
            return None
        tiles = ((inputs["input_ids"] == image_token).sum(dim=1) // per_tile).tolist()
        return tiles if sum(tiles) == inputs["pixel_values"].shape[0] else None

def extend_over_answers(cross_attention_mask: torch.Tensor, length: int) -> torch.Tensor:
    """Mllama's (B, prompt columns, images, tiles) mask over ``length`` columns: the answer tokens see
    the tiles the last prompt token sees (a real token in every left-padded row), as transformers'
    ``generate`` extends it for the tokens it adds."""
    extra = length - cross_attention_mask.shape[1]
    return torch.cat([cross_attention_mask, cross_attention_mask[:, -1:].expand(-1, extra, -1, -1)], dim=1)
