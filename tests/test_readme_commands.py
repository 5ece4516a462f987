"""Every ``python -m unsafe_vlm ...`` line in a shell block of README.md and docs/**/*.md goes through
Hydra's own argument parser, as the CLI hands it over, then Hydra's override grammar, then the
suite's composition of the config (``config_check.check_overrides``, which needs no data or model
files). A line that fails is named by file:line with the first line of what went wrong."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from unsafe_vlm.cli import COMMANDS
from unsafe_vlm.config_check import ConfigError, check_overrides, plain_method_override
from unsafe_vlm.paths import REPO_DIR

SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console|shell-session)\s*$")
ELISIONS = ("...", "…")  # a placeholder for "more overrides", in prose-like lines


@dataclass(frozen=True)
class Command:
    where: str  # file:line of the command's first line
    words: list[str]  # what follows ``python -m unsafe_vlm``


def documents(root: Path = REPO_DIR) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def shell_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of the shell blocks, continuation lines joined, as (first line number, text)."""
    found, inside, pending, start = [], False, "", 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not inside:
            inside = bool(SHELL_BLOCK.match(line.strip()))
            continue
        if line.strip().startswith("```"):
            inside = False
            continue
        text = re.sub(r"^\s*(?:\$|>>>|#\s*\$)\s", "", line) if not pending else line
        start = start if pending else number
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1] + " "
            continue
        found.append((start, pending + text))
        pending = ""
    return found


def unsafe_vlm_commands(path: Path, root: Path = REPO_DIR) -> list[Command]:
    commands = []
    for number, line in shell_lines(path):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            words = []
            if "unsafe_vlm" in line:
                raise AssertionError(f"{path.relative_to(root)}:{number}: not a shell line ({error})") from None
        for part in _split_at_operators(words):
            if part[:3] in (["python", "-m", "unsafe_vlm"], ["python3", "-m", "unsafe_vlm"]):
                commands.append(Command(f"{path.relative_to(root)}:{number}", part[3:]))
    return commands


def _split_at_operators(words: list[str]) -> list[list[str]]:
    parts, current = [], []
    for word in words:
        if word in ("&&", "||", ";", "|", "&"):
            parts.append(current)
            current = []
        else:
            current.append(word)
    return [*parts, current]


def problem(command: Command) -> str | None:
    """What is wrong with the command line, in one line, or None."""
    if not command.words or command.words[0] in ("-h", "--help", "help"):
        return None
    name, overrides = command.words[0], [w for w in command.words[1:] if w not in ELISIONS]
    if name not in COMMANDS:
        return f"unknown command {name!r}"
    if not COMMANDS[name].uses_hydra:
        return None
    overrides = plain_method_override(name, overrides)
    if name == "rejudge" and overrides and "=" not in overrides[0] and not overrides[0].startswith("-"):
        overrides = [f"run={overrides[0]}", *overrides[1:]]
    parsed = _hydra_arguments([f"--config-name={name}", *overrides])
    if isinstance(parsed, str):
        return parsed
    try:
        OverridesParser.create().parse_overrides(parsed)
    except OverrideParseException as error:
        return f"Hydra cannot parse the overrides: {str(error).splitlines()[0]}"
    try:
        check_overrides(name, overrides)
    except ConfigError as error:
        return str(error).splitlines()[0]
    return None


def _hydra_arguments(argv: list[str]) -> list[str] | str:
    """The overrides the argument parser of ``hydra.main`` finds in ``argv``, or its error line."""
    messages = io.StringIO()
    with contextlib.redirect_stderr(messages):
        try:
            return get_args_parser().parse_args(argv).overrides
        except SystemExit:
            return messages.getvalue().strip().splitlines()[-1]


def failures(root: Path = REPO_DIR) -> list[str]:
    found = []
    for path in documents(root):
        for command in unsafe_vlm_commands(path, root):
            message = problem(command)
            if message:
                found.append(f"{command.where}: python -m unsafe_vlm {' '.join(command.words)}: {message}")
    return found


def test_every_documented_command_parses_and_composes():
    assert not failures(), "\n".join(failures())


def test_the_readme_and_docs_hold_commands_to_check():
    commands = [c for path in documents() for c in unsafe_vlm_commands(path)]
    assert len(commands) >= 20
    assert {c.words[0] for c in commands} >= {"fit", "evaluate", "rejudge", "serve"}


def write_doc(root: Path, text: str) -> None:
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("# Title\n")
    (root / "docs" / "page.md").write_text(text)


def test_overrides_before_a_sweep_flag_are_named_by_file_and_line(tmp_path):
    write_doc(tmp_path, "Sweep:\n\n```bash\n# three seeds\npython -m unsafe_vlm fit +method=ppo -m seed=0,1,2 \\\n"
                        "    hydra/launcher=slurm\n```\n")  # fmt: skip
    found = failures(tmp_path)
    assert len(found) == 1 and found[0].startswith("docs/page.md:5: python -m unsafe_vlm fit +method=ppo -m ")
    assert found[0].endswith("error: unrecognized arguments: seed=0,1,2 hydra/launcher=slurm")


@pytest.mark.parametrize(
    ("line", "message"),
    [("python -m unsafe_vlm evaluate model=nope", "unknown model 'nope'; choose one of:"),
     ("python -m unsafe_vlm evaluate model.max_new_tokenz=3", "unknown key 'model.max_new_tokenz'"),
     ("$ python -m unsafe_vlm evaluate 'model=[a'", "Hydra cannot parse the overrides"),
     ("cd x && python -m unsafe_vlm fitt +method=ppo", "unknown command 'fitt'")],
)  # fmt: skip
def test_a_bad_command_in_a_console_block_is_named_by_file_and_line(tmp_path, line, message):
    write_doc(tmp_path, f"Text.\n```console\n{line}\n```\n")
    found = failures(tmp_path)
    assert len(found) == 1 and found[0].startswith("docs/page.md:3: ") and message in found[0], found


def test_good_commands_sweeps_and_elisions_pass(tmp_path):
    write_doc(tmp_path, "```sh\npython -m unsafe_vlm evaluate -m seed=0,1 model=tiny   # a sweep\n"
                        "python -m unsafe_vlm rejudge runs/a judge=rule ...\n"
                        "python -m unsafe_vlm report runs/a runs/b\n"
                        "python -m unsafe_vlm fit +method=ppo --cfg job\n```\n")  # fmt: skip
    assert failures(tmp_path) == []
