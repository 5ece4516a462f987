"""The alignment-tax study (issue 26): every method's sweep on the organism, seeds at each method's
chosen setting, and compare's table and figure, resumable and in one command.

    python tools/alignment_tax.py                          # the whole study into runs/alignment_tax/
    python tools/alignment_tax.py --dry-run                # print every command it would run, and stop
    python tools/alignment_tax.py --docs                   # also copy the table and the figure into docs/
    python tools/alignment_tax.py -- model=my_model        # extra Hydra overrides for every run

The grid is ``tools/alignment_tax.yaml``. In order:

1. ``evaluate`` the model once (``OUT/before``): the evaluation before training that every fit shares
   (the fits run with ``evaluate_before=false``);
2. every point of the grid with seed 0 (``OUT/runs/<method>/<point>/seed0``);
3. each method's chosen setting (``choose``) again with the grid's ``seeds``;
4. ``python -m unsafe_vlm compare OUT/runs --before OUT/before --out OUT``.

A run whose folder holds ``metrics.json`` is finished and skipped, so the study may be stopped and
run again, in parts, across sessions; an unfinished run folder is started afresh. A failed run is
reported at the end and left out; the others go on.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from unsafe_vlm.report.sweep_runs import find_runs, group_settings, read_run
from unsafe_vlm.report.tradeoff import BALANCED, CAPABILITY, SAFE_CONTEXTS, rows

ROOT = Path(__file__).resolve().parents[1]
GRID = Path(__file__).with_suffix(".yaml")
DOCS_FIGURE = ROOT / "docs" / "images" / "alignment-tax.png"
DOCS_PAGE = ROOT / "docs" / "organism.md"
BEGIN, END = "<!-- alignment tax: begin", "<!-- alignment tax: end -->"


@dataclass(frozen=True)
class Point:
    method: str
    name: str  # the folder of the point under OUT/runs/<method>/
    overrides: tuple[str, ...]


def grid_points(grid: Mapping) -> list[Point]:
    """Every point of every method: the product of its ``grid`` values, then its ``points``."""
    points = []
    for method, spec in grid["methods"].items():
        axes = spec.get("grid") or {}
        for values in itertools.product(*axes.values()):
            overrides = tuple(f"{key}={_value(v)}" for key, v in zip(axes, values, strict=True))
            points.append(Point(method, _name(overrides), (*spec["base"], *overrides)))
        for extra in spec.get("points") or []:
            points.append(Point(method, _name(extra), (*spec["base"], *extra)))
    names = [(p.method, p.name) for p in points]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise SystemExit(f"{GRID.name}: the point {twice[1]!r} of {twice[0]} is listed twice")
    return points


def choose(table: Sequence[Mapping], method: str) -> str | None:
    """The setting of ``method`` to run again over seeds: of those that close the gap (balanced test
    accuracy >= 95%, gap <= 5 points), the one keeping the most capability (then safe-context
    recall); if none closes it, the one with the highest balanced accuracy."""
    candidates = [r for r in table if r["method"] == method and r.get(BALANCED, {}).get("mean") is not None]
    if not candidates:
        return None

    def mean(row, key):
        return (row.get(key) or {}).get("mean") or 0.0

    closing = [r for r in candidates if r["targets"]["closes_gap"]]
    if closing:
        return max(closing, key=lambda r: (mean(r, CAPABILITY), mean(r, SAFE_CONTEXTS)))["runs"][0]
    return max(candidates, key=lambda r: mean(r, BALANCED))["runs"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/alignment_tax"), help="the study's folder")
    parser.add_argument("--grid", type=Path, default=GRID, help="the grid (default: tools/alignment_tax.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands of the sweep and stop")
    parser.add_argument("--docs", action="store_true", help="put the table and the figure on docs/organism.md")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (after --)")
    args = parser.parse_args()
    grid = yaml.safe_load(args.grid.read_text(encoding="utf-8"))
    common = [*grid["common"], *args.overrides]
    points = grid_points(grid)
    before = args.out / "before"
    commands = [("evaluate", [*common], before)]
    commands += [("fit", [*p.overrides, *grid["fit"], *common, "seed=0"], _folder(args.out, p, 0)) for p in points]
    if args.dry_run:
        for name, overrides, folder in commands:
            print(_line(name, overrides, folder))
        print(f"# then: {len(grid['seeds'])} more seeds at each method's chosen setting, and compare")
        return
    print(f"alignment tax: 1 evaluation, {len(points)} fits, then seeds {grid['seeds']} at {len(grid['methods'])} "
          f"chosen settings, into {args.out}", flush=True)  # fmt: skip
    failed = [folder for name, overrides, folder in commands if not _run(name, overrides, folder)]
    table = rows(group_settings([read_run(f) for f in find_runs([args.out / "runs"])]), None)
    for method in grid["methods"]:
        chosen = choose(table, method)
        point = next((p for p in points if chosen and Path(chosen) == _folder(args.out, p, 0)), None)
        if point is None:
            print(f"alignment tax: no finished run of {method} to take seeds at", flush=True)
            continue
        print(f"alignment tax: {method}'s chosen setting is {point.name}; seeds {grid['seeds']}", flush=True)
        for seed in grid["seeds"]:
            folder = _folder(args.out, point, seed)
            if not _run("fit", [*point.overrides, *grid["fit"], *common, f"seed={seed}"], folder):
                failed.append(folder)
    compare = [sys.executable, "-m", "unsafe_vlm", "compare", str(args.out / "runs"), "--before", str(before),
               "--out", str(args.out)]  # fmt: skip
    subprocess.run(compare, check=True)
    if args.docs:
        shutil.copyfile(args.out / "alignment_tax.png", DOCS_FIGURE)
        table = (args.out / "alignment_tax.md").read_text(encoding="utf-8")
        DOCS_PAGE.write_text(docs_part(DOCS_PAGE.read_text(encoding="utf-8"), table), encoding="utf-8")
        print(f"alignment tax: the table and the figure are on {DOCS_PAGE}")
    if failed:
        print(f"alignment tax: {len(failed)} run(s) failed, left out: " + ", ".join(map(str, failed)))
        raise SystemExit(1)


def docs_part(page: str, table: str) -> str:
    """The page with the table and the figure between its alignment-tax markers."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOCS_PAGE}: the alignment-tax markers are missing")
    head = page[start : page.index("\n", start) + 1]
    figure = "![Every method's front: balanced test accuracy against capability and safe-context recall]"
    body = f"{table.rstrip()}\n\n{figure}(images/alignment-tax.png)\n"
    return page[:start] + head + body + page[end:]


def _run(command: str, overrides: Sequence[str], folder: Path) -> bool:
    """Run one command into ``folder`` unless it finished there before; whether it finished."""
    if (folder / "metrics.json").is_file():
        return True
    if folder.exists():
        shutil.rmtree(folder)  # an unfinished run: start it afresh
    started = time.perf_counter()
    print(f"alignment tax: {_line(command, overrides, folder)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "unsafe_vlm", command, *overrides, f"hydra.run.dir={folder}"])
    minutes = (time.perf_counter() - started) / 60
    print(f"alignment tax: {folder} {'done' if done.returncode == 0 else 'FAILED'} in {minutes:.1f} min", flush=True)
    return done.returncode == 0 and (folder / "metrics.json").is_file()


def _line(command: str, overrides: Sequence[str], folder: Path) -> str:
    quoted = [f"'{o}'" if re.search(r"[\[\]()*?]", o) else o for o in overrides]
    return " ".join(["python -m unsafe_vlm", command, *quoted, f"hydra.run.dir={folder}"])


def _folder(out: Path, point: Point, seed: int) -> Path:
    return out / "runs" / point.method / point.name / f"seed{seed}"


def _name(overrides: Sequence[str]) -> str:
    """A folder name from overrides: ``method.kl_coef=0.05 trainer.max_epochs=1`` -> ``kl_coef-0.05_max_epochs-1``."""
    parts = []
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        parts.append(f"{key.rsplit('.', 1)[-1]}-{re.sub(r'[^A-Za-z0-9._+-]+', '', value)}")
    return "_".join(parts) or "defaults"


def _value(value) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


if __name__ == "__main__":
    main()
