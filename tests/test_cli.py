"""The command line: help, command words, and one-line errors for wrong overrides."""

from __future__ import annotations

import pytest
from helpers.cli_runner import run_cli

from unsafe_vlm.cli import COMMANDS, help_text
from unsafe_vlm.config_check import ConfigError, check_overrides, group_options


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
    assert result.stdout.strip() == help_text().strip()


def test_unknown_command_lists_the_commands():
    result = run_cli("trian")
    assert result.returncode == 2
    assert "unknown command 'trian'" in result.stderr
    assert "fit" in result.stderr and "evaluate" in result.stderr


def test_a_misspelt_command_is_one_line_that_suggests_the_command_meant():
    result = run_cli("evalute")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown command 'evalute'; did you mean 'evaluate'? choose one of: "
        f"{', '.join(COMMANDS)} (see --help)"
    ]


def test_unknown_group_option_is_one_line_with_choices():
    result = run_cli("evaluate", "model=nope")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unknown model 'nope'" in lines[0]
    for option in group_options("model"):
        assert option in lines[0]


def test_unknown_key_is_one_line_with_the_valid_keys():
    result = run_cli("evaluate", "trainer.max_stepz=3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "trainer.max_stepz" in lines[0] and "max_steps" in lines[0]


def test_fit_without_method_lists_the_methods():
    with pytest.raises(ConfigError, match=r"\+method=NAME.*dpo.*ppo.*sft"):
        check_overrides("fit", [])


def test_fit_takes_the_method_with_or_without_a_plus():
    with_plus, without = check_overrides("fit", ["+method=ppo"]), check_overrides("fit", ["method=ppo"])
    assert with_plus.method == without.method and with_plus.method.name == "ppo"


def test_fit_plus_method_composes_exactly_as_written():
    cfg = check_overrides("fit", ["+method=ppo"])
    assert cfg.method.name == "ppo"
    assert cfg.command == "fit"


def test_unknown_method_lists_the_methods():
    expected = r"unknown method 'ppx'; did you mean 'ppo'\? choose one of: dpo, grpo, ppo, sft"
    with pytest.raises(ConfigError, match=expected):
        check_overrides("fit", ["+method=ppx"])


def test_nested_unknown_key_names_its_parent():
    with pytest.raises(ConfigError, match=r"'model.tiny' has no 'seedz'.*seed"):
        check_overrides("evaluate", ["model=tiny", "model.tiny.seedz=1"])


def test_bad_syntax_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot parse"):
        check_overrides("evaluate", ["a=b=c"])


def test_every_value_of_a_sweep_is_checked():
    check_overrides("evaluate", ["-m", "model=tiny,tiny", "seed=1,2"])
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        check_overrides("evaluate", ["-m", "seed=1,2", "model=tiny,nope"])


def test_config_groups_the_issue_asks_for_exist():
    for group in ("model", "data", "method", "trainer", "judge", "logger", "generation"):
        assert group_options(group), group
    assert set(group_options("method")) == {"sft", "dpo", "ppo", "grpo"}


def test_hydra_flags_pass_through_and_print_the_config():
    result = run_cli("fit", "+method=ppo", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "name: ppo" in result.stdout and "command: fit" in result.stdout


@pytest.mark.slow
def test_a_multirun_sweep_runs_every_job_into_its_own_folder(tmp_path, data_cache):
    result = run_cli(
        "evaluate", "-m", "seed=0,1", "data.limit_per_task=2", "generation.max_new_tokens=2", "data.tasks=[perception]",
        f"data.cache_dir={data_cache}", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        assert (tmp_path / "sweep" / job / "metrics.json").is_file(), job


def test_overriding_through_an_interpolated_node_names_the_node_to_override():
    expected = r"'data.prompts' is \$\{prompts\} in evaluate, so override prompts.perception"
    with pytest.raises(ConfigError, match=expected):
        check_overrides("evaluate", ["data.prompts.perception=x"])


@pytest.mark.parametrize("command", ["evaluate", "fit"])
def test_generation_settings_have_one_name_in_both_commands(command):
    method = ["+method=sft"] if command == "fit" else []
    assert check_overrides(command, [*method, "generation.max_new_tokens=4"]).generation.max_new_tokens == 4
    with pytest.raises(ConfigError, match=r"'evaluation.max_new_tokens'.*generation\.\*"):
        check_overrides(command, [*method, "evaluation.max_new_tokens=4"])


@pytest.mark.parametrize("override", ["+method=ppo", "method=sft", "method.max_new_tokens=4"])
def test_evaluate_takes_no_method_and_says_where_generation_settings_are(override):
    expected = r"evaluate trains nothing, so it takes no method;.*generation\.max_new_tokens"
    with pytest.raises(ConfigError, match=expected):
        check_overrides("evaluate", [override])


@pytest.fixture
def lightning_notes():
    """The records Lightning's ``rank_zero_info`` and ``rank_zero_warn`` pass; its logger's level restored after."""
    import logging

    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level, records = logger.level, []
    logger.setLevel(logging.INFO)  # as a fresh process has it: another test in this worker may have quieted it
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_cli_quiets_lightning_s_notes_but_not_its_warnings(lightning_notes):
    from lightning.pytorch.utilities.rank_zero import rank_zero_info, rank_zero_warn

    from unsafe_vlm.cli import _quiet_lightning_notes

    rank_zero_info("GPU available: False, used: False")
    assert [r.getMessage() for r in lightning_notes] == ["GPU available: False, used: False"]  # shown by default
    _quiet_lightning_notes()
    rank_zero_info("GPU available: False, used: False")
    assert len(lightning_notes) == 1
    with pytest.warns(UserWarning, match="still shown"):
        rank_zero_warn("still shown")
