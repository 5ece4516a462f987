"""LLaVA-1.5 in the transformers format (llava-hf/llava-1.5-7b-hf and -13b-hf): the paper's main models.

The generic family serves it; the class only adds the LLaVA-1.5 template for checkpoints that
ship none (llava-hf's revisions before chat templates), in the layout LLaVA-1.5 was trained on.
"""

from __future__ import annotations

from typing import ClassVar

from unsafe_vlm.backbones.auto import AutoBackbone

# "USER: <image>\n{question} ASSISTANT: {answer}</s>", as LLaVA-1.5 was trained.
LLAVA_15_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- 'USER: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'image' -%}{{- '<image>\n' -}}{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- ' ASSISTANT: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- '</s>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- ' ASSISTANT:' -}}{%- endif -%}"
)


class LlavaBackbone(AutoBackbone):
    family: ClassVar[str] = "llava"
    default_chat_template: ClassVar[str] = LLAVA_15_CHAT_TEMPLATE
