"""What a safety set declares beside its records: the shares it is scored by and its judge's prompt.

A safety set (``group="safety"``: MM-SafetyBench, JailbreakV-28K, ...) asks questions whose answers
are judged for what the model did, not for what it said about an image:

- judge kind ``refusal``: did the answer refuse or deflect (``Refused``), or take the request on
  (``Complied``)? N/A: no answer to read (empty, cut off in its reasoning);
- judge kind ``harm``: does the answer give the unsafe help asked for (``Harmful``: an attack
  succeeded) or not (``Harmless``)?

Its task declares ``Rate``s (``metric="rate"``): each the share of its answers judged one class,
per category and per ``variant`` too (an image type, a jailbreak format), with intervals. A set that
also asks each question as text alone (its ``TEXT_VARIANT`` twin record, sharing the image record's
``concept``) gets the modality gap of each rate: the rate with images minus the rate in text.

``judge=rule`` reads refusals from a phrase list (``judges.refusal_rules``); ``judge=llm`` reads
them with the set's ``JudgePrompt``, the authors' own, which ``judge.prompts.<task>`` may replace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from unsafe_vlm.data.records import Record, Sample

SAFETY_GROUP = "safety"
"""The ``group`` of the safety sets' tasks: scores keyed ``safety/<set name>/...``."""
REFUSED, COMPLIED = "Refused", "Complied"
HARMFUL, HARMLESS = "Harmful", "Harmless"
TEXT_VARIANT = "text"
"""The ``variant`` of a record asking its question as text alone (its image's content in words)."""
PROMPT_FIELDS = ("response", "question", "request", "category", "variant", "caption", "warning", "reference")
"""What a judge prompt may hold: the answer; the question the model was asked; the request behind it
(a jailbreak's plain harmful query; the question when the set has none); the row's category and variant;
and, where a set gives them ("" otherwise), a description of its image, what makes the row unsafe and a
safe reference answer (SIUO, VLSBench)."""


@dataclass(frozen=True)
class Rate:
    """A share of a set's answers: those judged ``judged`` among all of them (or only those whose gold
    is ``among``: the safe or the unsafe side of a set that has both). N/A counts as not ``judged``."""

    name: str  # its score's name: ``attack_success_rate`` -> ``safety/<set>/attack_success_rate``
    judged: str  # the class counted: Harmful, Refused, Complied, ...
    among: str | None = None  # only the rows with this gold; all rows when None


@dataclass(frozen=True)
class JudgePrompt:
    """A set's own prompt for an LLM judge, as its authors published it (``source`` cites where).

    ``template`` holds ``{response}`` and any other of ``PROMPT_FIELDS``; ``by_category`` gives other
    templates for some categories (MM-SafetyBench has one per scenario); ``labels`` maps the first word
    of the judge's reply (lower case) to a class of the task's judge kind; any other reply is N/A.

    A prompt that asks for a review before its verdict says where the verdict is: ``pattern``, a regular
    expression (case aside) whose first group is the label word, the reply's last match counting
    (MSSBench's ``<answer>1</answer>``); and how long the reply may be, ``reply_tokens`` (None: a word or
    two). ``labels_by_category`` gives other label words for some categories (HoliSafe's "True" is a
    refusal of an unsafe input but an answer to a safe one).
    """

    template: str
    labels: Mapping[str, str]
    source: str  # repo@commit:path of the published prompt
    by_category: Mapping[str, str] = field(default_factory=dict)
    pattern: str | None = None
    reply_tokens: int | None = None
    labels_by_category: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def template_for(self, category: str) -> str:
        return self.by_category.get(category, self.template)

    def labels_for(self, category: str) -> Mapping[str, str]:
        return self.labels_by_category.get(category, self.labels)


@dataclass(frozen=True)
class MeanRate:
    """The mean of some of a task's rates, as a set's authors average them: ``parts`` are rate names
    (then also per category: MSSBench's accuracy, the mean of its safe and unsafe accuracies) or
    ``<rate>/<category>`` (HoliSafe's avg_ASR, the mean of its four unsafe types' rates). A part that
    counts no row is left out of the mean."""

    name: str
    parts: tuple[str, ...]

    @property
    def per_category(self) -> bool:
        return not any("/" in part for part in self.parts)


def safety_records(samples: Sequence[Sample], task: str, dataset: str) -> list[Record]:
    """A safety set's rows as its task's records: each row's question as written, its gold (the safe
    behaviour), variant and request (and caption, warning and reference, shown to its judge); a row
    without an image is asked as text alone."""
    records = []
    for sample in samples:
        if sample.question is None or sample.gold is None:
            raise ValueError(f"{sample.source}: a safety set's row needs its question and gold")
        records.append(Record(
            id=f"{task}/{sample.id}", task=task, question=sample.question,
            image=None if sample.image is None else str(sample.image), concept=sample.concept,
            category=sample.category, gold=sample.gold, source=sample.source, dataset=dataset,
            variant=sample.variant, request=sample.request, image_bytes=sample.image_bytes, caption=sample.caption,
            warning=sample.warning, reference=sample.reference,
        ))  # fmt: skip
    return records
