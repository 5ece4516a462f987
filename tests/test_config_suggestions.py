"""A mistyped key or config choice is told its near name on the first try, and a folder of runs
given to ``report`` lists them."""

from __future__ import annotations

import pytest

from unsafe_vlm.config_check import ConfigError, check_overrides
from unsafe_vlm.errors import UserError
from unsafe_vlm.report import rescore_run


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data.limit_per_tasks=8"], "'data' has no 'limit_per_tasks'; did you mean 'limit_per_task'?"),
        (["trainer.max_step=2"], "'trainer' has no 'max_step'; did you mean 'max_steps'?"),
        (["modle=tiny"], "the top level has no 'modle'; did you mean 'model'?"),
        (["datta.limit_per_task=8"], "the top level has no 'datta'; did you mean 'data'?"),
        (["+jugde=rule"], "the top level has no 'jugde'; did you mean 'judge'?"),
        (["~data.limit_per_tsk"], "'data' has no 'limit_per_tsk'; did you mean 'limit_per_task'?"),
        (["model=organsim"], "unknown model 'organsim'; did you mean 'organism'?"),
        (["judge=rul"], "unknown judge 'rul'; did you mean 'rule'?"),
    ],
)
def test_a_near_miss_is_suggested_on_the_first_try(overrides, expected):
    with pytest.raises(ConfigError) as raised:
        check_overrides("evaluate", overrides)
    message = str(raised.value)
    assert expected in message and "\n" not in message
    assert "use +" not in message  # not told to add the typo as a new key


def test_a_plus_method_typo_in_fit_is_suggested_not_asked_for_a_method():
    with pytest.raises(ConfigError, match=r"has no 'methd'; did you mean 'method'\?"):
        check_overrides("fit", ["+methd=ppo"])


def test_a_key_with_no_near_name_may_still_be_added():
    with pytest.raises(ConfigError, match=r"use \+data.zzz=\.\.\. to add one"):
        check_overrides("evaluate", ["data.zzz=1"])


def test_report_on_a_folder_of_runs_lists_them_and_names_one(tmp_path):
    first, second = tmp_path / "fit" / "2026-01-01_10-00-00", tmp_path / "fit" / "2026-01-02_10-00-00"
    first.mkdir(parents=True)
    (first / "metrics.json").write_text("{}")
    (second / "responses").mkdir(parents=True)  # a run still answering
    (tmp_path / "fit" / "notes").mkdir()  # not a run
    with pytest.raises(UserError) as raised:
        rescore_run(tmp_path / "fit")
    assert str(raised.value) == (
        f"{tmp_path / 'fit'}: not a run but a folder of 2 run(s): 2026-01-01_10-00-00, 2026-01-02_10-00-00; "
        f"name one, e.g. python -m unsafe_vlm report {tmp_path / 'fit' / '2026-01-02_10-00-00'}"
    )
