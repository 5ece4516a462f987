"""Image features computed once per evaluation: every question about an image reuses them.

An evaluation asks each image several questions (perception, the alignment questions, the
contexts, capability), in different tasks and so in different batches. ``ImageFeatureCache``
keys each row's image by a digest of the tensors the vision encoder reads (its pixels, and its
grid or mask where the family has one), runs the encoder only on the images it has not seen, and
hands the batch to ``generate`` with ``image_features`` in place of ``pixel_values``, as
``VLMBackbone.encode_images`` does. Where that could change an answer it leaves the batch as it
is: a family whose model or ``generate`` takes no image features (InstructBLIP, Mllama), one whose
language model also reads the tower's middle layers (Qwen3-VL), rows whose features differ in shape.

The bound (``data.image_cache_mib``) is filled in the order images are first seen, then no image
is added: an evaluation reads its tasks one after the other, and that order keeps the first
images' hits on every pass where evicting the oldest would keep none.
"""

from __future__ import annotations

import hashlib
import inspect

import torch

from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone


class ImageFeatureCache:
    """The image features of one evaluation, at most ``limit_mib`` MiB of them (0: none kept)."""

    def __init__(self, backbone: VLMBackbone, limit_mib: int) -> None:
        self.backbone = backbone
        self.limit_bytes = limit_mib * 2**20
        self.held_bytes = 0
        self.features: dict[str, torch.Tensor] = {}
        # No weight changes during an evaluation, so adapters anywhere are fine (unlike in training).
        encoder = getattr(backbone.model, "get_image_features", None)  # Mllama's cross-attention has none
        # Qwen3-VL's language model also reads the tower's middle layers, which features cannot stand in for
        vision = getattr(backbone.model.config, "vision_config", None)
        deepstack = bool(getattr(vision, "deepstack_visual_indexes", None))
        self.enabled = (
            limit_mib > 0 and encoder is not None and not deepstack and backbone.generates_from_image_features
            and backbone.takes_image_features()
        )  # fmt: skip
        self._encoder_keys = set(inspect.signature(encoder).parameters) if encoder is not None else set()

    @torch.no_grad()
    def encode(self, inputs: ModelInputs) -> ModelInputs:
        """The batch with ``image_features`` from the cache and from one encoder pass over the images
        it lacks; the batch as it came where features cannot be shared."""
        if not self.enabled or "pixel_values" not in inputs:
            return inputs
        count = inputs["input_ids"].shape[0]
        keys = [self._digest(self.backbone.select_rows(inputs, torch.tensor([row]))) for row in range(count)]
        found = {key: self.features[key] for key in keys if key in self.features}
        missing = list(dict.fromkeys(key for key in keys if key not in found))
        if missing:
            rows = torch.tensor([keys.index(key) for key in missing])
            new = self._encoder_outputs(self.backbone.select_rows(inputs, rows))
            if new is None or len(new) != len(missing):
                return inputs
            for key, features in zip(missing, new, strict=True):
                found[key] = features
                self._keep(key, features)
        per_row = [found[key] for key in keys]
        if len({tuple(f.shape) for f in per_row}) != 1:
            return inputs
        encoded = {k: v for k, v in inputs.items() if k != "pixel_values"}
        encoded["image_features"] = torch.stack(per_row)
        return encoded

    def _encoder_outputs(self, inputs: ModelInputs) -> list[torch.Tensor] | None:
        """Each row's features; None (and the cache off) where the encoder gives middle-layer features
        too (a deepstack model the config did not reveal)."""
        features = self.backbone.model.get_image_features(
            **{k: v for k, v in inputs.items() if k in self._encoder_keys}
        )
        if getattr(features, "deepstack_features", None) is not None:
            self.enabled = False
            return None
        # handed back in the form the model gave them: a list of rows (LLaVA) or one tensor (Gemma 3)
        self.backbone.image_features_as_rows = not torch.is_tensor(features.pooler_output)
        return [f.detach() for f in features.pooler_output]

    def _keep(self, key: str, features: torch.Tensor) -> None:
        size = features.numel() * features.element_size()
        if self.held_bytes + size <= self.limit_bytes:
            self.features[key] = features.clone()  # its own memory, not a view that keeps the whole batch's
            self.held_bytes += size

    def _digest(self, row: ModelInputs) -> str:
        digest = hashlib.blake2b(digest_size=32)
        for name in sorted(k for k in row if k in self._encoder_keys and torch.is_tensor(row[k])):
            tensor = row[name].detach().contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).cpu().numpy())  # read in place, not copied
        return digest.hexdigest()
