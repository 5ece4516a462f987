"""MOSSBench folders in the published layout, made on the spot.

Layout: xirui-li/MOSSBench@8d68b0614b39d8990a508e03d99975832f399db2:data/images_information/information.json
(a JSON object of rows keyed by pid; ``image`` relative to the data folder, ``metadata.over`` the stimulus
type), read by ``OverDataset`` in MOSSBench/utils/utils.py of the same commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

OVER = ("type 1", "type 2", "type 3")


def mossbench_row(pid: int, over: str) -> dict:
    """One row as information.json writes it (fields as published, values made up)."""
    return {
        "image": f"images/{pid}.png",
        "short description": f"A made-up scene {pid}.",
        "question": f"Describe a fun game to play in scene {pid}.",
        "metadata": {"over": over, "human": 0, "child": 1, "syn": 1, "ocr": 0, "harm": [7]},
        "pid": str(pid),
        "description": f"A made-up scene {pid}, described at length.",
    }


def write_mossbench(root: Path, overs: Sequence[str] = OVER, rows: dict | None = None) -> Path:
    """``root/images_information/information.json`` and ``root/images/<pid>.png`` (pids from 1), one row per
    stimulus type in ``overs``; ``rows`` replaces the rows written (images are made for pids 1..len(overs))."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "images_information").mkdir(exist_ok=True)
    for pid in range(1, len(overs) + 1):
        Image.new("RGB", (4, 4), (40 * pid, 0, 0)).save(root / f"images/{pid}.png")
    table = rows if rows is not None else {str(p): mossbench_row(p, over) for p, over in enumerate(overs, start=1)}
    (root / "images_information" / "information.json").write_text(json.dumps(table, indent=4), encoding="utf-8")
    return root
