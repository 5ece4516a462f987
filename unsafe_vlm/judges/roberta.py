"""The paper's learned judges: RoBERTa classifiers over the response text (``conf/judge/roberta.yaml``).

Each task (perception, alignment) gets its classifier from one of:

- ``<task>_weights``: a state dict of ``RobertaModel`` + ``Linear(hidden, K)`` on the first
  token (the paper's released layout; see ``checkpoint`` for the accepted key names), built
  on the config and tokenizer in the local folder ``base_model``;
- ``<task>_model``: a local folder of any ``AutoModelForSequenceClassification`` with its
  tokenizer (``base_model``, when set, supplies the tokenizer instead).

``<task>_labels`` is the order of the classifier's outputs (default: the suite's order, or
the model config's ``id2label`` when that names the classes); probabilities always come out
in the suite's order. At least one task must be configured; asking a task that is not
configured is an error naming the keys to set.

The perception classifier reads the response alone (the paper's input), or with
``perception_with_options`` the response, a blank line and the option lines "A: ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, OPTION_LETTERS, PERCEPTION_CLASSES, Judge, Options, option_map
from unsafe_vlm.judges.checkpoint import classifier_state, load_checked, read_state_dict
from unsafe_vlm.judges.class_order import column_order, names_classes
from unsafe_vlm.judges.classifier import FirstTokenClassifier, SequenceClassifier
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.identity import files_sha256
from unsafe_vlm.settings import Settings, limit

_CLASSES = {"perception": PERCEPTION_CLASSES, "alignment": ALIGNMENT_CLASSES}


@dataclass
class _Classifier:
    model: nn.Module
    tokenizer: object
    columns: list[int]
    max_length: int


@dataclass(frozen=True)
class RobertaSettings(Settings):
    """``judge`` of conf/judge/roberta.yaml (what each key means is written there)."""

    name: str
    base_model: str | None
    perception_weights: str | None
    alignment_weights: str | None
    perception_model: str | None
    alignment_model: str | None
    perception_labels: list[str] | None
    alignment_labels: list[str] | None
    perception_with_options: bool
    batch_size: int = limit(ge=1)
    max_length: int = limit(ge=1)
    device: str


class RobertaJudge(Judge):
    settings_class = RobertaSettings

    def __init__(
        self,
        base_model: str | None = None,
        perception_weights: str | None = None,
        alignment_weights: str | None = None,
        perception_model: str | None = None,
        alignment_model: str | None = None,
        perception_labels: Sequence[str] | None = None,
        alignment_labels: Sequence[str] | None = None,
        perception_with_options: bool = False,
        batch_size: int = 32,
        max_length: int = 512,
        device: str = "cpu",
        name: str = "roberta",
    ):
        if batch_size < 1:
            raise JudgeError(f"judge.batch_size must be at least 1, got {batch_size}")
        self.name = name
        self.batch_size = batch_size
        self.perception_with_options = perception_with_options
        self.device = torch.device(device)
        sources = {
            "perception": (perception_weights, perception_model, perception_labels),
            "alignment": (alignment_weights, alignment_model, alignment_labels),
        }
        self._classifiers: dict[str, _Classifier] = {}
        self._identity: dict[str, str] = {}
        for task, (weights, model_dir, labels) in sources.items():
            if weights and model_dir:
                raise JudgeError(f"judge.{task}_weights and judge.{task}_model are both set; keep one")
            if weights or model_dir:
                classifier = _load(task, base_model, weights, model_dir, labels, max_length)
                classifier.model.to(self.device)
                self._classifiers[task] = classifier
                self._identity[f"{task}_sha256"] = files_sha256([Path(weights or model_dir)])
                self._identity[f"{task}_labels"] = ",".join(labels) if labels else "default"
        if not self._classifiers:
            raise JudgeError(
                "judge=roberta has no classifier: set judge.alignment_weights and/or judge.perception_weights "
                "(with judge.base_model, a local roberta folder), or judge.alignment_model / judge.perception_model"
            )

    def identity(self) -> dict[str, str]:
        """The sha256 of each classifier's weights (file, or model folder) and its label order."""
        return dict(self._identity)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks this judge has a classifier for."""
        return tuple(self._classifiers)

    def to(self, device: str | torch.device) -> RobertaJudge:
        self.device = torch.device(device)
        for classifier in self._classifiers.values():
            classifier.model.to(self.device)
        return self

    def judge_perception(self, responses: Sequence[str], options: Sequence[Options]) -> torch.Tensor:
        if len(options) != len(responses):
            raise ValueError(f"{len(responses)} responses but {len(options)} option sets")
        texts = list(responses)
        if self.perception_with_options:
            texts = [_with_options(r, o) for r, o in zip(texts, options, strict=True)]
        return self._probs("perception", texts)

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        return self._probs("alignment", list(responses))

    def judge_yes_no(self, responses: Sequence[str]) -> torch.Tensor:
        """Not possible: the classifiers know perception and safety classes only."""
        raise JudgeError(
            "judge=roberta cannot judge yes/no answers (its classifiers know perception and Safe/Unsafe only); "
            "use judge=rule for data=mme"
        )

    @torch.no_grad()
    def _probs(self, task: str, texts: list[str]) -> torch.Tensor:
        classifier = self._classifiers.get(task)
        if classifier is None:
            raise JudgeError(
                f"judge=roberta has no {task} classifier: set judge.{task}_weights (with judge.base_model) "
                f"or judge.{task}_model"
            )
        rows = [torch.zeros(0, len(_CLASSES[task]))]
        for start in range(0, len(texts), self.batch_size):
            batch = classifier.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=classifier.max_length,
                return_tensors="pt",
            )
            ids, mask = _at_least_one_token(batch["input_ids"], batch["attention_mask"], classifier.tokenizer)
            logits = classifier.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))
            rows.append(logits.float().softmax(dim=-1)[:, classifier.columns].cpu())
        return torch.cat(rows)


def _with_options(response: str, options: Options) -> str:
    texts = option_map(options)
    return response + "\n\n" + "\n".join(f"{letter}: {texts[letter]}" for letter in OPTION_LETTERS)


def _load(
    task: str,
    base_model: str | None,
    weights: str | None,
    model_dir: str | None,
    labels: Sequence[str] | None,
    max_length: int,
) -> _Classifier:
    classes = _CLASSES[task]
    if weights:
        if not base_model:
            raise JudgeError(f"judge.{task}_weights needs judge.base_model: a local folder with the roberta config")
        config = _config(base_model)
        model = FirstTokenClassifier(config, len(classes))
        where = f"judge.{task}_weights: {weights}"
        state = read_state_dict(weights, f"{task}_weights")
        renamed, origin = classifier_state(state)
        head = renamed.get("head.weight")
        if head is not None and head.dim() == 2 and head.shape[0] != len(classes):
            raise JudgeError(
                f"{where}: the head has {head.shape[0]} outputs but the {task} judge needs {len(classes)} "
                f"({', '.join(classes)})"
            )
        load_checked(model, renamed, origin, where)
        tokenizer = _tokenizer(base_model, "base_model")
        default_labels = classes
    else:
        model, config = _sequence_classifier(model_dir, task, len(classes))
        tokenizer = _tokenizer(base_model or model_dir, "base_model" if base_model else f"{task}_model")
        id2label = [config.id2label[i] for i in range(config.num_labels)] if config.id2label else []
        default_labels = id2label if names_classes(id2label, classes) else classes
    columns = column_order(labels if labels is not None else default_labels, classes, f"{task}_labels")
    return _Classifier(model.eval().requires_grad_(False), tokenizer, columns, _fit_length(config, max_length))


def _folder(path: str, key: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise JudgeError(f"judge.{key}: {folder} is not a folder (expected a local model folder)")
    return folder


def _config(base_model: str):
    from transformers import AutoConfig

    folder = _folder(base_model, "base_model")
    try:
        config = AutoConfig.from_pretrained(folder)
    except Exception as error:
        raise JudgeError(f"judge.base_model: cannot read a model config in {folder}: {error}") from None
    if config.model_type != "roberta":
        raise JudgeError(
            f"judge.base_model: {folder} holds a {config.model_type!r} config; the linear-head judge needs a "
            "roberta one (for another model use judge.<task>_model)"
        )
    return config


def _sequence_classifier(path: str, task: str, n_classes: int):
    from transformers import AutoModelForSequenceClassification

    folder = _folder(path, f"{task}_model")
    try:
        model = AutoModelForSequenceClassification.from_pretrained(folder)
    except Exception as error:
        raise JudgeError(f"judge.{task}_model: cannot load a sequence classifier from {folder}: {error}") from None
    if model.config.num_labels != n_classes:
        raise JudgeError(
            f"judge.{task}_model: {folder} has {model.config.num_labels} labels but the {task} judge needs {n_classes}"
        )
    return SequenceClassifier(model), model.config


def _tokenizer(path: str, key: str):
    from transformers import AutoTokenizer

    folder = _folder(path, key)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except Exception as error:
        raise JudgeError(f"judge.{key}: cannot load a tokenizer from {folder}: {error}") from None
    if tokenizer.pad_token_id is None:
        raise JudgeError(f"judge.{key}: the tokenizer in {folder} has no padding token")
    return tokenizer


def _fit_length(config, max_length: int) -> int:
    """Longest input the position table allows (RoBERTa's positions start after the padding index)."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return max_length
    offset = (config.pad_token_id or 0) + 1 if "roberta" in config.model_type else 0
    return min(max_length, positions - offset)


def _at_least_one_token(ids: torch.Tensor, mask: torch.Tensor, tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Give every row one attended token: a tokenizer without special tokens encodes "" as nothing."""
    if ids.shape[1] == 0:
        ids = torch.full((ids.shape[0], 1), tokenizer.pad_token_id, dtype=ids.dtype)
        mask = torch.zeros_like(ids)
    empty = mask.sum(dim=1) == 0
    if empty.any():
        mask = mask.clone()
        mask[empty, 0] = 1
    return ids, mask
