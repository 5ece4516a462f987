"""``report.html``: ``report.md`` and its figures, and a browser over every answer of the run, in one
file that opens with no server and no network (style, script, figures and thumbnails inline)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from unsafe_vlm.report.page_answers import answer_table
from unsafe_vlm.report.page_assets import SCRIPT, STYLE
from unsafe_vlm.report.page_markdown import markdown_to_html

PAGE_FILE = "report.html"
_FILTERS = (("task", "task"), ("category", "category"), ("concept", "concept"), ("gold", "gold"),
            ("verdict", "verdict"))  # fmt: skip


def write_page(run_dir: Path, markdown: str, *, title: str) -> Path:
    """Write ``run_dir/report.html`` from the text of ``report.md`` and the run's saved answers."""
    body = markdown_to_html(markdown, lambda name: _data_url(run_dir / name))
    answers = json.dumps(answer_table(run_dir), ensure_ascii=False, separators=(",", ":"))
    filters = "".join(
        f'<label>{label} <select id="{name}"><option value="">all</option></select></label>' for name, label in _FILTERS
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body>
{body}
<h2 id="answers-browser">Every answer</h2>
<p class="note">Questions about one image are shown beside it. Images are blurred (they may show unsafe
content): click one to see it, again to blur it. A verdict is green where it matches the gold answer.</p>
<div id="filters">{filters}
<label>disagreeing: <select id="disagree"><option value="">no filter</option></select></label>
<span id="count"></span></div>
<div id="rows"></div>
<button id="more" type="button">show more</button>
<script type="application/json" id="answers">{_script_safe(answers)}</script>
<script>{SCRIPT}</script>
</body></html>
"""
    path = run_dir / PAGE_FILE
    path.write_text(page, encoding="utf-8")
    return path


def _data_url(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _script_safe(text: str) -> str:
    """JSON that cannot close its ``<script>`` element early."""
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
