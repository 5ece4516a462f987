"""Model families by name, and building a backbone from its config (``conf/model/*.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from unsafe_vlm.api.client import ApiModel
from unsafe_vlm.api.settings import API_FAMILY, ApiModelSettings
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.chat_format import read_chat_template
from unsafe_vlm.backbones.identity import BaseIdentity, tiny_identity
from unsafe_vlm.backbones.lora import LoraSettings, load_adapter
from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.paths import shipped_or_given
from unsafe_vlm.registry import Registry
from unsafe_vlm.settings import Settings, limit

# open: "package.module:Class" names an adapter of your own
FAMILIES: Registry[type[VLMBackbone]] = Registry(
    "model family",
    "model.family",
    {
        "auto": "unsafe_vlm.backbones.auto:AutoBackbone",  # any image-text-to-text checkpoint with a chat template
        "llava": "unsafe_vlm.backbones.llava:LlavaBackbone",  # auto + the LLaVA-1.5 template where none is shipped
        "qwen2_vl": "unsafe_vlm.backbones.qwen2_vl:Qwen2VLBackbone",  # auto + a processor without torchvision
        "idefics3": "unsafe_vlm.backbones.auto:AutoBackbone",  # served by auto (the name kept for old configs)
        "instructblip": "unsafe_vlm.backbones.instructblip:InstructBlipBackbone",  # no chat template; a Q-Former
    },
    open=True,
)


def _dtype_problem(name: str) -> str | None:
    if name == "auto" or isinstance(getattr(torch, name, None), torch.dtype):
        return None
    return "is not a torch dtype; use float32, bfloat16, float16 or auto"


@dataclass(frozen=True)
class ModelSettings(Settings):
    """A ``model`` node (conf/model/*.yaml); what each key means is written there."""

    name: str
    family: str  # a registered family or "package.module:Class"
    path: str | None  # hub id or folder; null builds the random `tiny` architecture
    tiny: Any  # architecture, sizes and seed of the random instance: the family's ``tiny_settings``, or null
    chat_template: str | None  # a Jinja template, or a file holding one, in place of the checkpoint's
    enable_thinking: bool  # handed to the chat template; false: answers open without a <think> block
    dtype: str | None = limit(check=_dtype_problem)  # torch dtype of the weights, tiny ones too
    device_map: Any  # transformers device map (null, "auto", or a mapping)
    trust_remote_code: bool
    revision: str | None
    blank_image_size: int = limit(ge=1)
    gradient_checkpointing: bool  # training recomputes each layer's activations in the backward pass
    adapter: str | None  # folder of a trained LoRA adapter to load on top
    lora: LoraSettings

    @classmethod
    def from_config(cls, node: Any, prefix: str, *, partial: bool = False) -> ModelSettings:
        """``Settings.from_config``, with ``tiny`` checked against (and held as) the family's tiny sizes."""
        settings = super().from_config(node, prefix, partial=partial)
        return replace(settings, tiny=_tiny_sizes(settings, prefix))

    @property
    def torch_dtype(self) -> torch.dtype | str | None:
        return getattr(torch, self.dtype) if self.dtype not in (None, "auto") else self.dtype


def model_settings(node: Any) -> ModelSettings | ApiModelSettings:
    """The checked ``model`` node: a model behind an API (``family: api``) or one the suite loads."""
    if node.get("family") == API_FAMILY:
        return ApiModelSettings.from_config(node, "model")
    return ModelSettings.from_config(node, "model")


def _tiny_sizes(model: ModelSettings, prefix: str) -> Settings | None:
    """``model.tiny`` as the family's typed sizes (checked even when ``path`` leaves them unused);
    None with a ``path`` and no tiny block, or a tiny block the family has no class for."""
    key = f"{prefix}.tiny" if prefix else "tiny"
    sizes = resolve_family(model.family).tiny_settings
    if model.tiny is None or sizes is None:
        if model.path:
            return None
        raise ConfigValueError(f"{key}: the family {model.family!r} has no tiny sizes here; give them, or a path")
    return model.tiny if isinstance(model.tiny, sizes) else sizes.from_config(model.tiny, key)


def resolve_family(family: str) -> type[VLMBackbone]:
    """A registered family name, or ``package.module:Class`` for an adapter of your own."""
    cls = FAMILIES.get(family)
    if not (isinstance(cls, type) and issubclass(cls, VLMBackbone)):
        raise ConfigValueError(f"model.family: {family!r} is not a VLMBackbone subclass")
    return cls


def build_backbone(model: ModelSettings | ApiModelSettings) -> VLMBackbone | ApiModel:
    """Build the backbone checked model settings describe (``model_settings`` makes them from a
    ``model`` node): a checkpoint, the tiny architecture in ``dtype``, or a client of a model behind an API."""
    if not isinstance(model, ModelSettings | ApiModelSettings):
        raise TypeError(f"build_backbone takes checked settings (model_settings(node)), not {type(model).__name__}")
    if isinstance(model, ApiModelSettings):
        return ApiModel(model)
    cls = resolve_family(model.family)
    template = {
        "chat_template": read_chat_template(model.chat_template) if model.chat_template else None,
        "enable_thinking": model.enable_thinking,
    }
    if model.path:
        backbone = cls.from_pretrained(
            shipped_or_given(model.path),
            dtype=model.torch_dtype,
            device_map=model.device_map,
            trust_remote_code=model.trust_remote_code,
            revision=model.revision,
            blank_image_size=model.blank_image_size,
            **template,
        )
        backbone.base_identity = BaseIdentity(model.path, model.revision)
    else:
        backbone = cls.build_tiny(model.tiny, blank_image_size=model.blank_image_size, **template)
        backbone.base_identity = tiny_identity(backbone.model)  # before the cast: one name in every dtype
        if isinstance(model.torch_dtype, torch.dtype):
            backbone.model.to(model.torch_dtype)
    if model.gradient_checkpointing:
        checkpoint_activations(backbone.model)
    if model.adapter:
        load_adapter(backbone, model.adapter)
    return backbone


def checkpoint_activations(model: torch.nn.Module) -> None:
    """Recompute each layer's activations in the backward pass instead of keeping them; only in
    train mode, so generation and evaluation are untouched. Non-reentrant checkpoints need no input
    that requires grad, so they work with LoRA's frozen base weights and embeddings."""
    # activation_checkpointing_enable replaces gradient_checkpointing_enable in newer transformers
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable({"use_reentrant": False})
