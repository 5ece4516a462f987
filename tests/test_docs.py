"""The README and the documentation site: the front page's commands, every command line of every page
through Hydra's own argument parser, the site's navigation, links and a strict build."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser

from unsafe_vlm.config_check import check_overrides, plain_method_override
from unsafe_vlm.paths import CONF_DIR, REPO_DIR

README = REPO_DIR / "README.md"
DOCS = REPO_DIR / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
MAIN_COMMAND = "python -m pip install torch==2.13.0 -e . && python -m unsafe_vlm fit +method=ppo"
TEST_COMMAND = 'python -m pip install torch==2.13.0 -e ".[dev,hub]" && python -m pytest'
HYDRA_COMMANDS = {path.stem for path in CONF_DIR.glob("*.yaml")}  # a command with a config of its own; report has none


@dataclass(frozen=True)
class CommandLine:
    where: str  # page:line
    command: str  # the suite's command word
    args: list[str]


def shell_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each ```bash block."""
    blocks = []
    for match in re.finditer(r"^```(?:bash|sh|shell)\n(.*?)^```", text, flags=re.M | re.S):
        blocks.append((text[: match.start()].count("\n") + 2, match.group(1)))
    return blocks


def command_lines(page: Path) -> list[CommandLine]:
    """Every ``python -m unsafe_vlm <hydra command> ...`` (or ``unsafe-vlm ...``) of a page's shell blocks."""
    found = []
    for first, block in shell_blocks(page.read_text(encoding="utf-8")):
        number = first
        for line in block.replace("\\\n", " \0").splitlines():
            where = f"{page.relative_to(REPO_DIR)}:{number}"
            number += 1 + line.count("\0")
            for part in line.replace("\0", "").split("&&"):
                words = shlex.split(part, comments=True)
                if words[:3] == ["python", "-m", "unsafe_vlm"]:
                    words = words[3:]
                elif words[:1] == ["unsafe-vlm"]:
                    words = words[1:]
                else:
                    continue
                if words and words[0] in HYDRA_COMMANDS:
                    found.append(CommandLine(where, words[0], words[1:]))
    return found


def hydra_argv(line: CommandLine) -> list[str]:
    """What ``cli.main`` hands Hydra for this command line."""
    args = plain_method_override(line.command, line.args)
    if line.command == "rejudge" and args and "=" not in args[0]:
        args = [f"run={args[0]}", *args[1:]]
    return [f"--config-name={line.command}", *args]


HYDRA_LINES = [line for page in PAGES for line in command_lines(page)]


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_test_one_as_written():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2:8] == [
        "```bash",
        "# the main job, on the embedded default model and data (CPU, no network):",
        MAIN_COMMAND,
        "# the tests:",
        TEST_COMMAND,
        "```",
    ]
    assert TEST_COMMAND in (REPO_DIR / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readme_is_a_front_page_of_at_most_150_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_the_pages_hold_command_lines_of_every_hydra_command():
    assert {line.command for line in HYDRA_LINES} == HYDRA_COMMANDS
    assert len(HYDRA_LINES) > 30


@pytest.mark.parametrize("line", HYDRA_LINES, ids=lambda line: line.where)
def test_every_command_line_of_the_readme_and_the_docs_passes_hydras_argument_parser(line):
    argv = hydra_argv(line)
    try:
        parsed = get_args_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{line.where}: Hydra refuses the arguments of: {shlex.join([line.command, *line.args])}")
    overrides = [o for o in parsed.overrides if o != "..."]  # '...' stands for settings the page leaves out
    OverridesParser.create().parse_overrides(overrides)


def test_an_override_before_the_sweep_flag_is_caught_by_the_parser():
    line = CommandLine("here", "fit", ["+method=ppo", "-m", "seed=0,1"])
    with pytest.raises(SystemExit):
        get_args_parser().parse_args(hydra_argv(line))


@pytest.mark.slow
def test_every_command_line_of_the_readme_and_the_docs_composes_a_config():
    failures = []
    for line in HYDRA_LINES:
        args = [a for a in plain_method_override(line.command, line.args) if a != "..."]
        if line.command == "rejudge" and args and "=" not in args[0]:
            args = [f"run={args[0]}", *args[1:]]
        try:
            check_overrides(line.command, args)
        except Exception as error:  # noqa: BLE001  (every failure is listed, then reported at once)
            failures.append(f"{line.where}: {error}")
    assert not failures, "\n".join(failures)


def test_every_page_under_docs_is_in_the_site_navigation():
    config = yaml.safe_load((REPO_DIR / "mkdocs.yml").read_text(encoding="utf-8"))

    def listed(entries) -> list[str]:
        out = []
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            out += listed(value) if isinstance(value, list) else [value]
        return out

    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(listed(config["nav"])) == pages


def test_every_relative_link_of_the_readme_and_the_docs_reaches_a_file():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(REPO_DIR)}: {target}")
    assert not missing


def test_no_page_hides_a_placeholder_as_an_html_tag():
    """Markdown passes <concept> through as a tag, which the browser hides; outside code write &lt;concept&gt;."""
    hidden = []
    for page in [*PAGES, REPO_DIR / "data" / "organism" / "README.md"]:  # the model card: docs/organism.md includes it
        text = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(encoding="utf-8"), flags=re.S)
        tags = re.findall(r"<(?!https?://)[A-Za-z][^>\n]*>", text)  # an autolink <https://...> shows
        hidden += [f"{page.relative_to(REPO_DIR)}: {tag}" for tag in tags]
    assert not hidden


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "config" / "index.html").is_file()
