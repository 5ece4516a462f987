"""The evaluation tasks: what a ``Task`` declares, and ``TASKS``, the registry of every task (``data.tasks``).

A ``Task`` says how its records are built, which reading of the answers its judge must give,
which metric scores it, under which key its scores go in ``metrics.json``, how tables and plots
name it and which scores a report leads with (its ``headline``: label and meaning, as data).
Everything downstream (judging, scoring, ``metrics.json``, ``report.md``, plots, ``report``
rescoring) reads this registry, and ``report/`` only formats what the entries say.

Each data source declares its tasks in its own file (``unsafe_vlm/data/sources/<source>.py``)
with ``register(Task(...))``. ``TASKS`` imports the built-in sources on first read, so it is
whole wherever it is read; its order (that of ``metrics.json`` and the reports) is the sources'
order in ``data.sources.SOURCES``, then each source's tasks in the order they are registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from unsafe_vlm.data.contexts import ContextQuestions
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import Record, Sample
from unsafe_vlm.data.safety import JudgePrompt, MeanRate, Rate
from unsafe_vlm.data.split import Split
from unsafe_vlm.registry import Registry, unknown_message

JudgeKind = Literal["perception", "alignment", "yes_no", "relative", "refusal", "harm"]
"""How the judge reads an answer: an option letter A-D; Safe/Unsafe; Yes/No (each or N/A); or, relative,
a score of 1-10 for the answer and one for the reference answer (or N/A); the safety sets' readings
(``data.safety``): Refused/Complied, Harmful/Harmless (each or N/A)."""
MetricKind = Literal["accuracy", "balanced", "yes_no", "relative", "rate"]
"""Accuracy with N/A left out (and per category); that plus balanced accuracy and recalls; N/A counted wrong;
the answers' scores over the reference's; shares of the answers judged one class (``Task.rates``)."""


class TaskInputs(Protocol):
    """What a record builder reads from its data module; each source offers the part it has."""

    prompts: Prompts
    seed: int
    name: str

    def eval_images(self) -> list[Sample]: ...  # unsafe_concepts: the unsafe images asked about (``eval_split``)

    def unsafe_samples(self) -> list[Sample]: ...  # unsafe_concepts: every unsafe image

    def splits(self) -> tuple[Split, Split]: ...  # unsafe_concepts: the (unsafe, safe) train/test splits

    def samples(self) -> list[Sample]: ...  # a set of its own (image_safety, mme, llavabench): its rows

    def contexts(self) -> dict[str, ContextQuestions]: ...  # unsafe_concepts: each concept's contextual questions

    def drawn_shapes(self) -> dict[str, str]: ...  # a generated set: the shape drawn for each concept


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
    source: str  # the data source that builds its records (a key of ``data.sources.SOURCES``)
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
    responses: str = "responses"  # what its responses are called in report.md ("test responses")
    rates: tuple[Rate, ...] = ()  # metric "rate": the shares it is scored by (attack success rate, refusal rate)
    judge_prompt: JudgePrompt | None = None  # judge "refusal"/"harm": the set's own prompt for judge=llm
    means: tuple[MeanRate, ...] = ()  # metric "rate": means of its rates (MSSBench's accuracy, HoliSafe's avg_ASR)

    def prefix(self, dataset: str | None = None) -> str:
        """The ``metrics.json`` prefix of its scores: ``perception``, ``generalization/smid``."""
        if self.group is None:
            return self.name
        if dataset is None:
            raise ValueError(f"task {self.name!r} keys its scores by its data set's name; none given")
        return f"{self.group}/{dataset}"


TEXT_QUALITY_MEANING = "1 − the mean BLEU of each {where} against all the others: near 0 when all share one template"
"""The meaning of a ``text_quality`` headline ({where}: what an answer is to, e.g. "test answer")."""


class TaskRegistry(Registry[Task]):
    """The ``Registry`` of tasks, read like a dict of name -> ``Task`` (``TASKS[name]``, ``.items()``).

    Every read first imports the built-in data sources (which register their tasks), once; entries
    are kept in the order of their sources (built-in ones first), then of registration.
    """

    def __init__(self) -> None:
        super().__init__("task", "data.tasks")
        self._loaded = False

    def add(self, name: str, entry: Task | str) -> Task | str:
        if not isinstance(entry, Task):
            raise TypeError(f"a task entry is a Task, not {type(entry).__name__}")
        self._load()  # the built-in tasks first, whichever module registers a task first
        super().add(name, entry)
        order = _source_order()
        ranked = sorted(self._entries.items(), key=lambda item: order.get(item[1].source, len(order)))  # type: ignore[union-attr]
        self._entries = dict(ranked)
        return entry

    def remove(self, name: str) -> None:
        """Take a task out again (a test's throw-away task)."""
        del self._entries[name]

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # first: a source module read while it registers its tasks sees them
            from unsafe_vlm.data.sources import SOURCES

            for source in SOURCES:
                SOURCES.get(source)

    def names(self) -> tuple[str, ...]:
        self._load()
        return super().names()

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def get(self, name: str) -> Task:
        self._load()
        return super().get(name)

    def unknown(self, name: object):
        self._load()
        return super().unknown(name)

    def __getitem__(self, name: str) -> Task:
        return self.get(name)

    def items(self) -> list[tuple[str, Task]]:
        return [(name, self.get(name)) for name in self.names()]

    def values(self) -> list[Task]:
        return [self.get(name) for name in self.names()]


def _source_order() -> dict[str, int]:
    from unsafe_vlm.data.sources import SOURCES

    return {name: n for n, name in enumerate(SOURCES)}


TASKS = TaskRegistry()
"""Every evaluation task, in the order of ``metrics.json`` and the reports."""


def register(task: Task) -> Task:
    """Add a task to ``TASKS`` (a new name only)."""
    TASKS.add(task.name, task)
    return task


def get_task(name: str, key: str = "task") -> Task:
    """The task called ``name``; a ``DataConfigError`` naming ``key`` and the choices otherwise."""
    if name not in TASKS:
        raise DataConfigError(unknown_message(key, "task", name, TASKS.names()))
    return TASKS[name]


def source_tasks(source: str) -> tuple[str, ...]:
    """The tasks a data source builds."""
    return tuple(name for name, task in TASKS.items() if task.source == source)
