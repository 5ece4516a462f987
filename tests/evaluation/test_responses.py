"""The response store: resumable shards, merging, and refusing to mix configs."""

from __future__ import annotations

import pytest

from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.responses import ResponseStore


def _rows(*ids):
    return [{"id": i, "response": f"answer {i}"} for i in ids]


def test_shards_merge_into_one_sorted_file(tmp_path):
    rank0, rank1 = ResponseStore(tmp_path, rank=0), ResponseStore(tmp_path, rank=1)
    rank0.append("perception", _rows("p/2", "p/0"))
    rank1.append("perception", _rows("p/1"))
    assert rank0.answered_ids("perception") == {"p/0", "p/1", "p/2"}
    merged = rank0.merge("perception")
    assert [r["id"] for r in merged] == ["p/0", "p/1", "p/2"]
    assert not list((tmp_path / "responses").glob("perception.rank*"))
    assert [r["id"] for r in ResponseStore(tmp_path).load("perception")] == ["p/0", "p/1", "p/2"]


def test_a_line_cut_short_by_a_kill_is_asked_again(tmp_path):
    store = ResponseStore(tmp_path)
    store.append("alignment_text", _rows("t/0", "t/1"))
    with store.shard_path("alignment_text").open("a") as handle:
        handle.write('{"id": "t/2", "resp')  # the kill came mid-line
    assert store.answered_ids("alignment_text") == {"t/0", "t/1"}


def test_a_broken_line_in_the_middle_names_file_and_line(tmp_path):
    store = ResponseStore(tmp_path)
    store.append("alignment_text", _rows("t/0"))
    with store.shard_path("alignment_text").open("a") as handle:
        handle.write("not json\n")
    store.append("alignment_text", _rows("t/1"))
    with pytest.raises(UserError, match=r"alignment_text.rank0.jsonl:2: not a JSON line"):
        store.load("alignment_text")


def test_resume_with_another_config_is_refused_naming_the_key(tmp_path):
    settings = {"model.name": "tiny", "method.max_new_tokens": 64, "judge.name": "rule"}
    ResponseStore(tmp_path).check_config(settings)
    ResponseStore(tmp_path).check_config(dict(settings))  # same settings: fine
    with pytest.raises(UserError, match=r"method.max_new_tokens was 64, now 32"):
        ResponseStore(tmp_path).check_config({**settings, "method.max_new_tokens": 32})


def test_query_counts_are_written_by_rank_zero_and_read_back(tmp_path):
    ResponseStore(tmp_path, rank=1).write_query_counts({"perception": 3})
    assert ResponseStore(tmp_path).query_counts() is None  # rank 1 writes nothing; an old run has none
    ResponseStore(tmp_path).write_query_counts({"perception": 3, "alignment_text": 0})
    assert ResponseStore(tmp_path, rank=1).query_counts() == {"perception": 3, "alignment_text": 0}
    assert not list((tmp_path / "responses").glob("*.tmp"))


def test_cut_short_names_the_file_and_line_the_load_leaves_out(tmp_path):
    store = ResponseStore(tmp_path)
    store.append("alignment_text", _rows("t/0", "t/1"))
    assert store.cut_short("alignment_text") == []
    with store.shard_path("alignment_text").open("a") as handle:
        handle.write('{"id": "t/2"}')  # a whole object, but its newline never came
    assert store.cut_short("alignment_text") == [f"{store.shard_path('alignment_text')}:3"]
    assert store.answered_ids("alignment_text") == {"t/0", "t/1"}
