"""The shipped taxonomy (75 unsafe concepts, 9 categories) and the safe concept list."""

from __future__ import annotations

import pytest
from helpers.benchmark_files import error_at

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.taxonomy import published_taxonomy, read_concept_list, safe_concepts, taxonomy_from_metadata
from unsafe_vlm.paths import UNSAFE_CONCEPTS_DIR

PAPER_CATEGORIES = (
    "Hate",
    "Harassment",
    "Violence",
    "Self-harm",
    "Sexual",
    "Shocking",
    "Illegal activity",
    "Deception",
    "Public and personal health",
)


def test_published_taxonomy_has_75_concepts_in_the_9_categories_in_first_appearance_order():
    taxonomy = published_taxonomy()
    assert taxonomy.categories == PAPER_CATEGORIES
    assert len(taxonomy.concepts) == 75
    assert taxonomy.concepts[:3] == ("Swastika", "Confederate Flag", "SS-Runes")
    assert taxonomy.concepts[-1] == "Smoking cessation"
    assert sum(len(taxonomy.concepts_in(c)) for c in PAPER_CATEGORIES) == 75


def test_concept_names_keep_their_published_casing():
    taxonomy = published_taxonomy()
    assert "sexual harassment" in taxonomy.concepts
    assert "demonic figure" in taxonomy.concepts
    assert taxonomy.category_of["self-cutting"] == "Self-harm"
    assert taxonomy.category_of["The Flat Earth Theory"] == "Deception"


def test_a_concept_in_two_categories_is_an_error(tmp_path):
    metadata = tmp_path / "metadata.jsonl"
    metadata.write_text(
        '{"category": "Hate", "unsafe_concept": "Swastika"}\n{"category": "Violence", "unsafe_concept": "Swastika"}\n'
    )
    with pytest.raises(DataError, match=error_at(metadata, 2) + r"concept 'Swastika' is in category 'Violence'"):
        taxonomy_from_metadata(metadata)


def test_safe_concepts_are_at_least_100_distinct_ordinary_names_none_unsafe():
    names = safe_concepts()
    assert len(names) >= 100
    assert len({n.casefold() for n in names}) == len(names)
    unsafe = {c.casefold() for c in published_taxonomy().concepts}
    assert not unsafe & {n.casefold() for n in names}
    assert all(n == n.strip() and n for n in names)


def test_concept_list_rejects_repeats(tmp_path):
    path = tmp_path / "concepts.txt"
    path.write_text("# comment\ngoldfish\nbanana\nGoldfish\n")
    with pytest.raises(DataError, match=error_at(path, 4) + r"concept 'Goldfish' repeats line 2"):
        read_concept_list(path)


def test_source_note_credits_the_release():
    note = (UNSAFE_CONCEPTS_DIR / "SOURCE.md").read_text()
    assert "TrustAIRLab/SaferVLM" in note and "MIT" in note and "not included" in note
