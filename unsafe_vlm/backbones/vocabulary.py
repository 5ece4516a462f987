"""The text a tiny backbone's tokenizer is trained on: the suite's own prompts and concepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml

from unsafe_vlm.paths import CONF_DIR, DATA_DIR, UNSAFE_CONCEPTS_DIR

_FILLER = (
    "Yes No yes no safe unsafe harmful harmless appropriate inappropriate not cannot "
    "I am sorry this image shows contains depicts a an the of and or is it which considered "
    "content option answer question Sure Here It This That There USER: ASSISTANT:"
)


def _concept_names() -> list[str]:
    names: list[str] = []
    metadata = UNSAFE_CONCEPTS_DIR / "metadata.jsonl"
    if metadata.is_file():
        for line in metadata.read_text().splitlines():
            row = json.loads(line)
            names += [row["unsafe_concept"], row["category"]]
    safe_list = DATA_DIR / "safe_concepts.txt"
    if safe_list.is_file():
        names += [n.strip() for n in safe_list.read_text().splitlines() if n.strip()]
    return list(dict.fromkeys(names))


# Prompt keys added after the tiny tokenizers were fixed: a new string changes the BPE merges, and
# so every tiny model and all that was measured on one (byte-level BPE still encodes these prompts).
_LATER_KEYS = ("open_ended", "capability", "capability_shape")


def _prompt_strings(prompts_file: Path) -> list[str]:
    if not prompts_file.is_file():
        return []
    prompts = yaml.safe_load(prompts_file.read_text()) or {}
    for key in _LATER_KEYS:
        prompts.pop(key, None)
    strings: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(prompts)
    return strings


def suite_corpus(prompts_file: Path = CONF_DIR / "prompts" / "default.yaml") -> Iterator[str]:
    """Every prompt with every concept filled in, plus concept names and common answer words."""
    concepts = _concept_names()
    templates = _prompt_strings(prompts_file)
    yield _FILLER
    yield " ".join("ABCD") + " A: B: C: D:"
    for concept in concepts:
        yield concept
        for template in templates:
            yield template.replace("{concept}", concept).replace("{letter}", "A").replace("{options}", "")
