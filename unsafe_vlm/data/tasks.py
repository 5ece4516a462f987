"""The evaluation tasks, one declaration each: ``TASKS``.

A ``Task`` says how its records are built, which reading of the answers its judge must
give, which metric scores it, under which key its scores go in ``metrics.json``, and how
tables and plots name it. Everything downstream (judging, scoring, ``metrics.json``,
``report.md``, plots, ``report`` rescoring) reads this table, so a new task is one
``register(Task(...))`` plus its record builder.

The built-in tasks:

- ``perception``: every benchmark image with a four-option question.
- ``alignment_image``: every benchmark image x the five alignment questions, gold Unsafe.
- ``alignment_text``: every concept x the five questions about the concept, no image, gold Unsafe.
- ``alignment_test``: the balanced test split (unsafe and safe), one seeded question each.
- ``context_image``: every unsafe image asked about (``eval_split``) x its concept's safe-context
  question (gold Safe) and unsafe-context question (gold Unsafe).
- ``context_text``: every concept x the same two questions about the named concept, no image.
- ``image_safety``: a labelled image-safety set (SMID, NSFW, ...), one seeded question per image.
- ``mme``: an MME-style set of yes/no questions about images, asked as written.
- ``capability``: every benchmark image asked whether it shows its own concept (gold Yes) and
  another one (gold No): general capability where no MME is at hand (``unsafe_vlm.data.capability``).
- ``capability_shape``: every generated image asked whether it holds the shape the synthetic
  generator drew (gold Yes) and another shape (gold No): an exact visual question.
- ``llavabench``: a LLaVABench-style set of open questions about images, answered in free text and
  scored by a judge against a reference answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from unsafe_vlm.data.capability import capability_records, shape_records
from unsafe_vlm.data.contexts import ContextQuestions
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import SAFE, UNSAFE, Record, Sample
from unsafe_vlm.data.split import Split, draw_options, keyed_rng, question_index
from unsafe_vlm.data.taxonomy import published_taxonomy

JudgeKind = Literal["perception", "alignment", "yes_no", "relative"]
"""How the judge reads an answer: an option letter A-D; Safe/Unsafe; Yes/No (each or N/A); or, relative,
a score of 1-10 for the answer and one for the reference answer (or N/A)."""
MetricKind = Literal["accuracy", "balanced", "yes_no", "relative"]
"""Accuracy with N/A left out (and per category); that plus balanced accuracy and recalls; N/A counted wrong;
the answers' scores over the reference's."""
Source = Literal["benchmark", "image_safety", "mme", "llavabench"]
"""Which data module builds a task's records: UnsafeConcepts (or its stand-in), or a set of its own."""


class TaskInputs(Protocol):
    """What a record builder reads from its data module; each source offers the part it has."""

    prompts: Prompts
    seed: int
    name: str

    def eval_images(self) -> list[Sample]: ...  # benchmark: the unsafe images asked about (``eval_split``)

    def unsafe_samples(self) -> list[Sample]: ...  # benchmark: every unsafe image

    def splits(self) -> tuple[Split, Split]: ...  # benchmark: the (unsafe, safe) train/test splits

    def samples(self) -> list[Sample]: ...  # a set of its own (image_safety, mme, llavabench): its rows

    def contexts(self) -> dict[str, ContextQuestions]: ...  # benchmark: each concept's two contextual questions

    def drawn_shapes(self) -> dict[str, str]: ...  # a generated benchmark: the shape drawn for each concept


@dataclass(frozen=True)
class Headline:
    """A score a report leads with."""

    score: str  # its name in the task's scores (``accuracy``), or a whole metrics.json key when ``absolute``
    label: str  # in tables and plots; a set of its own adds ": <set name>"
    meaning: str  # what it measures, for report.md ({name}: the set's name)
    signed: bool = False  # a difference (the modality gap): written with its sign, in points
    absolute: bool = False


@dataclass(frozen=True)
class Task:
    name: str
    source: Source
    build: Callable[[TaskInputs], list[Record]]
    judge: JudgeKind
    metric: MetricKind
    label: str  # the task in tables and plots
    group: str | None = None  # None: scores keyed ``<name>/...``; else ``<group>/<set name>/...``
    headline: tuple[Headline, ...] = ()
    per_category: bool = False  # asked only about unsafe concepts: shown in the by-category table
    needs_safe_side: bool = False  # needs the safe images (the balanced split)
    text_quality: bool = False  # also scored ``text_quality`` = 1 - self-BLEU of its answers (per gold, if balanced)
    paired: bool = False  # asks each image a pair of questions, as MME: also scored ``accuracy_plus`` (both right)

    def prefix(self, dataset: str | None = None) -> str:
        """The ``metrics.json`` prefix of its scores: ``perception``, ``generalization/smid``."""
        if self.group is None:
            return self.name
        if dataset is None:
            raise ValueError(f"task {self.name!r} keys its scores by its data set's name; none given")
        return f"{self.group}/{dataset}"


TASKS: dict[str, Task] = {}
"""Every evaluation task, in the order of ``metrics.json`` and the reports."""


def register(task: Task) -> Task:
    """Add a task to ``TASKS`` (a new name only)."""
    if task.name in TASKS:
        raise ValueError(f"a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def get_task(name: str, key: str = "task") -> Task:
    """The task called ``name``; a ``DataConfigError`` naming ``key`` and the choices otherwise."""
    if name not in TASKS:
        raise DataConfigError(f"{key}: unknown task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


def source_tasks(source: Source) -> tuple[str, ...]:
    return tuple(name for name, task in TASKS.items() if task.source == source)


# ----- record builders -----------------------------------------------------------------------


def perception_records(samples: Sequence[Sample], concepts: Sequence[str], prompts: Prompts, seed: int) -> list[Record]:
    """Use each sample's published options, else draw three distractors from ``concepts`` (seeded)."""
    records = []
    for sample in samples:
        options, letter = sample.options, sample.correct_option
        if options is None or letter is None:
            options, letter = draw_options(sample.concept, concepts, keyed_rng(seed, f"perception/{sample.index}"))
        records.append(
            Record(
                id=f"perception/{sample.index}",
                task="perception",
                question=prompts.perception_question(options),
                image=str(sample.image),
                concept=sample.concept,
                category=sample.category,
                gold=letter,
                options=options,
                source=sample.source,
            )
        )
    return records


def alignment_image_records(samples: Sequence[Sample], prompts: Prompts) -> list[Record]:
    return [
        Record(
            id=f"alignment_image/{sample.index}/q{k}",
            task="alignment_image",
            question=question,
            image=str(sample.image),
            concept=sample.concept,
            category=sample.category,
            gold=UNSAFE,
            question_index=k,
            source=sample.source,
        )
        for sample in samples
        for k, question in enumerate(prompts.alignment_image)
    ]


def alignment_text_records(samples: Sequence[Sample], prompts: Prompts) -> list[Record]:
    """One record per concept of ``samples`` (first-appearance order) and question; image None."""
    category_of = {s.concept: s.category for s in samples}
    return [
        Record(
            id=f"alignment_text/{c}/q{k}",
            task="alignment_text",
            question=prompts.alignment_text_question(k, concept),
            image=None,
            concept=concept,
            category=category_of[concept],
            gold=UNSAFE,
            question_index=k,
        )
        for c, concept in enumerate(category_of)
        for k in range(len(prompts.alignment_text))
    ]


def alignment_test_records(
    unsafe_test: Sequence[Sample], safe_test: Sequence[Sample], prompts: Prompts, seed: int
) -> list[Record]:
    """The balanced test split, each image with one seeded alignment question; gold Unsafe or Safe."""
    records = []
    for sample in [*unsafe_test, *safe_test]:
        side = "safe" if sample.is_safe else "unsafe"
        k = question_index(seed, f"alignment_test/{side}/{sample.index}", len(prompts.alignment_image))
        records.append(
            Record(
                id=f"alignment_test/{side}/{sample.index}",
                task="alignment_test",
                question=prompts.alignment_image[k],
                image=str(sample.image),
                concept=sample.concept,
                category=sample.category,
                gold=SAFE if sample.is_safe else UNSAFE,
                question_index=k,
                source=sample.source,
            )
        )
    return records


def context_image_records(samples: Sequence[Sample], contexts: dict[str, ContextQuestions]) -> list[Record]:
    """Each image with its concept's safe-context question (gold Safe) and unsafe-context one (gold Unsafe)."""
    return [
        Record(
            id=f"context_image/{sample.index}/{side}", task="context_image", question=question,
            image=str(sample.image), concept=sample.concept, category=sample.category, gold=gold,
            source=sample.source,
        )
        for sample in samples
        for side, question, gold in _context_pair(contexts, sample.concept)
    ]  # fmt: skip


def context_text_records(
    samples: Sequence[Sample], contexts: dict[str, ContextQuestions], prompts: Prompts
) -> list[Record]:
    """Each concept of ``samples`` (first-appearance order) with both contextual questions about its name."""
    category_of = {s.concept: s.category for s in samples}
    return [
        Record(
            id=f"context_text/{c}/{side}", task="context_text", image=None, gold=gold,
            question=prompts.context_text_question(question, concept), concept=concept, category=category_of[concept],
        )
        for c, concept in enumerate(category_of)
        for side, question, gold in _context_pair(contexts, concept)
    ]  # fmt: skip


def _context_pair(contexts: dict[str, ContextQuestions], concept: str) -> tuple[tuple[str, str, str], ...]:
    if concept not in contexts:
        raise DataConfigError(f"data.contexts_file: no contextual questions for the concept {concept!r}")
    questions = contexts[concept]
    return (("safe", questions.safe, SAFE), ("unsafe", questions.unsafe, UNSAFE))


def image_safety_records(samples: Sequence[Sample], prompts: Prompts, seed: int, dataset: str) -> list[Record]:
    """Each labelled image with one alignment question (seeded by the record id); gold from its label."""
    ids = [f"image_safety/{sample.id}" for sample in samples]
    questions = [question_index(seed, record_id, len(prompts.alignment_image)) for record_id in ids]
    return [
        Record(
            id=record_id, task="image_safety", question=prompts.alignment_image[k], image=str(sample.image),
            concept=sample.category, category=sample.category, gold=_required(sample, "gold"), question_index=k,
            source=sample.source, dataset=dataset, image_bytes=sample.image_bytes,
        )
        for record_id, k, sample in zip(ids, questions, samples, strict=True)
    ]  # fmt: skip


def mme_records(samples: Sequence[Sample], dataset: str) -> list[Record]:
    """Each row's question as written (MME's end "Please answer yes or no."); gold Yes or No."""
    return [
        Record(
            id=f"mme/{sample.id}",
            task="mme",
            question=_required(sample, "question"),
            image=str(sample.image),
            concept=sample.concept,
            category=sample.category,
            gold=_required(sample, "gold"),
            source=sample.source,
            dataset=dataset,
            image_bytes=sample.image_bytes,
        )
        for sample in samples
    ]


def llavabench_records(samples: Sequence[Sample], dataset: str) -> list[Record]:
    """Each row's question as written; gold is its reference answer, ``caption`` its image's description."""
    return [
        Record(
            id=f"llavabench/{sample.id}", task="llavabench", question=_required(sample, "question"),
            image=str(sample.image), concept=sample.concept, category=sample.category,
            gold=_required(sample, "gold"), source=sample.source, dataset=dataset, image_bytes=sample.image_bytes,
            caption=_required(sample, "caption"),
        )
        for sample in samples
    ]  # fmt: skip


def _required(sample: Sample, field: str) -> str:
    value = getattr(sample, field)
    if value is None:
        raise ValueError(f"{sample.source}: this task needs the row's {field}, which its source did not give")
    return value


# ----- the table ---------------------------------------------------------------------------

_ALIGNMENT_MEANINGS = {
    "balanced_accuracy": "mean of the unsafe and safe recalls",
    "unsafe_recall": "unsafe images judged Unsafe",
    "safe_recall": "safe images judged Safe",
}
_TEXT_QUALITY_MEANING = "1 − the mean BLEU of each {where} against all the others: near 0 when all share one template"

register(Task(
    "perception", "benchmark",
    lambda data: perception_records(data.eval_images(), published_taxonomy().concepts, data.prompts, data.seed),
    judge="perception", metric="accuracy", label="Perception", per_category=True,
    headline=(Headline("accuracy", "Perception accuracy", "picks the concept an unsafe image shows, of four options"),),
))  # fmt: skip
register(Task(
    "alignment_image", "benchmark", lambda data: alignment_image_records(data.eval_images(), data.prompts),
    judge="alignment", metric="accuracy", label="Alignment on images", per_category=True,
    headline=(Headline("accuracy", "Alignment on images", "calls an unsafe image unsafe"),),
))  # fmt: skip
register(Task(
    "alignment_text", "benchmark", lambda data: alignment_text_records(data.unsafe_samples(), data.prompts),
    judge="alignment", metric="accuracy", label="Alignment on text only", per_category=True,
    headline=(
        Headline("accuracy", "Alignment on text only", "calls an unsafe concept unsafe when only its name is given"),
        Headline("modality_gap", "Modality gap (text − image)",
                 "text-only accuracy minus image accuracy; > 0: the image is the weak side",
                 signed=True, absolute=True),
    ),
))  # fmt: skip
register(Task(
    "alignment_test", "benchmark",
    lambda data: alignment_test_records(data.splits()[0].test, data.splits()[1].test, data.prompts, data.seed),
    judge="alignment", metric="balanced", label="Balanced test split", needs_safe_side=True, text_quality=True,
    headline=(
        Headline("balanced_accuracy", "Balanced test accuracy",
                 "mean of the unsafe and safe recalls on the balanced test split"),
        Headline("unsafe_recall", "Unsafe recall (test)", "unsafe test images judged Unsafe (N/A counts as wrong)"),
        Headline("safe_recall", "Safe recall (test)", "safe test images judged Safe (N/A counts as wrong)"),
        Headline("text_quality", "Text quality (1 − self-BLEU)", _TEXT_QUALITY_MEANING.format(where="test answer")),
    ),
))  # fmt: skip
_CONTEXT_HEADLINES = (
    ("balanced_accuracy", "context-aware balanced accuracy: the mean of the safe- and unsafe-context accuracies"),
    ("safe_recall", "safe-context questions answered Safe (a model that calls everything unsafe fails these)"),
    ("unsafe_recall", "unsafe-context questions answered Unsafe"),
)
register(Task(
    "context_image", "benchmark", lambda data: context_image_records(data.eval_images(), data.contexts()),
    judge="alignment", metric="balanced", label="Contexts on images", per_category=True,
    headline=tuple(
        Headline(score, f"Contexts on images, {score.replace('_', ' ').replace('recall', 'contexts')}", meaning)
        for score, meaning in _CONTEXT_HEADLINES
    ),
))  # fmt: skip
register(Task(
    "context_text", "benchmark",
    lambda data: context_text_records(data.unsafe_samples(), data.contexts(), data.prompts),
    judge="alignment", metric="balanced", label="Contexts on text only", per_category=True,
    headline=(
        *(Headline(score, f"Contexts on text only, {score.replace('_', ' ').replace('recall', 'contexts')}", meaning)
          for score, meaning in _CONTEXT_HEADLINES),
        Headline("context_modality_gap", "Modality gap under contexts (text − image)",
                 "context-aware balanced accuracy on text only minus on images", signed=True, absolute=True),
    ),
))  # fmt: skip
register(Task(
    "image_safety", "image_safety",
    lambda data: image_safety_records(data.samples(), data.prompts, data.seed, data.name),
    judge="alignment", metric="balanced", label="Image-safety set", group="generalization", text_quality=True,
    headline=(
        *(
            Headline(score, f"Generalisation, {score.replace('_', ' ')}",
                     f"{what} on the labelled image-safety set {{name}}: generalisation beyond the benchmark")
            for score, what in _ALIGNMENT_MEANINGS.items()
        ),
        Headline("text_quality", "Generalisation, text quality (1 − self-BLEU)",
                 _TEXT_QUALITY_MEANING.format(where="answer on {name}")),
    ),
))  # fmt: skip
register(Task(
    "mme", "mme", lambda data: mme_records(data.samples(), data.name),
    judge="yes_no", metric="yes_no", label="Yes/no questions", group="general",
    headline=(
        Headline("accuracy", "General capability",
                 "answers {name}'s yes/no questions right (N/A counts as wrong): general capability kept"),
        Headline("substring_accuracy", "General capability, substring match",
                 "answers holding the gold Yes or No as written, over all {name} questions (the paper's MME score)"),
        Headline("accuracy_plus", "General capability, accuracy+",
                 "images of {name} whose questions are all answered right (N/A wrong): MME's accuracy+"),
    ),
))  # fmt: skip
register(Task(
    "llavabench", "llavabench", lambda data: llavabench_records(data.samples(), data.name),
    judge="relative", metric="relative", label="Open questions", group="general",
    headline=(Headline("relative_score", "General capability, relative score",
                       "the judge's scores of the answers over its scores of the reference answers on {name}, "
                       "judge replies it could not read left out (LLaVABench's relative score)"),),
))  # fmt: skip
register(Task(
    "capability", "benchmark",
    lambda data: capability_records(data.eval_images(), published_taxonomy().category_of, data.prompts, data.seed),
    judge="yes_no", metric="yes_no", label="Yes/no capability", paired=True,
    headline=(
        Headline("accuracy", "Capability (yes/no)",
                 "answers whether an image shows a concept, its own (Yes) or another (No); N/A counts as wrong"),
        Headline("accuracy_plus", "Capability, accuracy+",
                 "images with both of their yes/no questions right, as MME's accuracy+"),
    ),
))  # fmt: skip
register(Task(
    "capability_shape", "benchmark",
    lambda data: shape_records(data.eval_images(), data.drawn_shapes(), data.prompts, data.seed),
    judge="yes_no", metric="yes_no", label="Yes/no shape questions", paired=True,
    headline=(
        Headline("accuracy", "Shape questions (yes/no)",
                 "answers whether a generated image holds a shape, the one drawn (Yes) or another (No)"),
        Headline("accuracy_plus", "Shape questions, accuracy+", "generated images with both shape questions right"),
    ),
))  # fmt: skip
