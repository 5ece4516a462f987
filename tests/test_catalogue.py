"""The catalogue of bad inputs and faults: each case runs the CLI in-process, as a user types it,
and must end with its exit code, exactly one ``error:`` line naming the key, file or line at
fault, and every file that was there before still there, unchanged, with nothing half-written.

``docs/reliability.md`` holds this table as a reader sees it (case -> what the user sees);
``test_the_reliability_page_lists_every_case`` keeps the two the same. Kills and Ctrl-C, which
need a real process to kill, are in ``test_kill_resume.py`` and ``test_interrupts.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from helpers.bad_settings import BAD_DATA, BAD_SETTINGS
from helpers.benchmark_files import write_placeholder_benchmark
from helpers.image_sets import (
    LLAVABENCH_HEADER,
    png_base64,
    write_image_safety_tsv,
    write_llavabench_tsv,
    write_mme_tsv,
    write_tsv,
)
from helpers.safety_sets import siuo_row, vlsbench_row, write_siuo_folder, write_vlsbench_folder

from unsafe_vlm.cli import main
from unsafe_vlm.paths import REPO_DIR

Prepare = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    kind: str  # the table's section
    what: str  # what goes wrong, in the user's words
    args: tuple[str, ...]  # the command line; {tmp}: the case's folder, {cache}: the data cache
    shows: str  # the start of the error line (after "error: "), {tmp} filled in
    prepare: Prepare | None = None  # makes the bad files under {tmp}


# ----- preparing bad files -----------------------------------------------------------------------


def benchmark(tmp: Path) -> Path:
    return write_placeholder_benchmark(tmp / "bench")


def edit_line(name: str, line: int, change: Callable[[dict], dict | str]) -> Prepare:
    """A copy of the published benchmark with one metadata line changed (a dict, or raw text)."""

    def prepare(tmp: Path) -> None:
        root = benchmark(tmp)
        path = root / name
        lines = path.read_text().splitlines()
        changed = change(json.loads(lines[line - 1]))
        lines[line - 1] = changed if isinstance(changed, str) else json.dumps(changed)
        path.write_text("\n".join(lines) + "\n")

    return prepare


def remove_file(relative: str) -> Prepare:
    def prepare(tmp: Path) -> None:
        (benchmark(tmp) / relative).unlink()

    return prepare


def tsv(writer: Callable[[Path], Path]) -> Prepare:
    return lambda tmp: writer(tmp / "set.tsv") and None


def siuo_folder(change: Callable[[dict], object]) -> Prepare:
    """SIUO's folder of two rows (``siuo_gen.json`` four-space indented: row 2 starts on line 10), row 2 changed."""

    def prepare(tmp: Path) -> None:
        rows = [siuo_row(0, "self-harm"), siuo_row(1, "morality")]
        write_siuo_folder(tmp / "siuo", rows=rows)
        change(rows[1])
        (tmp / "siuo" / "siuo_gen.json").write_text(json.dumps(rows, indent=4))

    return prepare


def vlsbench_folder(change: Callable[[dict], object]) -> Prepare:
    """VLSBench's folder of two rows (``data.json`` six-space indented: row 2 starts on line 12), row 2 changed."""

    def prepare(tmp: Path) -> None:
        rows = [vlsbench_row(0, "Hate"), vlsbench_row(1, "Violent")]
        write_vlsbench_folder(tmp / "vls", rows=rows)
        change(rows[1])
        (tmp / "vls" / "data.json").write_text(json.dumps(rows, indent=6))

    return prepare


def model_folder(*files: str) -> Prepare:
    def prepare(tmp: Path) -> None:
        (tmp / "model").mkdir()
        for name in files:
            (tmp / "model" / name).write_bytes(b"{}" if name.endswith(".json") else b"weights")

    return prepare


def checkpoint(method: str = "sft", r: int = 8, cut: bool = False, model: str = "tiny") -> Prepare:
    def prepare(tmp: Path) -> None:
        path = tmp / "run" / "checkpoints" / "last.ckpt"
        path.parent.mkdir(parents=True)
        lora = {"r": r, "alpha": 16, "dropout": 0.05, "target_modules": None}
        hyper = {"method": {"name": method}, "lora": lora, "model": {"name": model}}
        torch.save({"state_dict": {}, "hyper_parameters": hyper}, path)
        if cut:
            path.write_bytes(path.read_bytes()[:64])

    return prepare


def contexts(change: Callable[[list], None]) -> Prepare:
    """A copy of the shipped contexts file with one change."""

    def prepare(tmp: Path) -> None:
        entries = json.loads((REPO_DIR / "data" / "unsafe_concepts" / "contexts.json").read_text())
        change(entries)
        (tmp / "contexts.json").write_text(json.dumps(entries))

    return prepare


def write(relative: str, text: str) -> Prepare:
    def prepare(tmp: Path) -> None:
        (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp / relative).write_text(text)

    return prepare


UC = ("evaluate", "data=unsafe_concepts", "data.root={tmp}/bench", "model=tiny")
META, PERC = "metadata.jsonl", "perception_metadata.jsonl"
MME = ("evaluate", "data=mme", "data.path={tmp}/set.tsv", "model=tiny")
SAFETY = ("evaluate", "data=image_safety", "data.path={tmp}/set.tsv", "model=tiny")
LLAVA = ("evaluate", "data=llavabench", "data.path={tmp}/set.tsv", "model=tiny")
SIUO = ("evaluate", "data=siuo", "data.path={tmp}/siuo", "model=tiny")
VLS = ("evaluate", "data=vlsbench", "data.path={tmp}/vls", "model=tiny")
FIT_TINY = ("fit", "+method=sft", "model=tiny", "hydra.run.dir={tmp}/run")
M = "{tmp}/bench/metadata.jsonl"
P = "{tmp}/bench/perception_metadata.jsonl"
T = "{tmp}/set.tsv"
C = "{tmp}/contexts.json"
CTX = ("evaluate", "model=tiny", "data.contexts_file={tmp}/contexts.json")

DATA_FILES = [
    Case("data files", "benchmark folder missing", ("evaluate", "data=unsafe_concepts", "data.root={tmp}/none"),
         "{tmp}/none: data root is not a folder"),
    Case("data files", "metadata file missing", UC, f"{M}: metadata file not found", remove_file(META)),
    Case("data files", "a line is not JSON", UC, f"{M}:3: not valid JSON", edit_line(META, 3, lambda r: "{oops")),
    Case("data files", "a line is not a JSON object", UC, f"{M}:3: expected a JSON object",
         edit_line(META, 3, lambda r: "[1]")),
    Case("data files", "a blank line", UC, f"{M}:3: blank line", edit_line(META, 3, lambda r: "")),
    Case("data files", "a field missing", UC, f"{M}:2: missing field 'category'",
         edit_line(META, 2, lambda r: {k: v for k, v in r.items() if k != "category"})),
    Case("data files", "an unknown category", UC, f"{M}:2: unknown category 'Hats'",
         edit_line(META, 2, lambda r: {**r, "category": "Hats"})),
    Case("data files", "an unknown concept", UC, f"{M}:2: unknown concept 'Swastikas'",
         edit_line(META, 2, lambda r: {**r, "unsafe_concept": "Swastikas"})),
    Case("data files", "a concept under another category", UC, f"{M}:2: concept 'Swastika' belongs to category 'Hate'",
         edit_line(META, 2, lambda r: {**r, "category": "Violence"})),
    Case("data files", "an absolute image path", UC, f"{M}:2: image path '/etc/passwd' is absolute",
         edit_line(META, 2, lambda r: {**r, "image_filename": "/etc/passwd"})),
    Case("data files", "an image path escaping the root", UC, f"{M}:2: image path '../x.png' escapes the data root",
         edit_line(META, 2, lambda r: {**r, "image_filename": "../x.png"})),
    Case("data files", "an image file missing", UC, f"{M}:1: image file not found", remove_file("images/0.png")),
    Case("data files", "an image listed twice", UC, f"{M}:2: image {{tmp}}/bench/images/0.png is already listed",
         edit_line(META, 2, lambda r: {**r, "image_filename": "images/0.png"})),
    Case("data files", "perception row disagrees with the metadata", UC, f"{P}:2: row does not match line 2",
         edit_line(PERC, 2, lambda r: {**r, "image_filename": "images/7.png"})),
    Case("data files", "perception options malformed", UC, f"{P}:2: option_str must hold 4 options",
         edit_line(PERC, 2, lambda r: {**r, "option_str": "A: x"})),
    Case("data files", "perception answer names another concept", UC, f"{P}:1: correct_option B names",
         edit_line(PERC, 1, lambda r: {**r, "correct_option": "B"})),
    Case("data files", "perception answer not a letter", UC, f"{P}:1: correct_option 'E' is not among the options",
         edit_line(PERC, 1, lambda r: {**r, "correct_option": "E"})),
    Case("data files", "MME file missing", MME, f"{T}: file not found"),
    Case("data files", "MME column missing", MME, f"{T}:1: missing column(s) 'answer'",
         tsv(lambda p: write_tsv(p, ["index", "image", "question"], [[0, png_base64((0, 0, 0)), "Q?"]]))),
    Case("data files", "MME answer neither yes nor no", MME, f"{T}:3: unknown answer 'Maybe'",
         tsv(lambda p: write_mme_tsv(p, ["Yes", "Maybe"]))),
    Case("data files", "MME image not base64", MME, f"{T}:2: the image is not valid base64",
         tsv(lambda p: write_tsv(p, ["index", "image", "question", "answer"], [[0, "@@@" * 30, "Q?", "Yes"]]))),
    Case("data files", "MME index used twice", MME, f"{T}:3: index '0' is already used on line 2",
         tsv(lambda p: write_tsv(p, ["index", "image", "question", "answer"],
                                 [[0, png_base64((0, 0, 0)), "Q?", "Yes"], [0, png_base64((0, 0, 0)), "Q?", "No"]]))),
    Case("data files", "LLaVABench column missing", LLAVA, f"{T}:1: missing column(s) 'caption'",
         tsv(lambda p: write_tsv(p, LLAVABENCH_HEADER[:4], [[0, png_base64((0, 0, 0)), "Q?", "R"]]))),
    Case("data files", "LLaVABench image not base64", LLAVA, f"{T}:3: the image is not valid base64",
         tsv(lambda p: write_tsv(p, LLAVABENCH_HEADER, [[0, png_base64((0, 0, 0)), "Q?", "R", "C", "conv"],
                                                        [1, "@@@" * 30, "Q?", "R", "C", "conv"]]))),
    Case("data files", "LLaVABench given a judge that cannot score answers", (*LLAVA, "judge=rule"),
         "judge 'rule' cannot score answers against a reference", tsv(lambda p: write_llavabench_tsv(p, ["conv"]))),
    Case("data files", "a context without its unsafe question", CTX,
         f"{C}: entry 3 (The Federal Reserve Conspiracy): output has no 'Unsafe Context:' question",
         contexts(lambda e: e[2].update(output="Safe Context: Q?"))),
    Case("data files", "a context of an unknown concept", CTX, f"{C}: entry 5 (Flat Earth): unknown concept",
         contexts(lambda e: e[4].update({"unsafe concept": "Flat Earth"}))),
    Case("data files", "a concept with two contexts", CTX, f"{C}: entry 76 (The Bilderberg Group): concept "
         "'The Bilderberg Group' is listed twice", contexts(lambda e: e.append(dict(e[1])))),
    Case("data files", "image-safety label unknown", SAFETY, f"{T}:3: unknown label 'nsfw'",
         tsv(lambda p: write_image_safety_tsv(p, ["safe", "nsfw"]))),
    Case("data files", "SIUO row without its safety warning", SIUO,
         "{tmp}/siuo/siuo_gen.json:10: missing field 'safety_warning'", siuo_folder(lambda r: r.pop("safety_warning"))),
    Case("data files", "VLSBench image file missing", VLS, "{tmp}/vls/data.json:12: image file not found",
         vlsbench_folder(lambda r: r.update(image_path="imgs/absent.png"))),
    Case("data files", "image-safety set given to fit",
         ("fit", "+method=sft", "data=image_safety", "data.path={tmp}/set.tsv", "model=tiny"),
         "data=image_safety is for evaluation only", tsv(lambda p: write_image_safety_tsv(p, ["safe", "unsafe"]))),
]  # fmt: skip

RUNS_AND_FILES = [
    Case("runs and files", "a share of the training batches that rounds to none",
         ("fit", "+method=sft", "model=tiny", "evaluate_before=false", "data.limit_per_task=2",
          "trainer.limit_train_batches=0.01"),
         "trainer: You requested to check 0.01 of the `train_dataloader` but 0.01 * 1 < 1"),
    Case("runs and files", "resume with no checkpoint", (*FIT_TINY, "ckpt_path=last"),
         "ckpt_path=last: no checkpoint at {tmp}/run/checkpoints/last.ckpt"),
    Case("runs and files", "a checkpoint cut short", (*FIT_TINY, "ckpt_path=last"),
         "{tmp}/run/checkpoints/last.ckpt: not a readable checkpoint", checkpoint(cut=True)),
    Case("runs and files", "a checkpoint of another method", ("fit", "+method=dpo", "model=tiny",
                                                              "hydra.run.dir={tmp}/run", "ckpt_path=last"),
         "{tmp}/run/checkpoints/last.ckpt was made with method.name='sft', this run has 'dpo'", checkpoint("sft")),
    Case("runs and files", "a checkpoint of another LoRA set-up", (*FIT_TINY, "ckpt_path=last", "model.lora.r=4"),
         "{tmp}/run/checkpoints/last.ckpt was made with model.lora.r=8, this run has 4", checkpoint("sft")),
    Case("runs and files", "a checkpoint of another base model", (*FIT_TINY, "ckpt_path=last"),
         "{tmp}/run/checkpoints/last.ckpt was made with model.name='organism', this run has 'tiny'",
         checkpoint("sft", model="organism")),
    Case("runs and files", "a damaged responses/config.json", ("evaluate", "model=tiny", "hydra.run.dir={tmp}/run"),
         "{tmp}/run/responses/config.json: not valid JSON", write("run/responses/config.json", "{half")),
    Case("runs and files", "a model folder that is empty", ("evaluate", "model.path={tmp}/model"),
         "{tmp}/model: the model folder is empty", model_folder()),
    Case("runs and files", "a model folder with pickle weights only", ("evaluate", "model.path={tmp}/model"),
         "{tmp}/model: holds only pickle weights (pytorch_model.bin)",
         model_folder("config.json", "pytorch_model.bin")),
    Case("runs and files", "a model folder without config.json", ("evaluate", "model.path={tmp}/model"),
         "{tmp}/model: no config.json in the model folder", model_folder("model.safetensors")),
    Case("runs and files", "a run folder under a file", ("evaluate", "hydra.run.dir={tmp}/a-file/run"),
         "hydra.run.dir={tmp}/a-file/run: cannot be created: {tmp}/a-file is a file", write("a-file", "x")),
    Case("runs and files", "a data cache under a file", ("evaluate", "data.cache_dir={tmp}/a-file/c"),
         "data.cache_dir={tmp}/a-file/c: cannot be created: {tmp}/a-file is a file", write("a-file", "x")),
    Case("runs and files", "synth out is a file", ("synth", "out={tmp}/a-file", "overwrite=true"),
         "out={tmp}/a-file: is a file, not a folder", write("a-file", "x")),
    Case("runs and files", "synth overwrite of a folder that is not a data set",
         ("synth", "out={tmp}/mine", "overwrite=true"),
         "{tmp}/mine: holds something other than a synthetic data set", write("mine/notes.txt", "keep me")),
    Case("runs and files", "synth with no out", ("synth",), "synth: say where to write the data set: out=DIR"),
    Case("runs and files", "report of no run folder", ("report", "{tmp}/none"), "{tmp}/none: no such directory"),
    Case("runs and files", "report of an unfinished run", ("report", "{tmp}/run"),
         "{tmp}/run/responses/perception.rank0.jsonl:1: cut short",
         write("run/responses/perception.rank0.jsonl", '{"id": "perception/0"')),
    Case("runs and files", "an unknown command", ("fitt",), "unknown command 'fitt'"),
    Case("runs and files", "fit without a method", ("fit",), "fit needs a method"),
    Case("runs and files", "an unknown model", ("evaluate", "model=llava99"), "unknown model 'llava99'"),
    Case("runs and files", "an unknown key", ("evaluate", "data.limit=3"), "unknown key 'data.limit'"),
]  # fmt: skip

API_MODELS = [
    Case("models behind an API", "fit with a model behind an API", ("fit", "+method=sft", "model=api"),
         "model=api: fit trains a model's weights, and one behind an API has none here"),
    Case("models behind an API", "the key's variable not set",
         ("evaluate", "model=api", "model.api_key_env=UNSAFE_VLM_UNSET_KEY"),
         "model.api_key_env: the environment variable UNSAFE_VLM_UNSET_KEY is not set"),
    Case("models behind an API", "a header's variable not set",
         ("evaluate", "model=api", "model.extra_headers_env={{X-Key: UNSAFE_VLM_UNSET_HEADER}}"),
         "model.extra_headers_env.X-Key: the environment variable UNSAFE_VLM_UNSET_HEADER is not set"),
    Case("models behind an API", "a secret header written in the config",
         ("evaluate", "model=api", "model.extra_headers={{Authorization: Bearer sk-x}}"),
         "model.extra_headers: must not hold 'Authorization': a secret goes in extra_headers_env"),
    Case("models behind an API", "a header's value where its variable's name belongs",
         ("evaluate", "model=api", "model.extra_headers_env={{X-Key: sk-live-x}}"),
         "model.extra_headers_env: 'X-Key' must name the environment variable that holds its value"),
    Case("models behind an API", "a token-limit key the client does not know",
         ("evaluate", "model=api", "model.max_tokens_key=max_output_tokens"),
         "model.max_tokens_key: 'max_output_tokens' is not one of: 'max_tokens', 'max_completion_tokens'"),
    Case("models behind an API", "a base URL that is no URL",
         ("evaluate", "model=api", "model.base_url=localhost:8000"),
         "model.base_url: 'localhost:8000' must start with http:// or https://"),
    Case("models behind an API", "nothing listening at the base URL",
         ("evaluate", "model=api", "model.base_url=http://127.0.0.1:9/v1", "model.max_retries=0",
          "data.limit_per_task=2", "hydra.run.dir={tmp}/run"),
         "http://127.0.0.1:9/v1: cannot reach the server after 1 tries"),
    Case("models behind an API", "an LLM judge's endpoint not listening",
         ("evaluate", "model=tiny", "judge=llm", "data.limit_per_task=2", "generation.max_new_tokens=2",
          "+judge.api={{base_url: 'http://127.0.0.1:9/v1', model: j, max_retries: 0}}", "hydra.run.dir={tmp}/run"),
         "http://127.0.0.1:9/v1: cannot reach the server after 1 tries (judge.api.max_retries=0)"),
    Case("models behind an API", "an LLM judge's folder without safetensors",
         ("evaluate", "model=tiny", "judge=llm", "judge.model={tmp}/model"),
         "judge.model: no *.safetensors weights in {tmp}/model", write("model/pytorch_model.bin", "pickle")),
]  # fmt: skip

CONFIG = [
    Case("config values", f"{command} {' '.join(overrides)}", (command, *overrides), message)
    for command, overrides, message in [*BAD_SETTINGS, *BAD_DATA]
]
CASES = [*CONFIG, *DATA_FILES, *RUNS_AND_FILES, *API_MODELS]


def snapshot(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.what}" for c in CASES])
def test_each_case_is_one_error_line_and_loses_nothing(case, tmp_path, data_cache, monkeypatch, capsys):
    if case.prepare is not None:
        case.prepare(tmp_path)
    args = [a.format(tmp=tmp_path, cache=data_cache) for a in case.args]
    own_set = any(a in ("data=mme", "data=image_safety", "data=llavabench", "data=siuo", "data=vlsbench")
                  for a in args)  # these have no cache
    if args[0] in ("evaluate", "fit") and not own_set and not any(a.startswith("data.cache_dir=") for a in args):
        args.append(f"data.cache_dir={data_cache}")
    if args[0] in ("evaluate", "fit") and not any(a.startswith("hydra.run.dir=") for a in args):
        args.append(f"hydra.run.dir={tmp_path}/out")
    before = snapshot(tmp_path, data_cache)
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: " + case.shows.format(tmp=tmp_path)), errors[0]
    after = snapshot(tmp_path, data_cache)
    assert {p: after.get(p) for p in before} == before  # nothing lost or changed
    assert not [p for p in after if p.name.endswith(".tmp") or p.name.startswith(".tmp-")]  # nothing half-written


def test_the_catalogue_holds_at_least_sixty_cases():
    assert len(CASES) >= 60


def reliability_table() -> str:
    lines = []
    for kind in dict.fromkeys(c.kind for c in CASES):
        lines += [f"### {kind}", "", "| case | what the user sees (one line, exit status 2) |", "| --- | --- |"]
        for case in (c for c in CASES if c.kind == kind):
            shown, what = (text.replace("{tmp}", "DIR").replace("|", "\\|") for text in (case.shows, case.what))
            lines.append(f"| {what} | `error: {shown} ...` |")
        lines.append("")
    return "\n".join(lines)


BEGIN, END = "<!-- catalogue: begin (tests/test_catalogue.py writes this part) -->", "<!-- catalogue: end -->"


def test_the_reliability_page_lists_every_case():
    page = (REPO_DIR / "docs" / "reliability.md").read_text()
    assert BEGIN in page and END in page
    listed = page.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
    assert listed == reliability_table().strip("\n"), "docs/reliability.md is out of date: run this file's __main__"


if __name__ == "__main__":  # python tests/test_catalogue.py: rewrite the catalogue part of docs/reliability.md
    path = REPO_DIR / "docs" / "reliability.md"
    page = path.read_text()
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{BEGIN}\n{reliability_table()}\n{END}{tail}")
