"""Responses on disk, written as a run goes, so a killed evaluation resumes where it stopped.

Layout under ``<run_dir>/responses/``:
    config.json             the settings the responses depend on; a resume must match them
    <task>.rank<k>.jsonl    one shard per DDP rank, appended query by query
    <task>.jsonl            all shards merged once the task is complete (sorted by id)

A line cut short by a kill (no newline at the end of a shard) is dropped and its query asked
again; any other line that is not JSON is an error naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from unsafe_vlm.errors import UserError


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
            saved = json.loads(path.read_text())
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
            _write_atomically(path, json.dumps(settings, indent=2, sort_keys=True) + "\n")

    # ----- reading and writing --------------------------------------------------------------

    def shard_path(self, task: str, rank: int | None = None) -> Path:
        return self.folder / f"{task}.rank{self.rank if rank is None else rank}.jsonl"

    def merged_path(self, task: str) -> Path:
        return self.folder / f"{task}.jsonl"

    def load(self, task: str) -> list[dict[str, Any]]:
        """Every saved response of a task, merged file and shards alike, one per id."""
        rows: dict[str, dict[str, Any]] = {}
        for path in [self.merged_path(task), *sorted(self.folder.glob(f"{task}.rank*.jsonl"))]:
            for row in _read_jsonl(path):
                rows[row["id"]] = row
        return [rows[key] for key in sorted(rows)]

    def answered_ids(self, task: str) -> set[str]:
        return {row["id"] for row in self.load(task)}

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
        _write_atomically(self.merged_path(task), text)
        for shard in self.folder.glob(f"{task}.rank*.jsonl"):
            shard.unlink()
        return rows


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete = lines[:-1]  # the last element is "" when the file ends with a newline
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
        rows.append(row)
    return rows


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
