"""The Markdown that ``report.md`` is written in, as HTML: headings, paragraphs, lists, pipe tables,
images on their own line, and inline code, bold and italics. Nothing more is needed, so no
Markdown library is: the page is built from the very text of ``report.md``."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

ImageSource = Callable[[str], str | None]
"""A picture's path in the Markdown -> what goes in ``<img src>`` (a data URL); None: leave it out."""


def markdown_to_html(text: str, image_source: ImageSource) -> str:
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            start = i
            while i < len(lines) and lines[i].strip().startswith("|"):
                i += 1
            blocks.append(_table([lines[k].strip() for k in range(start, i)]))
        elif _IMAGE.match(line):
            alt, path = _IMAGE.match(line).groups()
            source = image_source(path)
            if source is not None:
                blocks.append(f'<figure><img alt="{html.escape(alt)}" src="{source}"></figure>')
            i += 1
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        else:
            start = i
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(("#", "|", "- ", "![")):
                i += 1
            blocks.append("<p>" + _inline(" ".join(lines[k].strip() for k in range(start, i))) + "</p>")
    return "\n".join(blocks)


def _table(lines: list[str]) -> str:
    header, rule, *rows = (_cells(line) for line in lines)
    align = ["right" if cell.endswith(":") else "left" for cell in rule]
    head = "".join(f"<th>{_inline(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{a}">{_inline(cell)}</td>' for cell, a in zip(row, align, strict=False)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(line.strip().strip("|"))]


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", text)
