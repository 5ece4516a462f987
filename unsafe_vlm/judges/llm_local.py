"""A local causal language model as a judge: the probability it gives each class label after the prompt."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from unsafe_vlm.judges.errors import JudgeError


class LocalLabelScorer:
    """Scores every label as the continuation of every prompt (the label's whole token sequence, so
    labels may share a first token) and normalises over the labels: (N, K) class probabilities."""

    def __init__(self, path: str, *, trust_remote_code: bool, batch_size: int, max_length: int, device: str) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.folder = _checked_folder(path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.folder, trust_remote_code=trust_remote_code)
            self.model = AutoModelForCausalLM.from_pretrained(
                self.folder, use_safetensors=True, trust_remote_code=trust_remote_code
            )
        except (OSError, ValueError) as error:
            raise JudgeError(f"judge.model: cannot load a causal language model from {self.folder}: {error}") from None
        self.model.eval().requires_grad_(False).to(device)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.max_length = max_length

    def weight_files(self) -> list[Path]:
        return sorted(self.folder.glob("*.safetensors"))

    def probabilities(self, prompts: Sequence[str], labels: Sequence[str]) -> torch.Tensor:
        return self.label_logprobs(prompts, labels).softmax(dim=-1)

    def label_ids(self, labels: Sequence[str]) -> list[list[int]]:
        return [self.tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels]

    @torch.no_grad()
    def label_logprobs(self, prompts: Sequence[str], labels: Sequence[str]) -> torch.Tensor:
        """(N, K) summed log-probability of each label's tokens after each prompt."""
        label_ids = self.label_ids(labels)
        rows = []  # (prompt ids, label ids) for every prompt and label, prompt-major
        for prompt in prompts:
            prompt_ids = self.tokenizer(prompt)["input_ids"]
            keep = self.max_length - max(len(ids) for ids in label_ids)
            prompt_ids = prompt_ids[-keep:] if keep > 0 else prompt_ids[-1:]  # the end of the prompt asks
            rows += [(prompt_ids, ids) for ids in label_ids]
        scores = torch.cat(
            [self._label_logprobs(rows[s : s + self.batch_size]) for s in range(0, len(rows), self.batch_size)]
        )
        return scores.view(len(prompts), len(labels))

    def _label_logprobs(self, rows: list[tuple[list[int], list[int]]]) -> torch.Tensor:
        """Summed log-probability of each row's label tokens after its prompt (right padding)."""
        width = max(len(prompt) + len(label) for prompt, label in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        targets = torch.zeros((len(rows), width), dtype=torch.bool)
        for row, (prompt, label) in enumerate(rows):
            ids[row, : len(prompt) + len(label)] = torch.tensor(prompt + label)
            mask[row, : len(prompt) + len(label)] = 1
            targets[row, len(prompt) : len(prompt) + len(label)] = True
        logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float().cpu()
        logprobs = logits[:, :-1].log_softmax(dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        return (logprobs * targets[:, 1:]).sum(dim=1)


def _checked_folder(path: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise JudgeError(f"judge.model: {folder} is not a folder (expected a local causal language model)")
    names = sorted(p.name for p in folder.iterdir())
    if not any(name.endswith(".safetensors") for name in names):
        raise JudgeError(
            f"judge.model: no *.safetensors weights in {folder} (it holds {', '.join(names) or 'nothing'}); "
            "the suite loads safetensors only"
        )
    return folder
