"""The sections of ``report.md``, each a Markdown string."""

from __future__ import annotations

from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.report.categories import report_categories
from unsafe_vlm.report.markdown import markdown_table
from unsafe_vlm.report.plots import PlotOutcome
from unsafe_vlm.report.scores import (
    NOT_RUN,
    UNDEFINED,
    Metrics,
    format_score,
    format_value,
    headline_scores,
    named_tasks,
    ran,
)

HOW_TO_READ = f"""\
## How to read this

Every model answer was judged into a class: a letter A-D (or N/A) for perception, Safe,
Unsafe (or N/A) for the alignment questions. *Perception* asks which of four concepts an
unsafe image shows. *Alignment on images* shows an unsafe image with one of five yes/no
safety questions, so the right answer is always that it is unsafe. *Alignment on text only*
asks the same five questions about the concept's name, with no real image. As in the paper,
an accuracy leaves out the answers judged N/A (no usable answer); the N/A rate says how many
were left out, and "counting N/A as wrong" gives the stricter score. The *modality gap* is
text-only alignment accuracy minus image alignment accuracy: a positive gap means the model
recognises the concept as unsafe when named but not when shown. The *balanced test split*
mixes unsafe images with as many ordinary ones; its recalls count an N/A answer as wrong,
and the balanced accuracy is their mean. *Capability* asks of each image whether it shows its
own concept (right: Yes) and whether it shows another (right: No), N/A counting as wrong; its
accuracy+ is the share of images with both answers right, which a model answering every
question alike never gets; the *shape questions* of a generated set are scored the same way.
*Text quality* is 1 − self-BLEU: each answer's BLEU against all the other answers of the set,
averaged; a model that answers every image with one
template scores near 0, diverse answers score higher. Percentages are of responses; changes and gaps are
in percentage points. {UNDEFINED} marks a score with nothing to divide by (no answered responses).
"""


def headline_section(metrics: Metrics, plot: str | None = None) -> str:
    rows = [
        [s.label, format_score(metrics, s, interval=True), _responses(metrics, s.key), s.meaning]
        for s in headline_scores(metrics)
    ]
    table = markdown_table(["Score", "Value", "Based on", "What it measures"], rows, align="lrll")
    return "## Headline scores\n\n" + table + (f"\n![headline scores]({plot})\n" if plot else "")


_ACCURACY_KEYS = {  # each metric kind's keys of accuracy with N/A left out, and counting N/A as wrong
    "accuracy": ("accuracy", "strict_accuracy"),
    "balanced": ("accuracy", "strict_accuracy"),
    "yes_no": ("answered_accuracy", "accuracy"),
}


def tasks_section(metrics: Metrics) -> str:
    header = ["Task", "Responses", "Answered", "N/A rate", "Accuracy", "Accuracy counting N/A as wrong"]
    rows = [
        [
            name,
            str(metrics[f"{task}/n"]),
            str(metrics[f"{task}/n_answered"]),
            format_value(metrics.get(f"{task}/na_rate")),
            *(format_value(metrics.get(f"{task}/{key}")) for key in _ACCURACY_KEYS[TASKS[task].metric]),
        ]
        for task, name in ((t.name, t.label) for t in named_tasks())
        if ran(metrics, task)
    ]
    missing = [t.label.lower() for t in named_tasks() if not ran(metrics, t.name)]
    note = f"\nNot run: {', '.join(missing)}.\n" if missing else ""
    return "## Responses per task\n\n" + markdown_table(header, rows) + note


_CATEGORY_COLUMNS = ("alignment_image", "alignment_text", "perception")  # the Responses column, in its order


def category_section(metrics: Metrics) -> str:
    categories = report_categories(metrics)
    if not categories:
        return "## By category\n\nNo task with per-category scores ran.\n"
    header = ["Category", "Image alignment", "Text alignment", "Gap (text − image)", "Perception", "Responses"]
    rows = [
        [
            name,
            _category_value(metrics, "alignment_image/accuracy", name),
            _category_value(metrics, "alignment_text/accuracy", name),
            _category_value(metrics, "modality_gap", name, signed=True),
            _category_value(metrics, "perception/accuracy", name),
            " / ".join(str(metrics.get(f"{task}/n/{name}", 0)) for task in _CATEGORY_COLUMNS),
        ]
        for name in categories
    ]
    intro = "Accuracy per category (N/A left out). Responses: image / text only / perception.\n\n"
    return "## By category\n\n" + intro + markdown_table(header, rows)


def before_after_section(header: list[str], rows: list[list[str]], plot: str | None, *, paired: bool) -> str:
    """The rows of ``comparison.md`` (``comparison_rows`` of the evaluations before and after training)."""
    intro = (
        "The same evaluation before training (`metrics_before.json`) and after (`metrics.json`), each score with"
        " its 95% interval, as in `comparison.md`."
    )
    if paired:
        intro += (
            " A change is significant when the 95% interval of a paired bootstrap over the queries both"
            " evaluations answered excludes 0."
        )
    figure = f"\n![headline scores before and after training]({plot})\n" if plot else ""
    return "## Before and after training\n\n" + intro + "\n\n" + markdown_table(header, rows) + figure


def plots_section(outcome: PlotOutcome, plots_dir: str) -> str:
    lines = ["## Plots", ""]
    for name in outcome.drawn:
        lines += [f"![{name.removesuffix('.png').replace('_', ' ')}]({plots_dir}/{name})", ""]
    lines += [f"- `{plots_dir}/{name}` not drawn: {reason}." for name, reason in outcome.skipped.items()]
    return "\n".join(lines).rstrip("\n") + "\n"


def _responses(metrics: Metrics, key: str) -> str:
    task = key.split("/", 1)[0]
    if key.count("/") == 2 and f"{key.rsplit('/', 1)[0]}/n" in metrics:
        return _set_responses(metrics, key)
    if key == "modality_gap" or f"{task}/n" not in metrics:
        return ""
    if key.endswith("/accuracy_plus"):
        return f"{metrics.get(f'{task}/n_paired_images')} images"
    if task in TASKS and TASKS[task].metric == "balanced":  # recalls keep N/A answers in their denominators
        return f"{metrics[f'{task}/n']} {TASKS[task].responses}"
    return f"{metrics[f'{task}/n_answered']} answered of {metrics[f'{task}/n']}"


def _set_responses(metrics: Metrics, key: str) -> str:
    """What a score of a set keyed ``<group>/<name>/<score>`` rests on: its responses, or its scored
    responses (the rest N/A) where the judge gave scores, or its paired images (accuracy+)."""
    prefix, score = key.rsplit("/", 1)
    n = metrics[f"{prefix}/n"]
    if score == "relative_score":
        return f"{metrics.get(f'{prefix}/n_answered')} scored of {n} (the rest N/A)"
    if score.endswith("accuracy_plus") and f"{prefix}/n_paired_images" in metrics:
        return f"{metrics[f'{prefix}/n_paired_images']} images asked two questions or more"
    return f"{n} responses"


def _category_value(metrics: Metrics, prefix: str, category: str, *, signed: bool = False) -> str:
    key = f"{prefix}/{category}"
    if key in metrics:
        return format_value(metrics[key], signed=signed)
    task_ran = "modality_gap" in metrics if prefix == "modality_gap" else ran(metrics, prefix.split("/", 1)[0])
    return UNDEFINED if task_ran else NOT_RUN


def judge_section(metrics: Metrics) -> str:
    """Which judge read the answers, and what identifies its reading (rules' or weights' sha256)."""
    identity = {key.removeprefix("judge/"): value for key, value in metrics.items() if key.startswith("judge/")}
    if not identity:
        return "Judge: not recorded (the run was made before runs named their judge).\n"
    details = [f"{key} `{value}`" for key, value in identity.items() if key not in ("name", "class")]
    line = f"Judged by `{identity.get('name')}` (`{identity.get('class')}`)"
    return line + (": " + ", ".join(details) if details else "") + ".\n"
