"""Responses on disk, written as a run goes, so a killed evaluation resumes where it stopped.

Layout under ``<run_dir>/responses/``:
    config.json             the settings the responses depend on; a resume must match them
    tasks.json              how many queries each task asks, written at the start: a reader can tell
                            a finished run from an interrupted one (runs made before it have none)
    <task>.rank<k>.jsonl    one shard per DDP rank, appended query by query
    <task>.jsonl            all shards merged once the task is complete (sorted by id)

A line cut short by a kill (no newline at the end of a shard) is dropped and its query asked
again (``cut_short`` names it, for readers that must not drop it); any other line that is not
JSON is an error naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from unsafe_vlm.data.files import write_atomically
from unsafe_vlm.data.records import Record
from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.error_rows import is_error_row

SAVED_FIELDS = ("question", "image", "options", "gold", "concept", "category", "caption")
"""What a response line keeps of its query; a resume reuses it only if the data still gives the same."""
QUERY_COUNTS_FILE = "tasks.json"


class ResponseStore:
    def __init__(self, run_dir: str | Path, *, rank: int = 0, name: str = "responses") -> None:
        self.folder = Path(run_dir) / name
        self.rank = rank

    # ----- the config the responses were made with ------------------------------------------

    def check_config(self, settings: dict[str, Any]) -> None:
        """Record the settings on the first run; on a resume refuse to mix different ones."""
        path = self.folder / "config.json"
        settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        if path.is_file():
            saved = _read_config(path)
            differing = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
            if differing:
                key = differing[0]
                raise UserError(
                    f"{self.folder} holds responses made with a different config: {key} was "
                    f"{saved.get(key)!r}, now {settings.get(key)!r} ({len(differing)} key(s) differ: "
                    f"{', '.join(differing)}); use another hydra.run.dir or the same settings"
                )
            return
        if self.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, json.dumps(settings, indent=2, sort_keys=True) + "\n")

    # ----- how many queries each task asks ------------------------------------------------------

    def write_query_counts(self, counts: Mapping[str, int]) -> None:
        """Record how many queries each task asks (rank 0, before any answer is written)."""
        if self.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(dict(counts), indent=2, sort_keys=True) + "\n"
            write_atomically(self.folder / QUERY_COUNTS_FILE, text)

    def query_counts(self) -> dict[str, int] | None:
        """Task -> number of queries, as the evaluation recorded it; None for a run made before it did."""
        path = self.folder / QUERY_COUNTS_FILE
        if not path.is_file():
            return None
        try:
            counts = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(counts, dict) or not all(_is_count(n) for n in counts.values()):
            raise UserError(f"{path}: expected one JSON object of task name -> number of queries")
        return counts

    # ----- reading and writing --------------------------------------------------------------

    def shard_path(self, task: str, rank: int | None = None) -> Path:
        return self.folder / f"{task}.rank{self.rank if rank is None else rank}.jsonl"

    def merged_path(self, task: str) -> Path:
        return self.folder / f"{task}.jsonl"

    def load(self, task: str) -> list[dict[str, Any]]:
        """Every saved response of a task, merged file and shards alike, one per id."""
        return [row for _, row in self.load_located(task)]

    def load_located(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        """``("<file>:<line>", row)`` for every saved response of a task, one per id, sorted by id."""
        rows: dict[str, tuple[str, dict[str, Any]]] = {}
        for path in self._files(task):
            for number, row in _read_jsonl(path):
                rows[row["id"]] = (f"{path}:{number}", row)
        return [rows[key] for key in sorted(rows)]

    def cut_short(self, task: str) -> list[str]:
        """``"<file>:<line>"`` of each file of a task whose last line has no newline at its end (a
        kill came while it was written); ``load`` leaves such a line out."""
        found = []
        for path in self._files(task):
            complete, tail = _split_lines(path)
            if tail.strip():
                found.append(f"{path}:{len(complete) + 1}")
        return found

    def _files(self, task: str) -> list[Path]:
        """The task's merged file and shards, those that exist, merged first."""
        merged = [self.merged_path(task)] if self.merged_path(task).is_file() else []
        return merged + sorted(self.folder.glob(f"{task}.rank*.jsonl"))

    def answered_ids(self, task: str) -> set[str]:
        return {row["id"] for row in self.load(task)}

    def reusable_ids(self, task: str, records: Sequence[Record]) -> set[str]:
        """The ids of ``records`` this store already answered, each saved row checked against its
        record: an answer to another question, image or gold, or to a query this run does not
        ask, is refused (one line naming the file and line), never reused. A row whose answer is an
        error (a model behind an API gave no valid answer) is not an answer: it is asked again. One
        whose verdict is an error keeps its answer, which ``errored_verdicts`` hands to the judge again."""
        current = {record.id: record for record in records}
        for where, row in self.load_located(task):
            record = current.get(row["id"])
            if record is None:
                raise UserError(
                    f"{where}: an answer to {row['id']!r}, which is not among this run's {len(current)} {task} "
                    "queries (the data changed since it was saved); use another hydra.run.dir"
                )
            for field in SAVED_FIELDS:
                saved, now = row.get(field), _saved_form(getattr(record, field))
                if saved != now:
                    raise UserError(
                        f"{where}: {row['id']!r} was asked with {field} {saved!r}, the data now gives {now!r} "
                        "(the data changed since it was saved); use another hydra.run.dir"
                    )
        return {row["id"] for _, row in self.load_located(task) if "error" not in row}

    def errored_verdicts(self, task: str) -> list[dict[str, Any]]:
        """The saved rows with an answer whose verdict is an error (the judge's request failed)."""
        return [row for row in self.load(task) if is_error_row(row) and "error" not in row]

    def append(self, task: str, rows: Iterable[dict[str, Any]]) -> None:
        """Append to this rank's shard and flush, so a kill loses at most the line being written."""
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if not lines:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.shard_path(task).open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def merge(self, task: str) -> list[dict[str, Any]]:
        """Fold all shards into ``<task>.jsonl`` (rank 0, once every rank is done)."""
        rows = self.load(task)
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        write_atomically(self.merged_path(task), text)
        for shard in self.folder.glob(f"{task}.rank*.jsonl"):
            shard.unlink()
        return rows


def _saved_form(value: Any) -> Any:
    """A record's field as its response line holds it (JSON has lists, not tuples)."""
    return list(value) if isinstance(value, tuple) else value


def _read_config(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error}); restore it or use another hydra.run.dir") from None
    if not isinstance(saved, dict):
        raise UserError(f"{path}: expected one JSON object of settings; restore it or use another hydra.run.dir")
    return saved


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _split_lines(path: Path) -> tuple[list[str], str]:
    """The file's complete lines, and what follows the last newline ("" when it ends with one)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1], lines[-1]


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    complete, _ = _split_lines(path)  # a last line without its newline was cut short: left out
    rows = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{number}: not a JSON line ({error.msg})") from None
        if not isinstance(row, dict) or "id" not in row:
            raise UserError(f"{path}:{number}: a response line needs an 'id' field")
        rows.append((number, row))
    return rows
