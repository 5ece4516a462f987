"""Write docs/reference/config.md from conf/**/*.yaml and their comments, and the ``--help`` text into
docs/reference/commands.md; ``--check`` only compares.

Each file gives a section: its opening comment, then one row per key with the default as written and
the key's end-of-line comment (with the comment lines aligned under it), or, where a key has none, the
comment lines just above it. ``tests/tools/test_docs_reference.py`` fails when the committed pages differ
from what this writes, so after changing anything under conf/ or a command's summary run:

    python tools/docs_reference.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
PAGE = ROOT / "docs" / "reference" / "config.md"
COMMANDS_PAGE = ROOT / "docs" / "reference" / "commands.md"
HELP_BEGIN = "<!-- help: begin (tools/docs_reference.py writes this part) -->"
HELP_END = "<!-- help: end -->"

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*|'[^']*'|\"[^\"]*\"):(?:[ ]+(?P<rest>.*))?$")
_MAX_DEFAULT = 60  # characters of a default shown in the table; longer ones are cut (the file has the rest)

INTRO = """\
# Configuration

Every setting of every command, with its default and what it means: generated from `conf/`
and its comments by `python tools/docs_reference.py` (a test fails when this page is out of
date). Change a setting on the command line with Hydra's syntax: `group=choice` picks a file of a
group (`model=llava15_7b`), `group.key=value` sets a key (`method.lr=1e-5`), `+group.key=value`
adds a key the file does not have. `python -m unsafe_vlm <command> --cfg job` prints the composed
config of a command line.

The command files (`fit`, `evaluate`, ...) list the groups each command composes, with the
default choice of each; each group's section lists its files, and each file its keys. A key's
path on the command line is the group's name, a dot, then the key (`data.limit_per_task`).
"""


@dataclass(frozen=True)
class Row:
    key: str  # dotted path inside the file
    default: str  # as written in the file ("" for a mapping whose keys follow)
    meaning: str


def header(lines: list[str]) -> list[str]:
    """The file's opening comment block, as lines without the '#'."""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line[1:].removeprefix(" "))
    return out


def _split_comment(rest: str) -> tuple[str, str | None, int]:
    """'value  # comment' -> (value, comment, column of '#' in rest); '#' inside quotes is part of the value."""
    quote = None
    for i, char in enumerate(rest):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or rest[i - 1] == " "):
            return rest[:i].rstrip(), rest[i + 1 :].strip(), i
    return rest.rstrip(), None, -1


def describe(path: Path) -> str:
    """One file's section: its opening comment, its defaults list, its keys."""
    lines = path.read_text(encoding="utf-8").splitlines()
    defaults, keys = parse(lines)
    name = path.relative_to(CONF).with_suffix("").as_posix()
    out = [f"### `{name}`", ""]
    for is_command, run in itertools.groupby(header(lines), key=lambda line: line.startswith("  ")):
        run = [line.strip() for line in run]
        out += ["```bash", *run, "```", ""] if is_command else [_text(" ".join(t for t in run if t)), ""]
    if defaults:
        out += ["| group | default | meaning |", "| --- | --- | --- |"]
        out += [f"| `{r.key}` | {_code(r.default)} | {_text(r.meaning)} |" for r in defaults if r.key != "_self_"]
        out.append("")
    if keys:
        out += ["| key | default | meaning |", "| --- | --- | --- |"]
        out += [f"| `{r.key}` | {_code(r.default)} | {_text(r.meaning)} |" for r in keys if r.default or r.meaning]
        out.append("")
    return "\n".join(out)


def parse(lines: list[str]) -> tuple[list[Row], list[Row]]:
    """(defaults list, keys) of a file, each row with its meaning joined from its comment lines."""
    defaults: list[list] = []
    keys: list[list] = []
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    open_row: tuple[list, int] | None = None  # the row an aligned comment line continues, and its '#' column
    block_indent: int | None = None
    in_defaults = False
    for line in lines[len(header(lines)) :]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None and (indent > block_indent or not stripped):
            continue
        block_indent = None
        if stripped.startswith("#"):
            if open_row is not None and line.index("#") == open_row[1]:
                open_row[0][2].append(stripped[1:].strip())
            else:
                above.append(stripped[1:].strip())
                open_row = None
            continue
        if not stripped:
            above, open_row = [], None
            continue
        if in_defaults and stripped.startswith("- "):
            value, comment, column = _split_comment(stripped[2:])
            group, _, choice = value.partition(":")
            row = [group.strip(), choice.strip(), [comment] if comment else above]
            defaults.append(row)
            open_row = (row, indent + 2 + column) if comment else None
            above = []
            continue
        match = _KEY.match(line)
        if match is None:  # an item of a block list
            if stripped.startswith("- ") and keys and keys[-1][1] == "":
                keys[-1][1] = "(list)"
            above, open_row = [], None
            if indent == 0:
                in_defaults = False
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = match["key"]
        in_defaults = indent == 0 and key == "defaults"
        rest = match["rest"] or ""
        value, comment, column = _split_comment(rest)
        if in_defaults:
            above, open_row = [], None
            continue
        row = [".".join([k for _, k in stack] + [key]), value, [comment] if comment else above]
        keys.append(row)
        open_row = (row, len(line) - len(rest) + column) if comment else None
        above = []
        if value == "":
            stack.append((indent, key))
        elif value in ("|", "|-", ">", ">-"):
            block_indent = indent
            row[1] = "(text)"
    return [Row(k, d, " ".join(m)) for k, d, m in defaults], [Row(k, d, " ".join(m)) for k, d, m in keys]


def _code(value: str) -> str:
    if value in ("", "(list)", "(text)"):
        return value.strip("()")  # a mapping's keys, a list's items or a text block follow in the file
    if len(value) > _MAX_DEFAULT:
        value = value[: _MAX_DEFAULT - 3] + "..."
    value = value.replace("|", "\\|")
    return f"`` {value} ``" if "`" in value else f"`{value}`"


def _text(text: str) -> str:
    """Comment text as safe Markdown inside a table cell: <placeholders> are not HTML, | is no column."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def render() -> str:
    files = sorted(CONF.rglob("*.yaml"))
    commands = [p for p in files if p.parent == CONF]
    groups: dict[str, list[Path]] = {}
    for path in files:
        if path.parent != CONF:
            groups.setdefault(path.parent.relative_to(CONF).as_posix(), []).append(path)
    out = [INTRO, "## Commands", ""]
    out += [describe(p) for p in commands]
    for group, paths in groups.items():
        choices = ", ".join(f"`{p.stem}`" for p in paths)
        out += [f"## `{group}`", "", f"Choose one with `{group}=NAME`: {choices}.", ""]
        out += [describe(p) for p in paths]
    return "\n".join(out).rstrip("\n") + "\n"


def help_text() -> str:
    """``python -m unsafe_vlm --help`` of this checkout, less its last line (where this machine keeps the configs)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(
        [sys.executable, "-m", "unsafe_vlm", "--help"], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    lines = [line for line in run.stdout.rstrip("\n").splitlines() if not line.startswith("Configs live in")]
    return "\n".join(lines)


def commands_page(page: str, help_output: str) -> str:
    """The commands page with the text between its help markers replaced by ``help_output``."""
    if HELP_BEGIN not in page or HELP_END not in page:
        raise SystemExit(f"{COMMANDS_PAGE.relative_to(ROOT)}: the help markers are missing")
    head, rest = page.split(HELP_BEGIN, 1)
    _, tail = rest.split(HELP_END, 1)
    return f"{head}{HELP_BEGIN}\n```text\n{help_output}\n```\n{HELP_END}{tail}"


def pages() -> dict[Path, str]:
    """Each generated page and what it should hold."""
    commands = commands_page(COMMANDS_PAGE.read_text(encoding="utf-8"), help_text())
    return {PAGE: render(), COMMANDS_PAGE: commands}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the pages are up to date")
    args = parser.parse_args(argv)
    stale = 0
    for path, text in pages().items():
        name = path.relative_to(ROOT)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            print(f"{name} is out of date: run python tools/docs_reference.py", file=sys.stderr)
            stale += 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {name}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
