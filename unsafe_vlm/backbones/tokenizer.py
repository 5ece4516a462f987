"""Offline tokenizers for tiny test backbones, trained on the suite's own vocabulary.

Real checkpoints ship their tokenizer; tiny instances built from a config have none and no
hub to fetch one from. A byte-level BPE trained here on the suite's prompts, answers and
concept names encodes any text (bytes are the fallback) and decodes it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import BertTokenizer, PreTrainedTokenizerFast


def train_byte_bpe(
    corpus: Iterable[str],
    *,
    special_tokens: list[str],
    vocab_size: int = 1024,
    pad_token: str,
    eos_token: str,
    bos_token: str | None = None,
    unk_token: str | None = None,
    extra_special_tokens: dict[str, str] | None = None,
    chat_template: str | None = None,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer; special tokens get the lowest ids, in the given order.

    Deterministic: the same corpus and arguments give the same vocabulary.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(sorted(set(corpus)), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=pad_token,
        eos_token=eos_token,
        bos_token=bos_token,
        unk_token=unk_token,
        extra_special_tokens=extra_special_tokens or {},
        additional_special_tokens=[t for t in special_tokens if t not in (pad_token, eos_token, bos_token)],
    )
    if chat_template is not None:
        fast.chat_template = chat_template
    return fast


BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(corpus: Iterable[str], *, vocab_size: int = 512) -> BertTokenizer:
    """Train a lower-cased BERT WordPiece tokenizer (``[CLS] text [SEP]``, ``[PAD]`` id 0), the
    kind BERT-based parts such as BLIP's Q-Former read their text with. Deterministic.

    The ``##`` continuation characters are given to the trainer up front, in code-point order:
    tokenizers' WordPieceTrainer (0.23) otherwise numbers them in hash-map order, new in every
    process, and breaks ties between merges by those numbers, so each training gave other ids
    and even another vocabulary.
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    texts = sorted(set(corpus))
    words = {
        word
        for text in texts
        for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(text))
    }
    continuations = sorted({"##" + char for word in words for char in word[1:]})
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=BERT_SPECIAL_TOKENS + continuations, show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer)
    return BertTokenizer(vocab=tokenizer.get_vocab())
