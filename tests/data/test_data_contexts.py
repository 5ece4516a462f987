"""The contextual questions: the shipped file, bad files named by entry, the two context tasks' records,
and the modality gap under contexts."""

from __future__ import annotations

import json

import pytest
from helpers.datamodules import shipped_datamodule

from unsafe_vlm.data.contexts import read_contexts
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.records import SAFE, UNSAFE
from unsafe_vlm.data.sources.unsafe_concepts import SafetyDataModule
from unsafe_vlm.data.taxonomy import published_taxonomy
from unsafe_vlm.data.training import training_records
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.scoring import ordered_categories, score_responses
from unsafe_vlm.paths import UNSAFE_CONCEPTS_DIR

SHIPPED = UNSAFE_CONCEPTS_DIR / "contexts.json"


def test_the_shipped_file_gives_every_concept_a_safe_and_an_unsafe_context():
    contexts = read_contexts(SHIPPED, published_taxonomy().concepts)
    assert len(contexts) == 75 and set(contexts) == set(published_taxonomy().concepts)
    for questions in contexts.values():
        assert questions.safe.endswith("?") and questions.unsafe.endswith("?")
        assert "Context:" not in questions.safe + questions.unsafe
    assert contexts["Swastika"].safe.startswith("Is it safe or appropriate to show this image")


def rewritten(tmp_path, change) -> str:
    entries = json.loads(SHIPPED.read_text())
    change(entries)
    path = tmp_path / "contexts.json"
    path.write_text(json.dumps(entries))
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e[2].update(output=e[2]["output"].replace("Unsafe Context:", "Risky:")),
         "entry 3 (The Federal Reserve Conspiracy): output has no 'Unsafe Context:' question"),
        (lambda e: e[0].update(output=e[0]["output"].replace("Safe Context:", "Fine:", 1)),
         "entry 1 (The 9/11 Conspiracy): output has no 'Safe Context:' question"),
        (lambda e: e[4].update({"unsafe concept": "Flat Earth"}),
         "entry 5 (Flat Earth): unknown concept 'Flat Earth'"),
        (lambda e: e.append(dict(e[1])),
         "entry 76 (The Bilderberg Group): concept 'The Bilderberg Group' is listed twice"),
        (lambda e: e[6].pop("output"), "entry 7 ("),
    ],
)  # fmt: skip
def test_a_bad_contexts_file_is_one_line_naming_file_and_entry(tmp_path, change, message):
    path = rewritten(tmp_path, change)
    with pytest.raises(DataError) as raised:
        read_contexts(path, published_taxonomy().concepts)
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)


def test_each_image_and_each_concept_is_asked_both_contexts(data_cache):
    datamodule = shipped_datamodule(
        "synthetic", cache_dir=str(data_cache), tasks=["context_image", "context_text"]
    )
    contexts = datamodule.contexts()
    images = datamodule.records("context_image")
    assert len(images) == 2 * len(datamodule.eval_images())
    first = [r for r in images if r.id.startswith(f"context_image/{images[0].id.split('/')[1]}/")]
    assert [(r.gold, r.question) for r in first] == [
        (SAFE, contexts[first[0].concept].safe), (UNSAFE, contexts[first[0].concept].unsafe)
    ]  # fmt: skip
    texts = datamodule.records("context_text")
    assert len(texts) == 2 * 75 and all(r.image is None for r in texts)
    swastika = [r for r in texts if r.concept == "Swastika"]
    named = datamodule.prompts.concept_text("Swastika")
    safe = contexts["Swastika"].safe
    assert swastika[0].question == f"If an image shows {named}, {safe[0].lower()}{safe[1:]}"
    assert [r.gold for r in swastika] == [SAFE, UNSAFE]


def test_the_gap_under_contexts_is_text_minus_image_balanced_accuracy():
    def rows(task, verdicts):  # (gold, judged) pairs
        return [{"id": f"{task}/{i}", "judged": judged, "gold": gold, "category": "Hate", "concept": "Swastika"}
                for i, (gold, judged) in enumerate(verdicts)]  # fmt: skip

    by_task = {
        "context_image": rows("context_image", [(SAFE, UNSAFE), (UNSAFE, UNSAFE), (SAFE, SAFE), (UNSAFE, "N/A")]),
        "context_text": rows("context_text", [(SAFE, SAFE), (UNSAFE, UNSAFE)]),
    }
    metrics = metrics_json(score_responses(by_task, ordered_categories(by_task)))
    assert metrics["context_image/safe_recall"] == 0.5 and metrics["context_image/unsafe_recall"] == 0.5
    assert metrics["context_text/balanced_accuracy"] == 1.0
    assert metrics["context_modality_gap"] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def organism_data(data_cache) -> SafetyDataModule:
    return shipped_datamodule("synthetic", cache_dir=str(data_cache))


@pytest.mark.parametrize("train_format", ["sft", "dpo", "ppo"])
def test_training_with_contexts_adds_both_questions_for_each_unsafe_train_image(organism_data, train_format):
    unsafe, safe = organism_data.splits()
    common = (train_format, unsafe.train, safe.train, organism_data.prompts, organism_data.seed)
    plain, with_contexts = training_records(*common), training_records(*common, contexts=organism_data.contexts())
    added = with_contexts[len(plain):]
    assert with_contexts[: len(plain)] == plain, "the records without contexts stay as they were"
    assert len(added) == 2 * len([r for r in plain if r.gold == UNSAFE])
    contexts = read_contexts(SHIPPED, published_taxonomy().concepts)
    for safe_side, unsafe_side in zip(added[::2], added[1::2], strict=True):
        assert (safe_side.gold, unsafe_side.gold) == (SAFE, UNSAFE) and safe_side.image == unsafe_side.image
        assert safe_side.question == contexts[safe_side.concept].safe
        assert unsafe_side.question == contexts[unsafe_side.concept].unsafe
        if train_format == "sft":
            assert safe_side.answer.startswith("Yes") and unsafe_side.answer.startswith("No")
        if train_format == "dpo":
            assert safe_side.rejected == unsafe_side.answer
        if train_format == "ppo":
            assert safe_side.answer is None


def test_the_data_module_passes_its_contexts_to_training_when_told(data_cache):
    settings = {"cache_dir": str(data_cache), "train_format": "ppo", "train_contexts": True}
    records = shipped_datamodule("synthetic", **settings).records("ppo")
    assert any(r.id.startswith("ppo/context_safe/") for r in records)
