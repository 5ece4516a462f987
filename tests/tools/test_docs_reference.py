"""tools/docs_reference.py: the configuration reference read from conf/ and its comments, and the
commands page's --help block, both kept up to date."""

from __future__ import annotations

import docs_reference
from docs_reference import Row, parse


def test_the_committed_reference_pages_match_conf_and_the_help():
    stale = [
        str(path.relative_to(docs_reference.ROOT))
        for path, text in docs_reference.pages().items()
        if path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"out of date: {stale}; run python tools/docs_reference.py"


def test_a_key_takes_its_end_of_line_comment_and_the_aligned_lines_under_it():
    lines = [
        "# What the file is for.",
        "lr: 3.0e-5        # the learning rate,",
        "                  # cosine schedule",
        "# about the next key",
        "beta: 0.1",
    ]
    _, keys = parse(lines)
    assert keys == [Row("lr", "3.0e-5", "the learning rate, cosine schedule"), Row("beta", "0.1", "about the next key")]


def test_nested_keys_are_dotted_and_a_hash_inside_quotes_is_part_of_the_value():
    lines = ["lora:", "  r: 8   # rank", '  tag: "a # b"', "next: 1"]
    _, keys = parse(lines)
    assert keys == [
        Row("lora", "", ""), Row("lora.r", "8", "rank"), Row("lora.tag", '"a # b"', ""), Row("next", "1", "")
    ]


def test_the_defaults_list_gives_each_group_its_default_choice_and_lists_and_texts_are_named():
    lines = [
        "defaults:",
        "  - model: organism  # the shipped one",
        "  - method: null",
        "  - _self_",
        "questions:",
        '  - "Is it safe?"',
        "prompt: |-",
        "  Reply with one word.",
        "  # not a comment: part of the text",
        "after: 2",
    ]
    defaults, keys = parse(lines)
    assert defaults == [Row("model", "organism", "the shipped one"), Row("method", "null", ""), Row("_self_", "", "")]
    assert keys == [Row("questions", "(list)", ""), Row("prompt", "(text)", ""), Row("after", "2", "")]


def test_a_placeholder_or_a_bar_in_a_comment_stays_text_in_the_table():
    assert docs_reference._text("conf/tuning/<model>_<method>.yaml: sft|dpo") == (
        "conf/tuning/&lt;model&gt;_&lt;method&gt;.yaml: sft\\|dpo"
    )


def test_every_config_file_has_a_section_of_the_page():
    page = docs_reference.render()
    for path in docs_reference.CONF.rglob("*.yaml"):
        assert f"### `{path.relative_to(docs_reference.CONF).with_suffix('').as_posix()}`" in page
