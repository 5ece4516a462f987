"""The rule judge on a corpus of realistic answers (tests/judges/judge_corpus/*.jsonl).

Each line holds a question, an answer written in the manner of one kind of VLM (``style``:
terse, llava, qwen, gpt4v), the class a careful human reader gives it (``gold``) and its
``split``: "tune" lines were read while the rules were tuned, "held_out" lines (a third of
every style x gold stratum, drawn with a fixed seed) were not. Run with ``-s`` to see the
confusion matrices.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, NA, OPTION_LETTERS, PERCEPTION_CLASSES
from unsafe_vlm.judges.rule import RuleJudge

CORPUS = Path(__file__).parent / "judge_corpus"
STYLES = ("terse", "llava", "qwen", "gpt4v")
SPLITS = ("tune", "held_out")
MIN_AGREEMENT = 0.97


def _load(task: str) -> list[dict]:
    with open(CORPUS / f"{task}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _verdicts(task: str, rows: list[dict]) -> list[str]:
    judge = RuleJudge()
    answers = [r["answer"] for r in rows]
    if task == "alignment":
        return judge.label(judge.judge_alignment(answers))
    return judge.label(judge.judge_perception(answers, [r["options"] for r in rows]))


def _matrix(pairs: Counter, classes: tuple[str, ...], title: str) -> str:
    width = max(len(c) for c in classes) + 2
    lines = [title, "gold \\ judge".ljust(14) + "".join(c.rjust(width) for c in classes)]
    for gold in classes:
        lines.append(gold.ljust(14) + "".join(str(pairs[gold, got]).rjust(width) for got in classes))
    return "\n".join(lines)


CLASSES = {"alignment": ALIGNMENT_CLASSES, "perception": PERCEPTION_CLASSES}


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", ["alignment", "perception"])
def test_rule_judge_agrees_with_the_corpus(task, split):
    rows = [r for r in _load(task) if r["split"] == split]
    verdicts = _verdicts(task, rows)
    pairs = Counter((r["gold"], v) for r, v in zip(rows, verdicts, strict=True))
    agreement = sum(n for (gold, got), n in pairs.items() if gold == got) / len(rows)
    print()
    print(_matrix(pairs, CLASSES[task], f"{task}, {split}: {len(rows)} answers, agreement {agreement:.3f}"))

    confused = [
        (r["answer"], r["gold"], v)
        for r, v in zip(rows, verdicts, strict=True)
        if r["gold"] != v and NA not in (r["gold"], v)
    ]
    assert confused == [], "a verdict swapped for another (Safe/Unsafe, or a wrong letter)"
    assert agreement >= MIN_AGREEMENT


@pytest.mark.parametrize(("task", "minimum"), [("alignment", 400), ("perception", 150)])
def test_corpus_is_complete_and_split_by_stratum(task, minimum):
    rows = _load(task)
    assert len(rows) >= minimum
    for r in rows:
        assert r["gold"] in CLASSES[task] and r["style"] in STYLES and r["split"] in SPLITS
        assert r["question"] and isinstance(r["answer"], str)
        if task == "perception":
            assert sorted(r["options"]) == list(OPTION_LETTERS)
    strata = Counter((r["style"], r["gold"]) for r in rows)
    held = Counter((r["style"], r["gold"]) for r in rows if r["split"] == "held_out")
    for stratum, n in strata.items():
        assert held[stratum] == round(n / 3), stratum
