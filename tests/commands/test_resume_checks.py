"""A resumed evaluation reuses a saved answer only if it was made under the same conditions:
every saved row is checked against the query the data gives now, a sampled run's seed is in
the fingerprint, and a damaged config.json names itself."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli

from unsafe_vlm.data.records import UNSAFE, Record
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.responses import ResponseStore


def record(n: int, **changes) -> Record:
    values = dict(id=f"alignment_image/{n}/q0", task="alignment_image", question="Is it safe?", image=f"/d/{n}.png",
                  concept="Swastika", category="Hate", gold=UNSAFE)  # fmt: skip
    return Record(**{**values, **changes})


def saved_row(r: Record) -> dict:
    return {"id": r.id, "task": r.task, "concept": r.concept, "category": r.category, "question": r.question,
            "image": r.image, "options": None, "response": "No.", "judged": "Unsafe", "gold": r.gold}  # fmt: skip


def store_with(tmp_path, records: list[Record]) -> ResponseStore:
    store = ResponseStore(tmp_path)
    store.append("alignment_image", [saved_row(r) for r in records])
    return store


def test_rows_of_the_current_queries_are_reused(tmp_path):
    store = store_with(tmp_path, [record(0), record(1)])
    assert store.reusable_ids("alignment_image", [record(0), record(1), record(2)]) == {record(0).id, record(1).id}


@pytest.mark.parametrize(
    ("field", "value"),
    [("question", "Is it harmful?"), ("image", "/d/other.png"), ("gold", "Safe"), ("concept", "Gun"),
     ("category", "Violence"), ("options", ("a", "b", "c", "d"))],
)  # fmt: skip
def test_a_row_made_for_another_query_is_refused_naming_file_line_and_field(tmp_path, field, value):
    store = store_with(tmp_path, [record(0), record(1)])
    with pytest.raises(UserError) as error:
        store.reusable_ids("alignment_image", [record(0), record(1, **{field: value})])
    shard = tmp_path / "responses" / "alignment_image.rank0.jsonl"
    assert str(error.value).startswith(f"{shard}:2: 'alignment_image/1/q0' was asked with {field} ")
    assert "use another hydra.run.dir" in str(error.value)


def test_a_row_of_a_query_this_run_does_not_ask_is_refused_not_counted(tmp_path):
    store = store_with(tmp_path, [record(0), record(8)])
    with pytest.raises(UserError, match=r"rank0.jsonl:2: an answer to 'alignment_image/8/q0', which is not among"):
        store.reusable_ids("alignment_image", [record(0), record(1)])


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff\xfe"])
def test_a_damaged_config_json_names_the_file(tmp_path, text):
    (tmp_path / "responses").mkdir()
    path = tmp_path / "responses" / "config.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError, match=f"^{path}: "):
        ResponseStore(tmp_path).check_config({"model.name": "tiny"})


def errors(result) -> list[str]:
    """The CLI's error lines (Lightning's own notes about devices may come before them)."""
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def evaluate(run, cache, *extra):
    return run_cli(
        "evaluate", "model=tiny", f"data.cache_dir={cache}", "data.tasks=[alignment_text]", "data.limit_per_task=4",
        "generation.max_new_tokens=4", f"hydra.run.dir={run}", *extra,
    )  # fmt: skip


@pytest.mark.slow
def test_a_sampled_run_resumed_with_another_seed_is_refused_a_greedy_one_is_not(tmp_path, data_cache):
    sampled = ["generation.do_sample=true", "generation.temperature=1.0"]
    assert evaluate(tmp_path / "s", data_cache, *sampled, "seed=0").returncode == 0
    refused = evaluate(tmp_path / "s", data_cache, *sampled, "seed=1")
    assert refused.returncode == 2
    lines = errors(refused)
    assert len(lines) == 1 and "seed was 0, now 1" in lines[0], lines
    assert evaluate(tmp_path / "g", data_cache, "seed=0").returncode == 0
    assert evaluate(tmp_path / "g", data_cache, "seed=1").returncode == 0  # greedy answers do not depend on it


@pytest.mark.slow
def test_an_evaluation_whose_saved_question_no_longer_matches_is_refused(tmp_path, data_cache):
    run = tmp_path / "run"
    assert evaluate(run, data_cache).returncode == 0
    saved = run / "responses" / "alignment_text.jsonl"
    rows = [json.loads(line) for line in saved.read_text().splitlines()]
    rows[2]["question"] = "A question the data no longer asks?"
    saved.write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = (run / "metrics.json").read_bytes()
    result = evaluate(run, data_cache)
    assert result.returncode == 2
    lines = errors(result)
    assert len(lines) == 1 and lines[0].startswith(f"error: {saved}:3: ") and "was asked with question" in lines[0]
    assert (run / "metrics.json").read_bytes() == before
