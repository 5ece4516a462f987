"""Qwen2-VL and Qwen2.5-VL in the transformers format (Qwen/Qwen2-VL-7B-Instruct, Qwen/Qwen2.5-VL-7B-Instruct).

The generic family serves them; the class only loads the processor without its video half,
which needs torchvision (not a dependency of the suite).
"""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import ProcessorMixin, Qwen2VLProcessor

from unsafe_vlm.backbones.auto import AutoBackbone


class Qwen2VLImageTextProcessor(Qwen2VLProcessor):
    """Qwen2-VL's processor without its video half, for Qwen2-VL and Qwen2.5-VL alike.

    The suite shows images only, and transformers' video processor (which the stock processor
    insists on) needs torchvision; images and text are processed exactly as the stock one does.
    """

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None, **_: Any):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


class Qwen2VLBackbone(AutoBackbone):
    family: ClassVar[str] = "qwen2_vl"

    @classmethod
    def load_processor(cls, path: str, **options: Any) -> Qwen2VLImageTextProcessor:
        """The image-and-text processor: the stock one needs torchvision for its video part."""
        return Qwen2VLImageTextProcessor.from_pretrained(path, **options)
