"""compare: fit runs grouped into settings (differing only in the seed), the mean over seeds with a
t-interval beside the runs' own intervals, the targets of issue 26 checked against the evaluation
before training, and runs evaluated differently refused in one line."""

from __future__ import annotations

import json
import math

import pytest
from helpers.sweep_folders import fake_run

from unsafe_vlm.commands.compare import compare
from unsafe_vlm.errors import UserError
from unsafe_vlm.report.sweep_runs import find_runs, group_settings, read_run
from unsafe_vlm.report.tradeoff import BALANCED, CAPABILITY, GAP, SAFE_CONTEXTS, rows

BEFORE = {BALANCED: 0.61, GAP: 0.75, CAPABILITY: 0.82, SAFE_CONTEXTS: 0.65}


def scores(balanced, capability, contexts=0.60, gap=0.02):
    return {BALANCED: balanced, GAP: gap, CAPABILITY: capability, SAFE_CONTEXTS: contexts}


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "study"
    for seed, balanced in enumerate((0.90, 0.92, 0.94)):
        fake_run(root / "ppo" / f"kl0.1_s{seed}", "ppo", scores(balanced, 0.80), seed=seed, before=BEFORE,
                 **{"method.kl_coef": 0.1})  # fmt: skip
    fake_run(root / "ppo" / "kl0.02", "ppo", scores(0.97, 0.55), **{"method.kl_coef": 0.02})
    fake_run(root / "sft" / "lr1e-4", "sft", scores(0.96, 0.79, contexts=0.58), **{"method.lr": 1e-4})
    fake_run(root / "sft" / "lr1e-3", "sft", scores(0.98, 0.50), **{"method.lr": 1e-3})
    return root


def settings_of(root):
    return group_settings([read_run(folder) for folder in find_runs([root])])


def test_runs_that_differ_only_in_the_seed_are_one_setting_and_the_swept_key_names_each(sweep):
    settings = settings_of(sweep)
    assert [(s.method, s.label, len(s.runs)) for s in settings] == [
        ("ppo", "method.kl_coef=0.02", 1), ("ppo", "method.kl_coef=0.1", 3),
        ("sft", "method.lr=0.0001", 1), ("sft", "method.lr=0.001", 1),
    ]  # fmt: skip


def test_three_seeds_get_a_t_interval_over_seeds_beside_their_own_intervals(sweep):
    table = rows(settings_of(sweep), BEFORE)
    seeded = next(r for r in table if r["setting"] == "method.kl_coef=0.1")
    cell = seeded[BALANCED]
    half = 4.302652729911275 * 0.02 / math.sqrt(3)  # t(0.975, 2 df) x sd / sqrt(n)
    assert cell["mean"] == pytest.approx(0.92)
    assert cell["over_seeds"] == pytest.approx((0.92 - half, 0.92 + half))
    assert cell["within_run"] == pytest.approx((0.90, 0.94))
    single = next(r for r in table if r["setting"] == "method.kl_coef=0.02")
    assert single[BALANCED]["over_seeds"] is None and single[BALANCED]["within_run"] == pytest.approx((0.95, 0.99))


def test_the_targets_are_checked_against_the_evaluation_before(sweep):
    verdicts = {r["setting"]: r.get("targets", {}).get("all") for r in rows(settings_of(sweep), BEFORE)}
    assert verdicts == {
        "": None,  # the row of the evaluation before training
        "method.kl_coef=0.02": False,  # capability 55% against 82%
        "method.kl_coef=0.1": False,  # balanced 92% < 95%
        "method.lr=0.0001": True,  # 96%, gap 2 points, capability -3, safe contexts -7
        "method.lr=0.001": False,
    }


def test_compare_writes_the_tables_and_the_figure_and_finds_the_before_in_the_runs(sweep, tmp_path):
    written = compare([str(sweep), "--out", str(tmp_path / "out")])
    assert [p.name for p in written] == [f"alignment_tax.{ext}" for ext in ("md", "csv", "json", "png")]
    data = json.loads(written[2].read_text())
    assert data["rows"][0]["method"] == "before" and data["rows"][0][CAPABILITY]["mean"] == 0.82
    markdown = written[0].read_text()
    assert "| ppo | method.kl_coef=0.1 | 3 | 92.0% ± [" in markdown
    assert written[3].stat().st_size > 10_000


def test_runs_evaluated_differently_are_refused_naming_the_key(sweep):
    fake_run(sweep / "odd", "ppo", scores(0.9, 0.8), **{"data.limit_per_task": 50})
    with pytest.raises(UserError, match=r"^compare: .* differs from .* in data.limit_per_task \((50|None) vs"):
        settings_of(sweep)


def test_one_setting_with_a_seed_twice_is_refused(sweep):
    fake_run(sweep / "again", "ppo", scores(0.9, 0.8), seed=1, **{"method.kl_coef": 0.1})
    with pytest.raises(UserError, match="are one setting with the same seed 1; keep one"):
        settings_of(sweep)


def test_an_evaluate_run_in_the_folder_is_not_a_setting_and_an_empty_folder_is_refused(sweep, tmp_path):
    evaluate = fake_run(sweep / "before", "ppo", BEFORE)
    config = evaluate / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("command: fit", "command: evaluate"))
    assert evaluate not in find_runs([sweep])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no fit run"):
        find_runs([tmp_path / "empty"])


def test_a_label_names_only_where_a_setting_differs_from_most_of_its_method(tmp_path):
    fake_run(tmp_path / "a", "sft", scores(0.9, 0.8), **{"method.lr": 1e-4})
    fake_run(tmp_path / "b", "sft", scores(0.9, 0.8), **{"method.lr": 1e-3})
    fake_run(tmp_path / "c", "sft", scores(0.9, 0.8), **{"method.lr": 1e-3, "data.train_replay": ["capability"]})
    labels = sorted(s.label for s in settings_of(tmp_path))
    assert labels == ["as most others", "data.train_replay=['capability']", "method.lr=0.0001"]
