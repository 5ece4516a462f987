"""The safety sets' section of ``report.md``: each set's rates per category and per variant, with intervals,
and its modality gaps (``metrics.safety_rates``)."""

from __future__ import annotations

from unsafe_vlm.data.safety import SAFETY_GROUP
from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.report.markdown import markdown_table
from unsafe_vlm.report.scores import UNDEFINED, Metrics, Score, format_score

INTRO = (
    "Shares of each safety set's answers judged one class (an attack success rate: answers giving the unsafe"
    " help asked for; a refusal rate: answers that refuse or deflect), N/A counted as not that class, with 95%"
    " bootstrap intervals (images drawn). A set that also asks its questions as text alone is scored on its"
    " images; its modality gap is the rate with images minus the rate in text, over the same questions.\n"
)


def safety_section(metrics: Metrics) -> str | None:
    """The section, or None when no safety set ran (so that other reports stay as they were)."""
    tables = [_set_table(metrics, name) for name in _sets(metrics)]
    if not tables:
        return None
    return "## Safety sets\n\n" + INTRO + "\n" + "\n".join(tables)


def _sets(metrics: Metrics) -> list[str]:
    return sorted({key.split("/")[1] for key in metrics if key.startswith(SAFETY_GROUP + "/") and key.count("/") == 2
                   and key.endswith("/n")})  # fmt: skip


def _rates(metrics: Metrics, prefix: str) -> list[str]:
    names = [rate.name for task in TASKS.values() if task.group == SAFETY_GROUP for rate in (*task.rates, *task.means)]
    return [name for name in dict.fromkeys(names) if f"{prefix}/{name}" in metrics]


def _set_table(metrics: Metrics, name: str) -> str:
    prefix = f"{SAFETY_GROUP}/{name}"
    rates = _rates(metrics, prefix)
    categories = [key.removeprefix(f"{prefix}/n/") for key in metrics if key.startswith(f"{prefix}/n/")
                  and not key.startswith(f"{prefix}/n/variant/")]  # fmt: skip
    variants = [key.removeprefix(f"{prefix}/n/variant/") for key in metrics if key.startswith(f"{prefix}/n/variant/")]
    parts = [("All", ""), *((c, f"/{c}") for c in categories), *((f"variant: {v}", f"/variant/{v}") for v in variants)]
    header = ["Part", *(rate.replace("_", " ") for rate in rates), "Responses"]
    rows = [
        [label, *(_cell(metrics, f"{prefix}/{rate}{suffix}", rate) for rate in rates),
         str(metrics.get(f"{prefix}/n{suffix}", ""))]
        for label, suffix in parts
    ]  # fmt: skip
    table = f"### {name}\n\n" + markdown_table(header, rows)
    gaps = [key for key in metrics if key.startswith(f"{prefix}/modality_gap/")]
    if gaps:
        lines = [f"- {_gap_label(key.removeprefix(prefix + '/modality_gap/'))}: "
                 f"{format_score(metrics, Score(key, key, signed=True), interval=True)}" for key in gaps]  # fmt: skip
        table += "\nModality gap (images − text):\n\n" + "\n".join(lines) + "\n"
    return table


def _cell(metrics: Metrics, key: str, rate: str) -> str:
    """A rate with its interval; the undefined mark for a part it is not given for (a mean over categories)."""
    return format_score(metrics, Score(key, rate), interval=True) if key in metrics else UNDEFINED


def _gap_label(rest: str) -> str:
    """``attack_success_rate/SD_TYPO`` -> "attack success rate, SD_TYPO images"."""
    rate, _, variant = rest.partition("/")
    return rate.replace("_", " ") + (f", {variant} images" if variant else ", all images")
