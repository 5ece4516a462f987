"""The paper's split rule, and the split sizes it gives on the published metadata."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest
from helpers.benchmark_files import write_placeholder_benchmark
from hypothesis import given, settings
from hypothesis import strategies as st

from unsafe_vlm.data.benchmark import load_benchmark
from unsafe_vlm.data.records import Sample
from unsafe_vlm.data.split import balanced_split, split_safe, split_unsafe

PAPER_TRAIN, PAPER_TEST = 1222, 345  # sum over concepts of int(0.8 * n), and the rest


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> list[Sample]:
    return load_benchmark(write_placeholder_benchmark(tmp_path_factory.mktemp("published")))


def fake_samples(counts: dict[str, int], category: str = "Hate") -> list[Sample]:
    samples = []
    for concept, n in counts.items():
        for _ in range(n):
            index = len(samples)
            samples.append(Sample(index, Path(f"/x/{index}.png"), concept, category, f"m:{index + 1}"))
    return samples


def test_published_split_sizes_follow_the_rule(published):
    counts = Counter(s.concept for s in published)
    expected_train = sum(int(0.8 * n) for n in counts.values())
    split = split_unsafe(published, seed=2024)
    assert (len(split.train), len(split.test)) == (expected_train, 1567 - expected_train) == (PAPER_TRAIN, PAPER_TEST)
    train_counts = Counter(s.concept for s in split.train)
    assert all(train_counts[c] == int(0.8 * n) for c, n in counts.items())


def test_published_balanced_split_with_enough_safe_images(published):
    safe = fake_samples({f"object {i}": 2 for i in range(1000)}, category="Safe")
    unsafe_split, safe_split = balanced_split(published, safe, seed=2024)
    assert (len(unsafe_split.train), len(unsafe_split.test)) == (PAPER_TRAIN, PAPER_TEST)
    assert (len(safe_split.train), len(safe_split.test)) == (PAPER_TRAIN, PAPER_TEST)
    assert not {s.index for s in safe_split.train} & {s.index for s in safe_split.test}


def test_split_is_seeded(published):
    first, again, other = (split_unsafe(published, seed) for seed in (2024, 2024, 7))
    assert first == again
    assert {s.index for s in first.train} != {s.index for s in other.train}
    assert len(other.train) == PAPER_TRAIN


def test_safe_side_shorter_than_unsafe_side_is_kept_whole_with_a_warning(caplog):
    unsafe = fake_samples({"Swastika": 10, "Arson": 10})
    safe = fake_samples({"goldfish": 10}, category="Safe")
    with caplog.at_level(logging.WARNING):
        _, safe_split = balanced_split(unsafe, safe, seed=0)
    assert (len(safe_split.train), len(safe_split.test)) == (8, 2)
    assert "not balanced" in caplog.text


def test_safe_images_are_split_80_20_after_a_shuffle():
    split = split_safe(fake_samples({f"c{i}": 1 for i in range(100)}, category="Safe"), seed=1)
    assert (len(split.train), len(split.test)) == (80, 20)
    assert [s.index for s in split.train] != list(range(80))


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=12), seed=st.integers(0, 99))
def test_every_image_lands_in_exactly_one_part_with_int_80_percent_in_train(counts, seed):
    samples = fake_samples({f"concept {i}": n for i, n in enumerate(counts)})
    split = split_unsafe(samples, seed)
    assert sorted(s.index for s in (*split.train, *split.test)) == list(range(len(samples)))
    train_counts = Counter(s.concept for s in split.train)
    assert [train_counts[f"concept {i}"] for i in range(len(counts))] == [int(n * 0.8) for n in counts]
