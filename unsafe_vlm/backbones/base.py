"""The one interface every VLM implements, so the methods never branch on the model family.

Layout of every batch a backbone makes (``ModelInputs``)::

    column:   0 ........ P-1 | P ........ L-1
    row:      [pad][prompt]  | [answer][pad]

Prompts are left-padded so they all end at column ``P`` (``prompt_length``); answers, when
there are any, start at ``P`` and are right-padded. Generation appends to the same layout,
so a rollout can be scored without re-padding. RoPE language models only see relative
positions, so the left padding changes nothing for the real tokens.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from PIL import Image
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling

from unsafe_vlm.backbones.group_prefill import group_prefill, shares_prefill
from unsafe_vlm.backbones.tiny_sizes import TinySizes
from unsafe_vlm.errors import ConfigValueError, MissingFileError
from unsafe_vlm.settings import Settings

ModelInputs = dict[str, Any]
"""``input_ids`` (B, L), ``attention_mask`` (B, L), ``answer_mask`` (B, L) bool,
``prompt_length`` int, plus the family's vision tensors (``pixel_values``, ...), or, once
``encode_images`` ran, ``image_features`` (B, N, H) in place of ``pixel_values``."""

_SUITE_KEYS = ("answer_mask", "prompt_length", "image_features")


@dataclass
class Generation:
    """What ``VLMBackbone.generate`` returns.

    inputs:   prompt + sampled answer in the ``ModelInputs`` layout, ready to score.
    texts:    the decoded answers, special tokens removed.
    finished: (B,) bool, True where the answer ended with a stop token.
    lengths:  (B,) long, answer tokens per row (the stop token included).
    """

    inputs: ModelInputs
    texts: list[str]
    finished: torch.Tensor
    lengths: torch.Tensor


@dataclass
class AnswerOutputs:
    """Model outputs over the answer span only (columns P..L-1).

    logits: (B, A, V) float, logits[:, t] predicts answer token t; None if not asked for.
    tokens: (B, A) long, the answer tokens.
    mask:   (B, A) bool, True on real answer tokens.
    hidden: (B, A, H) last hidden state that predicts token t, or None if not asked for.
    """

    logits: torch.Tensor | None
    tokens: torch.Tensor
    mask: torch.Tensor
    hidden: torch.Tensor | None = None

    def log_probabilities(self) -> torch.Tensor:
        """(B, A, V) float32 log-softmax of the logits: every next-token distribution."""
        return torch.log_softmax(self.logits.float(), dim=-1)

    def token_logprobs(self, log_probabilities: torch.Tensor | None = None) -> torch.Tensor:
        """(B, A) float32 log-probability of each answer token; 0 on padding.

        Pass ``log_probabilities()`` when the caller needs it too (for an entropy), so the
        log-softmax over the vocabulary runs once.
        """
        logprobs = self.log_probabilities() if log_probabilities is None else log_probabilities
        picked = logprobs.gather(-1, self.tokens.unsqueeze(-1)).squeeze(-1)
        return picked.masked_fill(~self.mask, 0.0)


class VLMBackbone(nn.Module):
    """A Hugging Face VLM and its processor behind the operations the suite needs.

    The generic family (``auto.py``) derives the end of turn, the answer prefix and the LoRA
    targets from the checkpoint; a family it cannot serve sets them as class attributes here and
    overrides what its processor or model does differently.
    """

    family: ClassVar[str] = "generic"
    end_of_turn: ClassVar[str] = ""
    """Text that closes an assistant turn in the chat template (``</s>``, ``<|im_end|>``)."""
    answer_prefix: ClassVar[str] = ""
    """Text between the generation prompt and the answer (a space for ``ASSISTANT:``)."""
    lora_target_modules: ClassVar[str] = (
        r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
    )
    """Regex of the language model's linear layers (the vision tower stays untouched)."""
    default_chat_template: ClassVar[str | None] = None
    generates_from_image_features: ClassVar[bool] = True
    """Whether ``generate`` takes ``image_features`` from ``encode_images`` in place of the pixels."""
    tiny_settings: ClassVar[type[Settings] | None] = TinySizes
    """The sizes and seed of a tiny random instance (``model.tiny``): ``TinySizes`` reads its architecture."""
    shares_prefill_family: ClassVar[bool] = True
    """Whether ``generate`` may answer a group from one prefill of its prompt, where the model's cache
    allows it (``group_prefill.shares_prefill``); False where the family's ``generate`` is its own."""

    def __init__(
        self,
        model: nn.Module,
        processor: Any,
        *,
        blank_image_size: int = 336,
        chat_template: str | None = None,
        enable_thinking: bool = False,
        name: str | None = None,
    ) -> None:
        """chat_template: replaces the checkpoint's (``model.chat_template``); enable_thinking: handed to
        the template (``model.enable_thinking``); name: what ``model.path`` named, for messages."""
        super().__init__()
        self.model = model
        self.processor = processor
        self.blank_image_size = blank_image_size
        self.enable_thinking = enable_thinking
        self.name = name or f"this {type(model).__name__}"
        self.base_identity: Any = None  # the BaseIdentity adapters record (identity.py); set by build_backbone
        tokenizer = self.tokenizer
        if chat_template is not None:
            processor.chat_template = chat_template
        elif getattr(processor, "chat_template", None) is None and self.default_chat_template:
            processor.chat_template = self.default_chat_template
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.configure()
        self.stop_token_ids = self._stop_token_ids()
        self.suppressed_token_ids = self._suppressed_token_ids()

    def configure(self) -> None:
        """Derive what the family does not fix (the generic family: end of turn, answer prefix, LoRA targets)."""

    # ----- construction -------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        dtype: str | torch.dtype | None = None,
        device_map: str | dict | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        blank_image_size: int = 336,
        **options: Any,
    ) -> VLMBackbone:
        """Load weights and processor from a hub id or a local folder (safetensors); ``options``: the
        constructor's (``chat_template``, ``enable_thinking``)."""
        from transformers import AutoModelForImageTextToText

        if Path(path).expanduser().is_dir():
            check_model_folder(Path(path).expanduser())
        common = {"trust_remote_code": trust_remote_code, "revision": revision}
        processor = cls.load_processor(str(path), **common)
        model = AutoModelForImageTextToText.from_pretrained(
            str(path), dtype=_resolve_dtype(dtype), device_map=device_map, use_safetensors=True, **common
        )
        return cls(model, processor, blank_image_size=blank_image_size, name=str(path), **options)

    @classmethod
    def load_processor(cls, path: str, **options: Any) -> Any:
        """The checkpoint's processor; a family whose stock processor cannot load here overrides this."""
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(path, **options)

    @classmethod
    def build_tiny(cls, sizes: TinySizes, **options: Any) -> VLMBackbone:
        """A randomly initialised instance of ``sizes.architecture`` (``tiny_architectures/``), for tests;
        ``options``: the constructor's."""
        from unsafe_vlm.backbones.tiny_architectures import build_tiny_architecture

        model, processor = build_tiny_architecture(sizes)
        options.setdefault("blank_image_size", sizes.blank_image_size)
        return cls(model, processor, name=f"the tiny {sizes.architecture}", **options)

    def save_pretrained(self, path: str | Path) -> None:
        self.model.save_pretrained(str(path))
        self.processor.save_pretrained(str(path))

    def save_adapter(self, folder: str | Path) -> Path:
        """Every LoRA adapter the model carries, in the peft layout, each naming the base it was made for."""
        folder = Path(folder)
        if self.base_identity is not None:
            for config in self.model.peft_config.values():
                config.base_model_name_or_path, config.revision = self.base_identity.name, self.base_identity.revision
        # never "auto": that looks the base's name up on the hub to see whether the vocabulary grew
        self.model.save_pretrained(str(folder), save_embedding_layers=False)
        return folder

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ----- prompt formatting ----------------------------------------------------------------

    def message(self, question: str, has_image: bool, system: str | None = None) -> list[dict]:
        """One user turn in the transformers chat format, after a system turn if ``system`` is given."""
        content = [{"type": "image"}] if has_image else []
        content.append({"type": "text", "text": question})
        turns = [{"role": "system", "content": [{"type": "text", "text": system}]}] if system is not None else []
        return [*turns, {"role": "user", "content": content}]

    def prompt_text(self, question: str, has_image: bool, system: str | None = None) -> str:
        """The chat-formatted prompt, ending where the assistant's answer begins."""
        return self.render(self.message(question, has_image, system), add_generation_prompt=True)

    def render(self, messages: list[dict], add_generation_prompt: bool) -> str:
        """The processor's chat template applied to ``messages``; ``enable_thinking`` is handed to a
        template that reads it (transformers warns about a variable the template does not read)."""
        reads_it = "enable_thinking" in str(self.processor.chat_template)
        options = {"enable_thinking": self.enable_thinking} if reads_it else {}
        return self.processor.apply_chat_template(
            messages, add_generation_prompt=add_generation_prompt, tokenize=False, **options
        )

    def takes_system_message(self) -> bool:
        """Whether the chat template shows a system message (some drop it, some refuse it)."""
        marker = "unsafe-vlm system marker"
        try:
            return marker in self.prompt_text("?", has_image=True, system=marker)
        except Exception:  # a template may raise on a role it does not know
            return False

    def blank_image(self) -> Image.Image:
        """The white image the protocol shows when a question has no image of its own."""
        side = self.blank_image_size
        return Image.new("RGB", (side, side), (255, 255, 255))

    def processor_images(self, images: list[Image.Image]) -> Any:
        """The images in the form the family's processor takes (a flat list for most)."""
        return images

    # ----- encoding -------------------------------------------------------------------------

    def encode(
        self,
        questions: Sequence[str],
        images: Sequence[Image.Image | None],
        answers: Sequence[str] | None = None,
        systems: Sequence[str | None] | None = None,
    ) -> ModelInputs:
        """Turn questions, images (None: blank white image) and optional answers into inputs;
        ``systems``: a system message (or None) per question.

        With answers, ``answer_mask`` marks the answer tokens and the end-of-turn token that
        closes them; without, it is all False and the batch is a generation prompt.
        """
        if len(questions) != len(images) or (answers is not None and len(answers) != len(questions)):
            raise ValueError("encode: questions, images and answers must have the same length")
        pictures = [self.blank_image() if image is None else image for image in images]
        systems = systems if systems is not None else [None] * len(questions)
        texts = [
            self.prompt_text(q, has_image=True) if s is None else self.prompt_text(q, has_image=True, system=s)
            for q, s in zip(questions, systems, strict=True)
        ]
        tokenizer = self.tokenizer
        with padding_side(tokenizer, "left"):
            batch = self.processor(
                text=texts, images=self.processor_images(pictures), padding=True, return_tensors="pt"
            )
        inputs: ModelInputs = dict(batch)
        prompt_length = inputs["input_ids"].shape[1]
        if answers is None:
            inputs["answer_mask"] = torch.zeros_like(inputs["input_ids"], dtype=torch.bool)
            inputs["prompt_length"] = prompt_length
            return inputs
        answer_ids = [self.answer_token_ids(t, a) for t, a in zip(texts, answers, strict=True)]
        return append_answers(inputs, answer_ids, pad_token_id=tokenizer.pad_token_id)

    def answer_token_ids(self, prompt_text: str, answer: str) -> list[int]:
        """Token ids of the answer and its end-of-turn, as they follow the prompt.

        Tokenising prompt and answer together keeps merges across the boundary as the model
        saw them in training; if that breaks the prompt's own tokens, the answer is
        tokenised alone.
        """
        tokenizer = self.tokenizer
        tail = self.answer_prefix + answer + self.end_of_turn
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        full_ids = tokenizer(prompt_text + tail, add_special_tokens=False)["input_ids"]
        if full_ids[: len(prompt_ids)] == prompt_ids:
            return full_ids[len(prompt_ids) :]
        return tokenizer(tail, add_special_tokens=False)["input_ids"]

    # ----- model passes ---------------------------------------------------------------------

    def model_kwargs(self, inputs: ModelInputs) -> dict[str, Any]:
        kwargs = {k: v for k, v in inputs.items() if k not in _SUITE_KEYS}
        if "image_features" in inputs:  # encoded once by encode_images: the model skips its vision tower
            features = inputs["image_features"]
            pooled = list(features.unbind(0)) if getattr(self, "image_features_as_rows", True) else features
            kwargs["mm_encoder_outputs"] = {"image": BaseModelOutputWithPooling(pooler_output=pooled)}
        return kwargs

    def forward(self, inputs: ModelInputs, *, hidden: bool = False, logits: bool = True) -> AnswerOutputs:
        """One pass over prompt + answer; logits (and last hidden states) of the answer span.

        ``logits=False`` is for a pass that only needs the hidden states (a value head): the
        output layer then runs on the last column alone and ``logits`` comes back None.
        """
        prompt_length = inputs["prompt_length"]
        span = inputs["input_ids"].shape[1] - prompt_length
        outputs = self.language_outputs(
            self.model(
                **self.model_kwargs(inputs),
                logits_to_keep=span + 1 if logits else 1,
                output_hidden_states=hidden,
                use_cache=False,
            )
        )
        last_hidden = None
        if hidden:
            last_hidden = outputs.hidden_states[-1][:, prompt_length - 1 : -1]
        return AnswerOutputs(
            logits=outputs.logits[:, :-1] if logits else None,
            tokens=inputs["input_ids"][:, prompt_length:],
            mask=inputs["answer_mask"][:, prompt_length:],
            hidden=last_hidden,
        )

    def language_outputs(self, outputs: Any) -> Any:
        """The language model's ``logits`` and ``hidden_states`` within the model's outputs: the
        outputs themselves for most families (InstructBLIP nests them)."""
        return outputs

    def answer_logprobs(self, inputs: ModelInputs) -> torch.Tensor:
        """(B, A) log-probability of each given answer token; 0 on padding."""
        return self(inputs).token_logprobs()

    @torch.no_grad()
    def generate(
        self,
        inputs: ModelInputs,
        *,
        max_new_tokens: int = 64,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        group_size: int = 1,
        share_prefill: bool = True,
    ) -> Generation:
        """Answer a left-padded prompt batch ``group_size`` times, the answers to prompt p in rows
        p * group_size .. p * group_size + group_size - 1; stops each row at the end of its turn.

        With more than one answer per prompt, the images are encoded once (``encode_images``) and,
        where the model's cache allows it (``group_prefill.shares_prefill``) and ``share_prefill`` is
        on, the language model reads each prompt once and every answer continues from its cache;
        otherwise every answer reads its prompt again. Both draw the same random numbers.
        """
        options: dict[str, Any] = {"do_sample": do_sample, "top_k": None}
        if do_sample:
            options.update(temperature=temperature, top_p=top_p)
        else:
            options.update(temperature=None, top_p=None)
        model_inputs = None
        if group_size > 1:
            inputs = self.encode_images(inputs)
            if share_prefill and shares_prefill(self):
                model_inputs = group_prefill(self, inputs, group_size).inputs
            rows = torch.arange(inputs["input_ids"].shape[0]).repeat_interleave(group_size)
            inputs = self.select_rows(inputs, rows)
        sequences = self.model.generate(
            **(model_inputs or self.model_kwargs(inputs)),
            max_new_tokens=max_new_tokens,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            suppress_tokens=self.suppressed_token_ids,
            **options,
        )
        prompt_length = inputs["input_ids"].shape[1]
        answers = sequences[:, prompt_length:]
        answer_mask, finished = mask_after_stop(answers, self.stop_token_ids)
        answers = answers.masked_fill(~answer_mask, self.tokenizer.pad_token_id)
        full = dict(inputs)
        full["input_ids"] = torch.cat([inputs["input_ids"], answers], dim=1)
        full["attention_mask"] = torch.cat([inputs["attention_mask"], answer_mask.long()], dim=1)
        full["answer_mask"] = torch.cat([torch.zeros_like(inputs["answer_mask"]), answer_mask], dim=1)
        full["prompt_length"] = prompt_length
        texts = self.tokenizer.batch_decode(answers, skip_special_tokens=True)
        return Generation(
            inputs=full,
            texts=[t.strip() for t in texts],
            finished=finished,
            lengths=answer_mask.sum(-1),
        )

    def select_rows(self, inputs: ModelInputs, rows: torch.Tensor) -> ModelInputs:
        """The same batch restricted to ``rows`` (a 1-D index tensor), in that order.

        Every tensor whose first dimension is the batch is indexed; a family whose vision
        tensors are packed differently (Qwen2-VL's flat patches) overrides this.
        """
        batch = inputs["input_ids"].shape[0]
        return {
            key: value[rows.to(value.device)] if torch.is_tensor(value) and value.dim() and value.shape[0] == batch
            else value
            for key, value in inputs.items()
        }

    @torch.no_grad()
    def encode_images(self, inputs: ModelInputs) -> ModelInputs:
        """The batch with its images run through the vision encoder once, for several passes over it.

        The features (B, N, H) replace ``pixel_values`` as ``image_features``; every later pass
        hands them to the model (transformers' ``mm_encoder_outputs``) and skips the vision
        tower, and ``select_rows`` picks them by row. Only where that changes nothing: the model
        takes ``mm_encoder_outputs``, every row has features of the same shape, and no adapter or
        trainable weight lies outside the language model and output layer (the LoRA layers of
        every family's default). Otherwise the batch comes back as it was.
        """
        if "pixel_values" not in inputs or not self.reuses_image_features():
            return inputs
        encoder = inspect.signature(self.model.get_image_features).parameters
        features = self.model.get_image_features(**{k: v for k, v in inputs.items() if k in encoder})
        if getattr(features, "deepstack_features", None) is not None:
            return inputs  # the language model also reads the tower's middle layers (Qwen3-VL)
        per_row = list(features.pooler_output)
        if len(per_row) != inputs["input_ids"].shape[0] or len({tuple(f.shape) for f in per_row}) != 1:
            return inputs
        encoded = {k: v for k, v in inputs.items() if k != "pixel_values"}
        encoded["image_features"] = torch.stack(per_row)
        # handed back in the form the model gave them: a list of rows (LLaVA) or one tensor (Gemma 3)
        self.image_features_as_rows = not torch.is_tensor(features.pooler_output)
        return encoded

    def reuses_image_features(self) -> bool:
        """Whether image features computed once stay valid for every pass: the model takes
        ``mm_encoder_outputs`` and adapters or training cannot change its image features (no LoRA
        layer and no trainable weight outside the language model and the output layer)."""
        if not self.takes_image_features():
            return False
        model = self.model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        text_parts = [part for part in (base.get_decoder(), base.get_output_embeddings()) if part is not None]
        text_modules = {id(m) for part in text_parts for m in part.modules()}
        for module in base.modules():
            if id(module) in text_modules:
                continue
            if hasattr(module, "lora_A") or any(p.requires_grad for p in module.parameters(recurse=False)):
                return False
        return True

    def takes_image_features(self) -> bool:
        """Whether the model's forward takes image features computed beforehand (``mm_encoder_outputs``)."""
        model = self.model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        return "mm_encoder_outputs" in inspect.signature(base.forward).parameters

    @property
    def hidden_size(self) -> int:
        """Width of the language model's last hidden states (what a value head reads)."""
        return self.model.config.get_text_config().hidden_size

    # ----- adapters -------------------------------------------------------------------------

    def reference(self) -> contextlib.AbstractContextManager:
        """Context in which the model is the frozen reference: same weights, adapters off."""
        disable = getattr(self.model, "disable_adapter", None)
        return disable() if callable(disable) else contextlib.nullcontext()

    def _suppressed_token_ids(self) -> list[int]:
        """Special tokens an answer must never contain (image placeholders, padding, ...): all
        special and added tokens but the stop tokens. A sampled image token would break the
        next forward pass, which expects as many of them as the prompt has image features."""
        tokenizer = self.tokenizer
        special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}))
        return sorted(special - set(self.stop_token_ids))

    def _stop_token_ids(self) -> list[int]:
        tokenizer = self.tokenizer
        ids = [tokenizer.eos_token_id]
        if self.end_of_turn:
            end_ids = tokenizer(self.end_of_turn, add_special_tokens=False)["input_ids"]
            if len(end_ids) == 1:
                ids.append(end_ids[0])
        return sorted({i for i in ids if i is not None})


def append_answers(inputs: ModelInputs, answer_ids: list[list[int]], *, pad_token_id: int) -> ModelInputs:
    """Append right-padded answers after a left-padded prompt batch; see the module layout."""
    width = max(len(ids) for ids in answer_ids)
    batch = len(answer_ids)
    answers = torch.full((batch, width), pad_token_id, dtype=inputs["input_ids"].dtype)
    answer_mask = torch.zeros((batch, width), dtype=torch.bool)
    for row, ids in enumerate(answer_ids):
        answers[row, : len(ids)] = torch.tensor(ids, dtype=answers.dtype)
        answer_mask[row, : len(ids)] = True
    full = dict(inputs)
    prompt_length = inputs["input_ids"].shape[1]
    full["input_ids"] = torch.cat([inputs["input_ids"], answers], dim=1)
    full["attention_mask"] = torch.cat([inputs["attention_mask"], answer_mask.long()], dim=1)
    prompt_mask = torch.zeros((batch, prompt_length), dtype=torch.bool)
    full["answer_mask"] = torch.cat([prompt_mask, answer_mask], dim=1)
    full["prompt_length"] = prompt_length
    return full


def mask_after_stop(tokens: torch.Tensor, stop_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of tokens up to and including each row's first stop token.

    tokens: (B, N) generated ids. Returns mask (B, N) bool and finished (B,) bool.
    """
    is_stop = torch.isin(tokens, torch.tensor(list(stop_ids), device=tokens.device))
    stops_before = is_stop.long().cumsum(dim=1) - is_stop.long()
    mask = stops_before == 0
    return mask, is_stop.any(dim=1)


def _resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | str | None:
    if dtype is None or isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    try:
        return getattr(torch, dtype)
    except AttributeError:
        raise ConfigValueError(f"model.dtype: unknown torch dtype {dtype!r}") from None


@contextlib.contextmanager
def padding_side(tokenizer: Any, side: str) -> Iterator[None]:
    previous = tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield
    finally:
        tokenizer.padding_side = previous


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def check_model_folder(folder: Path) -> None:
    """A local checkpoint folder must hold a config and safetensors weights; say plainly what it lacks."""
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        raise MissingFileError(f"{folder}: the model folder is empty (expected config.json and *.safetensors)")
    if not any(name.endswith(".safetensors") for name in names):
        pickles = [name for name in names if name.endswith(PICKLE_SUFFIXES)]
        if pickles:
            raise MissingFileError(
                f"{folder}: holds only pickle weights ({', '.join(pickles)}); the suite loads safetensors only "
                "(convert them with save_pretrained(..., safe_serialization=True) where you trust the file)"
            )
        raise MissingFileError(f"{folder}: no *.safetensors weights in the model folder (it holds {', '.join(names)})")
    if "config.json" not in names:
        raise MissingFileError(f"{folder}: no config.json in the model folder")
