"""tools/alignment_tax.py: its grid sweeps what issue 26 asks of each method, every point a config
that composes, the seeds go to the setting that keeps the most capability of those closing the
gap, and --docs writes only between the page's markers."""

from __future__ import annotations

import pytest
import yaml

from alignment_tax import DOCS_PAGE, GRID, _name, choose, docs_part, grid_points
from unsafe_vlm.config_check import check_overrides, plain_method_override
from unsafe_vlm.report.tradeoff import BALANCED, CAPABILITY, SAFE_CONTEXTS

SHIPPED = yaml.safe_load(GRID.read_text(encoding="utf-8"))


def swept(method: str, key: str) -> set:
    values = set(SHIPPED["methods"][method].get("grid", {}).get(key, []))
    for point in SHIPPED["methods"][method].get("points") or []:
        values |= {o.split("=", 1)[1] for o in point if o.startswith(f"{key}=")}
    return values


def test_the_grid_sweeps_what_the_issue_asks_of_each_method():
    for method in ("ppo", "grpo"):
        assert len(swept(method, "method.kl_coef")) >= 4
        assert len(swept(method, "trainer.max_epochs")) >= 2
    for method in ("sft", "dpo"):
        assert len(swept(method, "method.lr")) >= 2 and len(swept(method, "trainer.max_epochs")) >= 2
    assert len(swept("dpo", "method.beta")) >= 2
    points = grid_points(SHIPPED)
    assert len({(p.method, p.name) for p in points}) == len(points)
    replayed = {p.method for p in points if any("train_replay" in o for o in p.overrides)}
    assert replayed == set(SHIPPED["methods"])
    assert SHIPPED["seeds"] and 0 not in SHIPPED["seeds"]


@pytest.mark.slow
def test_every_point_of_the_grid_composes_a_config():
    for point in grid_points(SHIPPED):
        args = [*point.overrides, *SHIPPED["fit"], *SHIPPED["common"], "seed=0"]
        check_overrides("fit", plain_method_override("fit", args))
    check_overrides("evaluate", list(SHIPPED["common"]))


def test_a_folder_name_is_the_keys_last_part_and_the_value():
    assert _name(["method.kl_coef=0.05", "trainer.max_epochs=1"]) == "kl_coef-0.05_max_epochs-1"
    assert _name(["+recipe=paper_ppo"]) == "recipe-paper_ppo"


def row(folder, balanced, capability, closes, contexts=0.5):
    return {"method": "ppo", "runs": [folder], BALANCED: {"mean": balanced}, CAPABILITY: {"mean": capability},
            SAFE_CONTEXTS: {"mean": contexts}, "targets": {"closes_gap": closes}}  # fmt: skip


def test_the_seeds_go_to_the_most_capable_setting_that_closes_the_gap_else_the_most_aligned():
    table = [row("a", 0.99, 0.50, True), row("b", 0.96, 0.70, True), row("c", 0.90, 0.80, False)]
    assert choose(table, "ppo") == "b"
    assert choose([row("c", 0.90, 0.80, False), row("d", 0.93, 0.60, False)], "ppo") == "d"
    assert choose(table, "sft") is None


def test_docs_writes_between_the_markers_only():
    page = DOCS_PAGE.read_text(encoding="utf-8")
    written = docs_part(page, "| a table |\n")
    assert "| a table |\n\n![Every method's front" in written
    assert written.split("<!-- alignment tax: begin")[0] == page.split("<!-- alignment tax: begin")[0]
    assert written.split("<!-- alignment tax: end -->")[1] == page.split("<!-- alignment tax: end -->")[1]
    assert docs_part(written, "| another |\n").count("<!-- alignment tax: end -->") == 1
