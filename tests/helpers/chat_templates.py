"""Chat templates in the layouts the families publish, written small for tests of what is read off them."""

from __future__ import annotations


def _parts(image: str) -> str:
    """Jinja that writes a message's content: a string as it is, a list part by part."""
    return (
        "{%- if message['content'] is string -%}{{- message['content'] | trim -}}"
        "{%- else -%}{%- for part in message['content'] -%}"
        f"{{%- if part['type'] == 'image' -%}}{{{{- '{image}' -}}}}"
        "{%- elif part['type'] == 'text' -%}{{- part['text'] | trim -}}{%- endif -%}"
        "{%- endfor -%}{%- endif -%}"
    )


# llava-hf/llava-1.5-7b-hf's chat_template.json: the answer turn ends in a space, not in </s>.
LLAVA_HF_TEMPLATE = (
    "{%- for message in messages -%}{{- message['role'].upper() + ': ' -}}"
    "{%- for part in message['content'] if part['type'] == 'image' -%}{{- '<image>\n' -}}{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] + ' ' -}}{%- endfor -%}"
    "{%- endfor -%}{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)
# Gemma 3: "<start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n{answer}<end_of_turn>\n".
GEMMA_TEMPLATE = (
    "{{- bos_token -}}{%- for message in messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{- '<start_of_turn>' + role + '\n' -}}" + _parts("<start_of_image>") + "{{- '<end_of_turn>\n' -}}"
    "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}"
)
# Llama 3.2 Vision: "<|start_header_id|>assistant<|end_header_id|>\n\n{answer}<|eot_id|>".
LLAMA3_TEMPLATE = (
    "{{- bos_token -}}{%- for message in messages -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' -}}" + _parts("<|image|>") +
    "{{- '<|eot_id|>' -}}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}"
)
# Qwen3-style thinking: an answer turn carries an (empty) think block; the generation prompt opens
# one for the model to fill, or, with enable_thinking false, gives it already closed.
THINKING_TEMPLATE = (
    "{%- for message in messages -%}{{- '<|im_start|>' + message['role'] + '\n' -}}"
    "{%- if message['role'] == 'assistant' -%}{{- '<think>\n\n</think>\n\n' -}}{%- endif -%}"
    + _parts("<|vision_start|><|image_pad|><|vision_end|>") + "{{- '<|im_end|>\n' -}}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}{%- endif -%}"
    "{%- endif -%}"
)
