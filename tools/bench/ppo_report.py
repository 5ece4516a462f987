"""The PPO benchmark's table: one iteration's time split, its passes, and generation against its floor.

Input: one result per set-up and round, ``{"setup", "method", "peak_mib", "laps"}`` and ``"round"``
(0 when missing), with one lap per timed iteration::

    total           seconds of the iteration (training batch start to end); cpu the process's CPU seconds
    seconds, calls  per phase: generate, judge, rollout, update, backward
    passes          {(phase, role, grad): model calls}; pass_seconds the same in seconds
    images          {phase: images encoded}; vision_seconds the same in seconds
    steps, tokens   the rollout's new tokens per row, and rows x steps
    plain_seconds   a bare ``model.generate`` of the same prompts and steps, right after;
                    plain_steps its model calls

Every time is the median over the laps; shares are of the median iteration.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

ROLES = {"default": "policy", "value": "value", "reference": "reference"}
BASELINE = "shared"  # the set-up every iteration time is compared with
COLUMNS = ["set-up", "part", "ms / iteration", "share", "model passes / iteration", "throughput",
           "time / floor"]
NUMERIC = [False, False, True, True, True, True, True, True]


def split_rows(result: dict) -> list[list[str]]:
    """Table rows (``COLUMNS`` plus peak memory) for one set-up."""
    laps, adapter = result["laps"], result["setup"]
    last = laps[-1]
    total = median(laps, lambda lap: lap["total"])

    def row(part: str, seconds: float, passes: object = "", throughput: str = "", ratio: str = "", peak: str = ""):
        return [adapter, part, f"{1000 * seconds:.1f}", f"{100 * seconds / total:.0f}%", str(passes), throughput,
                ratio, peak]

    generate = median(laps, lambda lap: lap["seconds"]["generate"])
    plain = median(laps, lambda lap: lap["plain_seconds"])
    tokens = median(laps, lambda lap: lap["tokens"] / lap["seconds"]["generate"])
    plain_tokens = median(laps, lambda lap: lap["tokens"] / lap["plain_seconds"])
    slowdown = median(laps, lambda lap: lap["seconds"]["generate"] / lap["plain_seconds"])
    rows = [
        row("rollout: generate", generate, f"{count(last, 'generate')} steps", f"{tokens:.0f} tok/s",
            f"{slowdown:.2f}x"),
        [adapter, "floor: plain model.generate, same prompts and lengths", f"{1000 * plain:.1f}", "",
         f"{last['plain_steps']} steps", f"{plain_tokens:.0f} tok/s", "1.00x", ""],
        row("rollout: judge", median(laps, lambda lap: lap["seconds"].get("judge", 0.0))),
    ]
    for role in roles(last, "rollout", grad=False):
        seconds = median(laps, lambda lap, r=role: pass_seconds(lap, "rollout", r, False))
        rows.append(row(f"rollout: {ROLES.get(role, role)} pass", seconds, count(last, "rollout", role, False)))
    rows.append(row("rollout: image features, log-probs, rewards, GAE", median(laps, rollout_rest)))
    for role in roles(last, "update", grad=True):
        seconds = median(laps, lambda lap, r=role: pass_seconds(lap, "update", r, True))
        rows.append(row(f"update: {ROLES.get(role, role)} forward", seconds, count(last, "update", role, True)))
    rows.append(row("update: backward", median(laps, lambda lap: lap["seconds"].get("backward", 0.0)),
                    last["calls"].get("backward", 0)))
    rows.append(row("update: losses, clipping, optimiser", median(laps, update_rest)))
    rows.append(row("Lightning, logging, scheduler", median(laps, lambda lap: lap["total"] - lap["seconds"]["rollout"]
                                                              - lap["seconds"]["update"])))
    prompts = int(result["method"]["batch_size"])
    peak = "" if result["peak_mib"] is None else f"{result['peak_mib']:.0f}"
    rows.append(row("iteration", total, "", f"{prompts / total:.1f} prompts/s", "", peak))
    return rows


def pass_goal(lap: dict, method: dict) -> dict:
    """The passes one iteration makes beyond generation, against the goal: at most one reference
    pass, one policy-and-value pass, and one forward and one backward per PPO epoch and minibatch."""
    answers = int(method["batch_size"]) * int(method.get("group_size", 1))  # GRPO answers each prompt a group of times
    updates = int(method["ppo_epochs"]) * math.ceil(answers / min(int(method["minibatch_size"]), answers))
    reference = count(lap, "rollout", "reference", False)
    policy_value = count(lap, "rollout", None, False) - reference
    forwards = count(lap, "update", None, True)
    backwards = lap["calls"].get("backward", 0)
    met = reference <= 1 and policy_value <= 1 and forwards <= updates and backwards <= updates
    return {"reference": reference, "policy_value": policy_value, "forwards": forwards, "backwards": backwards,
            "updates": updates, "met": met}


def pass_summary(result: dict) -> str:
    """One line per set-up: the pass counts, the goal, and where images were encoded."""
    laps = result["laps"]
    goal = pass_goal(laps[-1], result["method"])
    images = ", ".join(
        f"{n} in {phase} ({1000 * median(laps, lambda lap, p=phase: lap['vision_seconds'].get(p, 0.0)):.1f} ms)"
        for phase, n in sorted(laps[-1]["images"].items()) if phase != "plain"
    )
    return (f"{result['setup']}: beyond generation, one iteration makes {goal['reference']} reference pass, "
            f"{goal['policy_value']} policy-and-value pass(es), {goal['forwards']} forward and {goal['backwards']} "
            f"backward passes for {goal['updates']} (epoch, minibatch) updates: goal "
            f"{'met' if goal['met'] else 'missed'}. Images encoded: {images}.")


def pooled(results: list[dict]) -> list[dict]:
    """One result per set-up, in the order first run, its laps those of every round."""
    merged: dict[str, dict] = {}
    for result in results:
        if result["setup"] in merged:
            merged[result["setup"]]["laps"] = merged[result["setup"]]["laps"] + result["laps"]
        else:
            merged[result["setup"]] = dict(result)
    return list(merged.values())


def ratio_lines(results: list[dict], baseline: str = BASELINE) -> list[str]:
    """Each set-up's median iteration over the baseline's of the same round: wall time, wall time
    without generation (whose length follows what each policy has learnt to answer) and CPU time;
    the median over the rounds and every round's. Empty without the baseline."""
    rounds = sorted({result.get("round", 0) for result in results})
    by_key = {(result["setup"], result.get("round", 0)): result["laps"] for result in results}
    if not any(key[0] == baseline for key in by_key):
        return []
    lines = []
    for setup in dict.fromkeys(result["setup"] for result in results if result["setup"] != baseline):
        parts = []
        for label, value in (("iteration", lambda lap: lap["total"]),
                             ("without generation", lambda lap: lap["total"] - lap["seconds"]["generate"]),
                             ("CPU time", lambda lap: lap["cpu"])):
            ratios = [median(by_key[setup, r], value) / median(by_key[baseline, r], value) for r in rounds
                      if (setup, r) in by_key and (baseline, r) in by_key]
            each = ", ".join(f"{x:.2f}" for x in ratios)
            parts.append(f"{label} {statistics.median(ratios):.2f}x (rounds: {each})")
        lines.append(f"{setup} / {baseline}: " + "; ".join(parts))
    return lines


def rollout_rest(lap: dict) -> float:
    seconds = lap["seconds"]
    return seconds["rollout"] - seconds["generate"] - seconds.get("judge", 0.0) - pass_seconds(lap, "rollout", None,
                                                                                               False)


def update_rest(lap: dict) -> float:
    return lap["seconds"]["update"] - lap["seconds"].get("backward", 0.0) - pass_seconds(lap, "update", None, True)


def median(laps: list[dict], value: Callable[[dict], float]) -> float:
    return statistics.median(value(lap) for lap in laps)


def count(lap: dict, phase: str, role: str | None = None, grad: bool | None = None) -> int:
    return sum(n for (p, r, g), n in lap["passes"].items()
               if p == phase and (role is None or r == role) and (grad is None or g == grad))


def pass_seconds(lap: dict, phase: str, role: str | None, grad: bool) -> float:
    return sum(s for (p, r, g), s in lap["pass_seconds"].items()
               if p == phase and g == grad and (role is None or r == role))


def roles(lap: dict, phase: str, *, grad: bool) -> list[str]:
    """The roles of a phase's passes, policy first, then value, then reference, then any other."""
    order = list(ROLES)
    found = {r for (p, r, g) in lap["passes"] if p == phase and g == grad}
    return sorted(found, key=lambda r: (order.index(r) if r in order else len(order), r))
