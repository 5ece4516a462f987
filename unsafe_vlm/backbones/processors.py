"""Processors of checkpoints whose stock processor transformers builds only with torchvision.

The suite shows images only, and runs where torchvision is not installed (its CPU CI). Several
processors insist on a video processor, which needs torchvision (LLaVA-OneVision, Qwen3-VL,
Qwen3.5, InternVL, GLM-4.1V, Gemma 4); Pixtral's (Mistral 3) cannot even be imported without it.
``images_only`` gives the stock processor class without its video part; ``load_images_only``
loads a checkpoint's processor so, where ``AutoProcessor`` fails for want of torchvision.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from typing import Any


def images_only(processor_class: type) -> type:
    """``processor_class`` without its video processor; images and text are processed exactly as
    the stock class does. The class keeps the stock name, so what it saves loads as the stock
    processor where torchvision is installed."""
    from transformers import ProcessorMixin

    class WithoutVideo(ProcessorMixin):
        # sits between the stock class and ProcessorMixin: the stock __init__ hands its parts on to
        # ProcessorMixin, which takes only the attributes get_attributes names
        def __init__(self, *parts: Any, **options: Any) -> None:
            if options.get("video_processor", 0) is None:
                del options["video_processor"]
            super().__init__(*parts[: len(self.get_attributes())], **options)

    namespace = {"__init__": _init_without_video(processor_class)}
    return type(processor_class.__name__, (processor_class, WithoutVideo), namespace)


def _init_without_video(processor_class: type) -> Any:
    """An ``__init__`` with the stock one's parameters less ``video_processor``, calling the stock
    one with ``video_processor=None``. Written out, not ``*args``: ProcessorMixin reads the
    parameter names off ``__init__`` (the parts it holds, and the settings ``from_pretrained``
    hands on, such as the chat template and the image token count)."""
    parameters = [
        parameter
        for name, parameter in inspect.signature(processor_class.__init__).parameters.items()
        if name not in ("self", "video_processor")
    ]
    named = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    rest = next((p.name for p in parameters if p.kind == p.VAR_KEYWORD), "kwargs")
    defaults = {p.name: p.default for p in named if p.default is not p.empty}
    signature = ", ".join(f"{p.name}=defaults[{p.name!r}]" if p.name in defaults else p.name for p in named)
    passed = ", ".join(f"{p.name}={p.name}" for p in named)
    source = (
        f"def __init__(self, {signature}, **{rest}):\n"
        f"    stock.__init__(self, {passed}, video_processor=None, **{rest})\n"
    )
    scope: dict[str, Any] = {"stock": processor_class, "defaults": defaults}
    exec(source, scope)  # noqa: S102 - parameter names from transformers' own signature
    return scope["__init__"]


def pixtral_processor_class() -> type:
    """transformers' PixtralProcessor (Pixtral, Mistral 3), also where torchvision is missing.

    transformers 5.25's processing_pixtral imports ``get_resize_output_image_size`` from the
    torchvision image processor's module, though the PIL one defines the same function; without
    torchvision the processor cannot be imported at all. The function is lent from the PIL module
    for that one import.
    """
    name = "transformers.models.pixtral.image_processing_pixtral"
    if importlib.util.find_spec("torchvision") is None and name not in sys.modules:
        from transformers.models.pixtral import image_processing_pil_pixtral

        lender = types.ModuleType(name)
        lender.get_resize_output_image_size = image_processing_pil_pixtral.get_resize_output_image_size
        sys.modules[name] = lender
        try:
            return importlib.import_module("transformers.models.pixtral.processing_pixtral").PixtralProcessor
        finally:
            del sys.modules[name]
    return importlib.import_module("transformers.models.pixtral.processing_pixtral").PixtralProcessor


def load_images_only(path: str, **options: Any) -> Any:
    """The processor of the checkpoint at ``path`` (the class its model type maps to) without its
    video part, for where ``AutoProcessor`` needs torchvision."""
    from transformers import AutoConfig
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES, processor_class_from_name

    model_type = AutoConfig.from_pretrained(path, **options).model_type
    class_name = PROCESSOR_MAPPING_NAMES[model_type]
    stock = pixtral_processor_class() if class_name == "PixtralProcessor" else processor_class_from_name(class_name)
    needs_video = "video_processor" in stock.get_attributes()
    return (images_only(stock) if needs_video else stock).from_pretrained(path, **options)
