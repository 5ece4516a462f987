"""The PPO benchmark's table and pass summary, from laps made up by hand."""

from __future__ import annotations

import pytest

from bench.ppo_report import COLUMNS, pass_goal, pass_summary, pooled, ratio_lines, split_rows

METHOD = {"batch_size": 4, "minibatch_size": 2, "ppo_epochs": 2}  # 2 epochs x 2 minibatches = 4 updates


def lap(*, value_passes: int = 0, total: float = 1.0) -> dict:
    passes = {
        ("generate", "default", False): 8,
        ("rollout", "default", False): 1,
        ("rollout", "reference", False): 1,
        ("update", "default", True): 4,
    }
    if value_passes:
        passes[("rollout", "value", False)] = 1
        passes[("update", "value", True)] = value_passes
    return {
        "total": total,
        "cpu": 0.5 * total,
        "seconds": {"generate": 0.2, "judge": 0.01, "rollout": 0.4, "update": 0.5, "backward": 0.2},
        "calls": {"generate": 1, "rollout": 1, "update": 1, "backward": 4},
        "passes": passes,
        "pass_seconds": {key: 0.01 * n for key, n in passes.items()},
        "images": {"generate": 4, "rollout": 4},
        "vision_seconds": {"generate": 0.001, "rollout": 0.001},
        "steps": 8,
        "tokens": 32,
        "plain_seconds": 0.16,
        "plain_steps": 8,
    }


def result(**lap_options) -> dict:
    laps = [lap(**lap_options, total=t) for t in (1.0, 1.2, 0.9)]
    return {"setup": "shared", "method": METHOD, "laps": laps, "peak_mib": 512.0}


def test_one_reference_one_policy_and_value_and_one_pass_per_update_meets_the_goal():
    goal = pass_goal(lap(), METHOD)
    assert goal == {"reference": 1, "policy_value": 1, "forwards": 4, "backwards": 4, "updates": 4, "met": True}
    assert "goal met" in pass_summary(result())
    assert "4 in rollout" in pass_summary(result())


def test_a_separate_value_pass_misses_the_goal():
    goal = pass_goal(lap(value_passes=4), METHOD)
    assert goal["policy_value"] == 2 and goal["forwards"] == 8 and not goal["met"]


def test_rows_split_the_median_iteration_and_compare_generation_with_its_floor():
    rows = split_rows(result(value_passes=4))
    assert all(len(row) == len(COLUMNS) + 1 for row in rows)
    parts = {row[1]: row for row in rows}
    generate = parts["rollout: generate"]
    assert generate[2] == "200.0" and generate[3] == "20%"  # of the median iteration, 1.0 s
    assert generate[5] == "160 tok/s" and generate[6] == "1.25x"  # 0.2 s against the floor's 0.16 s
    assert parts["floor: plain model.generate, same prompts and lengths"][5] == "200 tok/s"
    assert parts["rollout: value pass"][4] == "1" and parts["update: value forward"][4] == "4"
    # rollout 0.4 - generate 0.2 - judge 0.01 - passes (policy, reference, value: 0.03)
    assert float(parts["rollout: image features, log-probs, rewards, GAE"][2]) == pytest.approx(160.0)
    assert parts["update: backward"][4] == "4"
    iteration = parts["iteration"]
    assert iteration[5] == "4.0 prompts/s" and iteration[7] == "512"


def test_each_set_up_is_compared_with_shared_round_by_round_and_rounds_are_pooled():
    def run(setup: str, round_index: int, total: float) -> dict:
        laps = [lap(total=total + d) for d in (0.0, 0.1, -0.1)]
        return {"setup": setup, "round": round_index, "method": METHOD, "laps": laps, "peak_mib": None}

    results = [run("shared", 0, 1.0), run("frozen", 0, 1.2), run("frozen", 1, 3.0), run("shared", 1, 2.0)]
    # without generation (0.2 s of each lap): 1.0/0.8 and 2.8/1.8
    assert ratio_lines(results) == [
        "frozen / shared: iteration 1.35x (rounds: 1.20, 1.50); without generation 1.40x (rounds: 1.25, 1.56); "
        "CPU time 1.35x (rounds: 1.20, 1.50)"
    ]
    assert ratio_lines([r for r in results if r["setup"] == "frozen"]) == []
    merged = pooled(results)
    assert [r["setup"] for r in merged] == ["shared", "frozen"] and len(merged[1]["laps"]) == 6
    assert split_rows(merged[1])[-1][-1] == ""  # no peak memory when set-ups shared a process


def test_grpo_counts_its_updates_over_every_answer_of_its_groups():
    grpo = {**METHOD, "group_size": 2}  # 4 prompts x 2 answers, minibatches of 2, 2 epochs: 8 updates
    goal = pass_goal(lap(), grpo)
    assert goal["updates"] == 8 and goal["met"]
