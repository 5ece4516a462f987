"""The paper's comparison in miniature: SFT, DPO, PPO, GRPO and RLOO from the same model on the same defaults.

Runs ``python -m unsafe_vlm fit +method=<m>`` for each method with the default config (the
organism on the synthetic stand-in), holding some concepts out of alignment training, and
writes one markdown table: before / SFT / DPO / PPO / GRPO / RLOO, with the held-out concepts
scored apart and the shape questions added to the evaluations. RLOO is GRPO's module
with the leave-one-out baseline and no std division.

    python tools/compare_methods.py                       # writes runs/compare/comparison.md
    python tools/compare_methods.py --methods grpo rloo   # only some of them
    python tools/compare_methods.py --out DIR -- trainer=ddp   # extra Hydra overrides after --

Every method runs with its own config as shipped; nothing here tunes any of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

from omegaconf import OmegaConf

from organism.measure import Run, run_suite
from unsafe_vlm.data.taxonomy import published_taxonomy, safe_concepts
from unsafe_vlm.methods.registry import TRAINING_METHODS, VARIANTS
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.report.scores import Score, format_score

# a column of the table -> how fit is told to train it
METHODS = {name: [f"+method={name}"] for name in TRAINING_METHODS}
METHODS |= {name: [f"+method={method}", *overrides] for name, (method, overrides) in VARIANTS.items()}
ROWS = (  # (metrics.json key, label, a difference in points)
    ("alignment_test/balanced_accuracy", "Balanced test accuracy", False),
    ("alignment_test/unsafe_recall", "Unsafe recall (test)", False),
    ("alignment_test/safe_recall", "Safe recall (test)", False),
    ("alignment_test/text_quality", "Text quality, test (1 − self-BLEU)", False),
    ("context_image/balanced_accuracy", "Context-aware balanced accuracy, images", False),
    ("context_text/balanced_accuracy", "Context-aware balanced accuracy, text only", False),
    ("alignment_image/accuracy", "Alignment on images", False),
    ("alignment_text/accuracy", "Alignment on text only", False),
    ("modality_gap", "Modality gap (text − image)", True),
    ("context_modality_gap", "Context modality gap (text − image)", True),
    ("perception/accuracy", "Perception accuracy", False),
    ("capability/accuracy", "General capability: does it show <concept>?", False),
    ("capability/accuracy_plus", "General capability, both questions right (accuracy+)", False),
    ("capability_shape/accuracy", "General capability: is there a <shape>?", False),
    ("generalization/trained_concepts/balanced_accuracy", "Balanced accuracy, trained concepts", False),
    ("generalization/held_out_concepts/balanced_accuracy", "Balanced accuracy, held-out concepts", False),
)
SAFE_HELD_OUT = 9
# The defaults' tasks plus the shape questions, which the defaults leave out (600 queries).
TASKS = "[" + ",".join([*OmegaConf.load(CONF_DIR / "data" / "synthetic.yaml").tasks, "capability_shape"]) + "]"


def held_out_concepts() -> list[str]:
    """The last unsafe concept of each category, and the last few safe concepts of the list."""
    taxonomy = published_taxonomy()
    last_of = {taxonomy.category_of[concept]: concept for concept in taxonomy.concepts}
    unsafe = [last_of[category] for category in taxonomy.categories]
    return [*unsafe, *safe_concepts()[-SAFE_HELD_OUT:]]


def comparison_table(runs: Mapping[str, Run]) -> str:
    """Markdown: one row per score (with its 95% interval where the run has one), a column for before
    training and one per method; wall times last."""
    first = next(iter(runs.values()))
    columns = {"before": first.before or {}, **{name.upper(): run.metrics for name, run in runs.items()}}
    lines = ["| score | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for key, label, signed in ROWS:
        score = Score(key, label, signed)
        cells = [format_score(metrics, score, interval=True) for metrics in columns.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    times = [f"{run.seconds / 60:.1f} min" for run in runs.values()]
    lines.append("| Wall time of `fit` (evaluations included) | – | " + " | ".join(times) + " |")
    return "\n".join(lines)


def run_methods(out: Path, overrides: Sequence[str], methods: Sequence[str] = tuple(METHODS)) -> dict[str, Run]:
    holdout = "[" + ",".join(f"'{c}'" for c in held_out_concepts()) + "]"
    return {
        method: run_suite(
            ["fit", *METHODS[method], f"data.holdout_concepts={holdout}", f"data.tasks={TASKS}", *overrides],
            out / method,
        )
        for method in methods
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/compare"), help="folder for the runs and the table")
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="the methods to run (default: all)"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (after --)")
    args = parser.parse_args()
    runs = run_methods(args.out, args.overrides, args.methods)
    table = comparison_table(runs)
    held_out = ", ".join(held_out_concepts())
    text = f"{table}\n\nHeld out of alignment training (unsafe and safe): {held_out}.\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "comparison.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
