"""Every score names the judge behind it: ``judge/*`` in metrics.json, a line in report.md, and a resume
under other rules or other weights refused, naming what changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from unsafe_vlm.cli import main
from unsafe_vlm.judges import rule
from unsafe_vlm.judges.identity import files_sha256, judge_identity
from unsafe_vlm.judges.rule import RuleJudge, rules_sha256
from unsafe_vlm.report.rescore import rescore_run


def test_the_rule_judges_identity_follows_its_rules_and_smoothing(tmp_path, monkeypatch):
    identity = judge_identity(RuleJudge())
    assert identity == {
        "name": "rule", "class": "unsafe_vlm.judges.rule.RuleJudge", "rules_sha256": rules_sha256(), "smoothing": "0.0"
    }  # fmt: skip
    assert judge_identity(RuleJudge(smoothing=0.1))["smoothing"] == "0.1"
    copies = []
    for module in rule.RULE_MODULES:
        source = Path(module.__file__)
        copies.append(tmp_path / source.name)
        copies[-1].write_bytes(source.read_bytes())
    assert files_sha256(copies) == rules_sha256()
    copies[0].write_text(copies[0].read_text() + "\n# one rule more\n")
    assert files_sha256(copies) != rules_sha256(), "a changed rule file changes the identity"


def evaluate(run_dir, cache, monkeypatch, *extra: str) -> None:
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    main(["evaluate", "model=tiny", "data=synthetic", f"data.cache_dir={cache}", "data.limit_per_task=2",
          "data.tasks=[alignment_image]", "generation.max_new_tokens=4", f"hydra.run.dir={run_dir}",
          *extra])  # fmt: skip


@pytest.mark.slow
def test_a_run_names_its_judge_and_a_resume_under_other_rules_is_refused(tmp_path, data_cache, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    evaluate(run_dir, data_cache, monkeypatch)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {k: v for k, v in metrics.items() if k.startswith("judge/")} == {
        f"judge/{key}": value for key, value in judge_identity(RuleJudge()).items()
    }
    assert f"Judged by `rule` (`unsafe_vlm.judges.rule.RuleJudge`): rules_sha256 `{rules_sha256()}`" in (
        run_dir / "report.md"
    ).read_text()
    assert rescore_run(run_dir).metrics == metrics, "report's rescoring names the same judge"

    monkeypatch.setattr(rule, "rules_sha256", lambda: "rules-of-a-later-release")
    with pytest.raises(SystemExit) as exited:
        evaluate(run_dir, data_cache, monkeypatch)
    assert exited.value.code == 2
    line = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")][-1]
    assert f"judge_identity.rules_sha256 was '{rules_sha256()}', now 'rules-of-a-later-release'" in line
