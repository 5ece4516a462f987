"""The two classifier shapes a RoBERTa judge can have; both map token ids to (B, K) logits."""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel, RobertaConfig, RobertaModel


class FirstTokenClassifier(nn.Module):
    """The paper's judge: a ``RobertaModel`` and one ``Linear(hidden, K)`` on the first token's last hidden state."""

    def __init__(self, config: RobertaConfig, n_classes: int):
        super().__init__()
        self.encoder = RobertaModel(config, add_pooling_layer=False)
        self.head = nn.Linear(config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden[:, 0])


class SequenceClassifier(nn.Module):
    """Any ``AutoModelForSequenceClassification``, with its own head."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
