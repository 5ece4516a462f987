"""The end of turn and the answer prefix read off chat templates as the families publish them."""

from __future__ import annotations

import pytest
from helpers.chat_templates import GEMMA_TEMPLATE, LLAMA3_TEMPLATE, LLAVA_HF_TEMPLATE, THINKING_TEMPLATE
from transformers.utils.chat_template_utils import render_jinja_template

from unsafe_vlm.backbones.chat_format import (
    SENTINEL,
    ChatTemplateError,
    derive_turn_format,
    read_chat_template,
)
from unsafe_vlm.backbones.llava import LLAVA_15_CHAT_TEMPLATE
from unsafe_vlm.backbones.tiny_architectures.idefics3 import IDEFICS3_CHAT_TEMPLATE
from unsafe_vlm.backbones.tiny_architectures.qwen2_vl import QWEN2_VL_CHAT_TEMPLATE
from unsafe_vlm.errors import UserError


def renderer(template: str, **variables: object):
    def render(messages: list[dict], add_generation_prompt: bool) -> str:
        prompts, _ = render_jinja_template(
            conversations=[messages], chat_template=template, add_generation_prompt=add_generation_prompt,
            bos_token="<bos>", **variables,
        )
        return prompts[0]

    return render


@pytest.mark.parametrize(
    ("template", "stop_tokens", "end_of_sequence", "prefix", "end_of_turn"),
    [
        pytest.param(LLAVA_15_CHAT_TEMPLATE, ["</s>"], "</s>", " ", "</s>", id="llava-1.5"),
        pytest.param(LLAVA_HF_TEMPLATE, ["</s>"], "</s>", " ", "</s>", id="llava-hf-no-stop-token-in-the-turn"),
        pytest.param(
            QWEN2_VL_CHAT_TEMPLATE, ["<|im_end|>", "<|endoftext|>"], "<|im_end|>", "", "<|im_end|>", id="chatml"
        ),
        pytest.param(IDEFICS3_CHAT_TEMPLATE, ["<end_of_utterance>"], "<end_of_utterance>", " ", "<end_of_utterance>",
                     id="smolvlm"),
        pytest.param(GEMMA_TEMPLATE, ["<eos>", "<end_of_turn>"], "<eos>", "", "<end_of_turn>", id="gemma"),
        pytest.param(LLAMA3_TEMPLATE, ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"], "<|end_of_text|>", "",
                     "<|eot_id|>", id="llama-3"),
    ],
)
def test_each_published_layout_gives_its_answer_prefix_and_end_of_turn(
    template, stop_tokens, end_of_sequence, prefix, end_of_turn
):
    turn = derive_turn_format(
        renderer(template), stop_tokens=stop_tokens, end_of_sequence=end_of_sequence, name="org/model"
    )
    assert (turn.answer_prefix, turn.end_of_turn) == (prefix, end_of_turn)
    # prompt + prefix + answer (+ end of turn, where the template writes one) is the answer turn
    render = renderer(template)
    answer_turn = [{"role": "assistant", "content": [{"type": "text", "text": SENTINEL}]}]
    written = render(_question() + answer_turn, False)
    expected = render(_question(), True) + prefix + SENTINEL
    assert written.startswith(expected + end_of_turn if end_of_turn in written else expected)


def _question() -> list[dict]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is it safe?"}]}]


def test_thinking_off_closes_the_think_block_in_the_prompt_and_on_opens_it_for_the_answer():
    off = derive_turn_format(
        renderer(THINKING_TEMPLATE, enable_thinking=False), stop_tokens=["<|im_end|>"], end_of_sequence=None, name="m"
    )
    on = derive_turn_format(
        renderer(THINKING_TEMPLATE, enable_thinking=True), stop_tokens=["<|im_end|>"], end_of_sequence=None, name="m"
    )
    assert renderer(THINKING_TEMPLATE, enable_thinking=False)(_question(), True).endswith("<think>\n\n</think>\n\n")
    assert (off.answer_prefix, off.end_of_turn) == ("", "<|im_end|>")
    assert (on.answer_prefix, on.end_of_turn) == ("<think>\n\n</think>\n\n", "<|im_end|>")


def test_an_answer_turn_that_does_not_continue_the_generation_prompt_is_one_line_naming_the_model():
    drifting = (
        "{%- for message in messages -%}[{{ message['role'] }}]{%- endfor -%}"
        "{%- if add_generation_prompt -%}>{%- endif -%}"
    )
    with pytest.raises(ChatTemplateError) as refused:
        derive_turn_format(renderer(drifting), stop_tokens=[], end_of_sequence=None, name="org/model")
    message = str(refused.value)
    assert message.startswith("model.path: ") and "org/model" in message and "model.chat_template" in message
    assert len(message.splitlines()) == 1


def test_an_answer_turn_that_opens_with_other_whitespace_than_the_generation_prompt_has_no_prefix():
    from unsafe_vlm.backbones.tiny_architectures.llava_onevision import CHAT_TEMPLATE

    render = renderer(CHAT_TEMPLATE)
    assert render(_question(), True).endswith("<|im_start|>assistant\n")
    answer_turn = [{"role": "assistant", "content": [{"type": "text", "text": SENTINEL}]}]
    assert f"<|im_start|>assistant \n{SENTINEL}<|im_end|>" in render(_question() + answer_turn, False)
    turn = derive_turn_format(render, stop_tokens=["<|im_end|>"], end_of_sequence="<|im_end|>", name="m")
    assert (turn.answer_prefix, turn.end_of_turn) == ("", "<|im_end|>")


def test_a_turn_without_a_listed_stop_token_ends_at_its_first_special_token_else_at_end_of_sequence():
    closing = (
        "{%- for message in messages -%}{{- message['role'] + ': ' -}}" + _TEXT + "{{- '<|END|>\n' -}}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- 'assistant: ' -}}{%- endif -%}"
    )
    special = derive_turn_format(
        renderer(closing), stop_tokens=["</s>"], end_of_sequence="</s>", name="m", special_tokens=["<|END|>", "<s>"]
    )
    plain = derive_turn_format(renderer(closing), stop_tokens=["</s>"], end_of_sequence="</s>", name="m")
    assert (special.answer_prefix, special.end_of_turn) == ("", "<|END|>")
    assert plain.end_of_turn == "</s>"


_TEXT = "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"


def test_a_template_that_only_takes_string_answers_is_rendered_with_one():
    strings_only = (
        "{%- for message in messages -%}{%- if message['role'] == 'assistant' -%}"
        "{{- 'A: ' + message['content'] + '<eot>' -}}{%- else -%}{{- 'Q: x ' -}}{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- 'A:' -}}{%- endif -%}"
    )
    turn = derive_turn_format(renderer(strings_only), stop_tokens=["<eot>"], end_of_sequence="<eot>", name="m")
    assert (turn.answer_prefix, turn.end_of_turn) == (" ", "<eot>")


def test_a_chat_template_setting_is_a_template_or_a_file_and_a_missing_file_is_one_line(tmp_path):
    assert read_chat_template(GEMMA_TEMPLATE) == GEMMA_TEMPLATE
    (tmp_path / "chat.jinja").write_text(LLAMA3_TEMPLATE, encoding="utf-8")
    assert read_chat_template(str(tmp_path / "chat.jinja")) == LLAMA3_TEMPLATE
    with pytest.raises(UserError, match=r"^model.chat_template: .*missing.jinja is neither a Jinja template"):
        read_chat_template(str(tmp_path / "missing.jinja"))
