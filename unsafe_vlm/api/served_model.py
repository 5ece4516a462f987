"""The model an endpoint says it served, pinned for a run: a server that starts answering as another
model under the same name (a new snapshot behind an alias, another model loaded) stops the run
instead of mixing two models' answers in one result.

The pin is a small JSON file in the folder of the answers it guards (``responses/served_model.json``
for the model, ``served_judge.json`` for an LLM judge); the first answer that names its model writes
it, and every later answer, in this process or a resumed one, must name the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from unsafe_vlm.data.files import write_atomically
from unsafe_vlm.errors import UserError


class ServedModelPin:
    def __init__(self, path: Path, requested: str, key: str) -> None:
        self.path = Path(path)
        self.requested = requested  # the name the requests ask for (``model.model``)
        self.key = key  # where that name is set: ``model.model``, ``judge.api.model``
        self.served: str | None = _read(self.path)

    def check(self, served: object) -> str | None:
        """What is wrong with an answer from ``served`` (a completion's ``model``); None when it is the
        pinned model, or the first one seen."""
        if not isinstance(served, str) or not served:
            return None  # a server that names no model cannot be told apart
        if self.served is None:
            self.served = served
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps({"requested": self.requested, "served": served}) + "\n")
            return None
        if served == self.served:
            return None
        return (
            f"{self.key}={self.requested!r}: the endpoint now answers as {served!r}, but this run's earlier "
            f"answers came from {self.served!r} ({self.path}); it serves another model under the same name, "
            "so its answers are not mixed with them: use another hydra.run.dir"
        )


def _read(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        served = json.loads(path.read_text())["served"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path}: not a served-model record (JSON with 'served'); it may be damaged") from None
    return served if isinstance(served, str) else None
