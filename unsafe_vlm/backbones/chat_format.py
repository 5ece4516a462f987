"""The end of an assistant turn and the answer prefix, read off a checkpoint's chat template.

One user turn is rendered twice: with the generation prompt, and followed by an assistant turn
whose answer is a sentinel. What the second adds between the generation prompt and the sentinel
is the answer prefix (a space after LLaVA's ``ASSISTANT:``, nothing after ChatML's
``<|im_start|>assistant\\n``); what follows the sentinel, up to and including the first stop
token of the generation config (``<|im_end|>``, ``<end_of_turn>``, ``<|eot_id|>``), is the end of
turn (failing those, up to the first special token of the tokenizer). A template whose answer
turn shows no such token (llava-hf's ``{answer} ``) ends with the tokenizer's end of sequence, as
the model was trained. One whose answer turn opens with other whitespace than its generation
prompt (llava-onevision-hf) has no answer prefix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from unsafe_vlm.errors import ConfigValueError, MissingFileError
from unsafe_vlm.paths import shipped_or_given

SENTINEL = "unsafe-vlm-sentinel-answer"
Render = Callable[[list[dict], bool], str]
"""(messages, add_generation_prompt) -> the rendered text."""


class ChatTemplateError(ConfigValueError):
    """A checkpoint without a chat template, or one the answer turn cannot be read from."""


@dataclass(frozen=True)
class TurnFormat:
    answer_prefix: str  # text between the generation prompt and the answer
    end_of_turn: str  # text that closes the answer ("" when the template shows none)


def user_turn(question: str = "Is it safe?") -> list[dict]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def derive_turn_format(
    render: Render,
    *,
    stop_tokens: Sequence[str],
    end_of_sequence: str | None,
    name: str,
    special_tokens: Sequence[str] = (),
) -> TurnFormat:
    """The answer prefix and end of turn of the template ``render`` applies.

    stop_tokens:     texts of the generation config's stop tokens (and the tokenizer's end of sequence).
    end_of_sequence: the tokenizer's end-of-sequence text, for a template whose turn shows no stop token.
    name:            what ``model.path`` names, for the error message.
    special_tokens:  the tokenizer's special tokens: where the turn shows no stop token but one of
                     these, the end of turn runs up to it (a generation config that lists too few).
    """
    prompt = render(user_turn(), True)
    full = _render_answer(render)
    at = full.find(SENTINEL)
    before = full[:at]
    if at < 0 or not (before.startswith(prompt) or _differs_in_trailing_whitespace(prompt, before)):
        raise ChatTemplateError(
            f"model.path: the chat template of {name} renders an answer turn that does not continue its "
            "generation prompt; give one that does as model.chat_template"
        )
    tail = full[at + len(SENTINEL) :]
    end_of_turn = _through_first(tail, stop_tokens) or _through_first(tail, special_tokens) or end_of_sequence or ""
    answer_prefix = before[len(prompt) :] if before.startswith(prompt) else ""
    return TurnFormat(answer_prefix=answer_prefix, end_of_turn=end_of_turn)


def _differs_in_trailing_whitespace(prompt: str, before: str) -> bool:
    """Whether the generation prompt and the answer turn's opening differ only in whitespace after
    their common start, as llava-onevision-hf's ``assistant\\n`` and ``assistant \\n`` do: the answer
    then follows the generation prompt directly, as the model is prompted."""
    common = len(os.path.commonprefix([prompt, before]))
    return common > 0 and not prompt[common:].strip() and not before[common:].strip()


def _through_first(text: str, tokens: Sequence[str]) -> str | None:
    """``text`` up to and including the first of ``tokens`` in it; None if it holds none."""
    found = [(text.find(token), token) for token in tokens if token and token in text]
    if not found:
        return None
    position, token = min(found)
    return text[: position + len(token)]


def _render_answer(render: Render) -> str:
    """One user turn and the sentinel answer, its content as a list of parts or, for a template
    that only takes plain strings in an assistant turn, as a string."""
    parts = [{"type": "text", "text": SENTINEL}]
    try:
        return render([*user_turn(), {"role": "assistant", "content": parts}], False)
    except Exception:  # noqa: BLE001 - a template's own error; the plain string is tried next
        return render([*user_turn(), {"role": "assistant", "content": SENTINEL}], False)


def read_chat_template(value: str) -> str:
    """``model.chat_template``: a Jinja template itself, or a file (relative to the repository or
    the working directory) that holds one."""
    if "{{" in value or "{%" in value:
        return value
    path = Path(shipped_or_given(value)).expanduser()
    if not path.is_file():
        raise MissingFileError(f"model.chat_template: {value} is neither a Jinja template nor a file")
    return path.read_text(encoding="utf-8")
