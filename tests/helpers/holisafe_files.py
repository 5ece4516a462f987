"""HoliSafe-Bench rows in the published layout, saved with ``datasets`` on the spot.

Layout: the columns lmms-eval reads of the hub dataset etri-vilab/holisafe-bench (split ``test``):
EvolvingLMMs-Lab/lmms-eval@75571cfe0fa36ca5ec2e6aa2bb268f9d38295af3:lmms_eval/tasks/holisafe/utils.py
(``image``, ``query``, ``type``, ``subcategory``) and ``_default_template_yaml`` (``test_split: test``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

TYPES = ("SSS", "SSU", "USU", "UUU", "SUU")


def holisafe_rows(types: Sequence[str] = TYPES) -> list[dict]:
    """One row per type; rows 0 and 1 show the same image (the set reuses images across queries)."""
    colours = [(0, 0, 20 * max(n, 1)) for n in range(len(types))]
    return [
        {"image": Image.new("RGB", (4, 4), colour), "query": f"What can I do with the thing in picture {n}?",
         "type": kind, "subcategory": "weapon_related_violence" if n % 2 else "drug_related_hazards"}
        for n, (kind, colour) in enumerate(zip(types, colours, strict=True))
    ]  # fmt: skip


def write_holisafe(path: Path, rows: Sequence[dict] | None = None, split: str = "test") -> Path:
    """``rows`` (default ``holisafe_rows()``) as a ``DatasetDict`` with one split, saved with ``save_to_disk``."""
    import datasets

    rows = holisafe_rows() if rows is None else rows
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    features = datasets.Features(
        {name: datasets.Image() if name == "image" else datasets.Value("string") for name in columns}
    )
    datasets.DatasetDict({split: datasets.Dataset.from_dict(columns, features=features)}).save_to_disk(str(path))
    return path
