"""A data source is one file: a throw-away one (one Python file plus one YAML, both written here) is
evaluated, scored and reported with no other change; data configs name their source by one key."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from helpers.datamodules import shipped_data_config
from helpers.image_sets import write_mme_tsv

from unsafe_vlm.cli import main
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.sources import SOURCES, build_datamodule, data_settings
from unsafe_vlm.data.tasks import TASKS

TOY_SOURCE = '''
"""Yes/no questions about images in a TSV (index, image, question, answer): a data source of one file."""

from unsafe_vlm.data.base import ExternalSetDataModule
from unsafe_vlm.data.files import decode_images, read_tsv
from unsafe_vlm.data.records import Record, Sample
from unsafe_vlm.data.settings import ExternalSetSettings
from unsafe_vlm.data.tasks import Headline, Task, register


class ToyDataModule(ExternalSetDataModule):
    source = "toy"
    settings_class = ExternalSetSettings

    def read_samples(self):
        rows = read_tsv(self.path, ("index", "image", "question", "answer"))
        images = decode_images(rows, self.path)
        return [
            Sample.of_tsv_row(self.path, n, line, row, data, gold=row["answer"], question=row["question"])
            for n, ((line, row), data) in enumerate(zip(rows, images))
        ]


def toy_records(data):
    return [
        Record(id=f"toy/{s.id}", task="toy", question=s.question, image=str(s.image), concept=s.concept,
               category=s.category, gold=s.gold, source=s.source, image_bytes=s.image_bytes)
        for s in data.samples()
    ]


register(Task(
    "toy", "toy", toy_records, judge="yes_no", metric="yes_no", label="Toy questions",
    headline=(Headline("accuracy", "Toy accuracy", "answers the toy file's yes/no questions right"),),
))
'''

TOY_CONFIG = """\
source: toy_source:ToyDataModule
name: toy
path: null
eval_batch_size: 4
image_cache_mib: 64
num_workers: 0
seed: 0
limit: null
"""


@pytest.fixture
def toy_source(tmp_path, monkeypatch):
    """``toy_source.py`` on the path and ``conf/data/toy.yaml`` in a config folder of its own."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "toy_source.py").write_text(textwrap.dedent(TOY_SOURCE), encoding="utf-8")
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "toy.yaml").write_text(TOY_CONFIG, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    yield tmp_path / "conf"
    if "toy" in TASKS:
        TASKS.remove("toy")
    sys.modules.pop("toy_source", None)


@pytest.mark.slow
def test_a_data_source_of_one_file_and_one_yaml_is_evaluated_and_reported(toy_source, tmp_path, monkeypatch):
    path = write_mme_tsv(tmp_path / "toy.tsv", ["Yes", "No", "Yes", "No"])
    run = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])
    main([
        "evaluate", "model=tiny", "data=toy", f"data.path={path}", "generation.max_new_tokens=3",
        f"hydra.searchpath=[file://{toy_source}]", f"hydra.run.dir={run}",
    ])  # fmt: skip
    rows = [json.loads(line) for line in (run / "responses" / "toy.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and [r["gold"] for r in rows] == ["Yes", "No", "Yes", "No"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["toy/n"] == 4
    assert metrics["toy/accuracy"] == sum(r["judged"] == r["gold"] for r in rows) / 4
    report = (run / "report.md").read_text()
    assert "| Toy accuracy |" in report and "answers the toy file's yes/no questions right" in report
    assert "| Toy questions | 4 |" in report


@pytest.mark.parametrize(
    "config",
    ["synthetic", "unsafe_concepts", "image_safety", "mme", "llavabench", "mm_safetybench", "jailbreakv", "siuo",
     "vlsbench", "mossbench", "holisafe", "mssbench"],
)
def test_typed_settings_keep_every_key_of_the_data_config(config):
    node = shipped_data_config(config)
    settings = data_settings(node)
    assert settings.to_dict() == node and settings.source in SOURCES


def test_the_synthetic_data_module_keeps_its_settings(tmp_path):
    settings = data_settings(shipped_data_config("synthetic", cache_dir=str(tmp_path)))
    datamodule = build_datamodule(settings)
    assert type(datamodule) is SOURCES.get("unsafe_concepts") and datamodule.settings is settings


def test_an_unknown_source_is_one_line_with_a_suggestion():
    choices = r"choose one of: unsafe_concepts, image_safety, mme, llavabench(, \w+)*$"
    suggestion = r"^data.source: unknown data source 'mmee'; did you mean 'mme'\? "
    with pytest.raises(DataConfigError, match=suggestion + choices):
        data_settings({**shipped_data_config("mme"), "source": "mmee"})


def test_a_config_without_a_source_or_with_one_that_cannot_import_is_refused():
    node = shipped_data_config("mme")
    del node["source"]
    with pytest.raises(DataConfigError, match=r"^data.source: is missing; .* one of: unsafe_concepts, "):
        data_settings({"_target_": "unsafe_vlm.data.mme.MMEDataModule", **node})
    with pytest.raises(DataConfigError, match=r"^data.source: cannot import 'no_such_module:Source'"):
        data_settings({**node, "source": "no_such_module:Source"})


def test_tasks_are_listed_in_the_order_of_their_sources():
    sources = [TASKS[name].source for name in TASKS]
    assert sources == sorted(sources, key=list(SOURCES).index)
    assert list(TASKS)[:4] == ["perception", "alignment_image", "alignment_text", "alignment_test"]


def test_the_task_order_does_not_depend_on_what_is_imported_or_registered_first():
    import subprocess

    first = {
        "mme": "import unsafe_vlm.data.sources.mme",
        "probe": "from unsafe_vlm.data.tasks import Task, register; "
        "register(Task('probe', 'unsafe_concepts', None, 'alignment', 'accuracy', 'Probe'))",
    }
    shown = "; from unsafe_vlm.data.tasks import TASKS; print(','.join(TASKS))"
    orders = {
        name: subprocess.run([sys.executable, "-c", code + shown], capture_output=True, text=True, check=True).stdout
        for name, code in first.items()
    }
    builtin = list(TASKS)
    assert orders["mme"].strip().split(",") == builtin
    at = builtin.index("image_safety")  # a task of unsafe_concepts comes after its source's others
    assert orders["probe"].strip().split(",") == [*builtin[:at], "probe", *builtin[at:]]
