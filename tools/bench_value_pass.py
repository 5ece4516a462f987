"""PPO's value pass: one iteration's model work beyond generation, per value adapter, on one rollout.

``bench_ppo.py`` times whole iterations, run by run; on a machine other jobs load, its ratios
move with the load between runs, and the policies (so the answers) of the set-ups part after the
first iteration. Here every set-up gets the same sampled rollout (the policies all start as the
base, and sampling is seeded alike), and the work is timed set-up after set-up within each
repeat, the order reversed every other repeat:

  - the rollout's passes (policy, value, reference; ``rollout_passes``), without gradients;
  - ``ppo_epochs`` passes over its minibatches: the loss and its backward (no optimiser step).

Beside ``separate``, ``shared`` and ``frozen``, ``two-rows`` is ``shared``'s work on the
rollout stacked twice (2B rows per pass, minibatches twice as large): what one call over both
adapters' rows, the other way to run the separate value model, computes (give or take the
output layer over the value's rows). Ratios are taken within a repeat, then the median.

    python tools/bench_value_pass.py --model organism --repeats 13
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

SETUPS = ("separate", "shared", "frozen", "two-rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="a conf/model name (default: tiny)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from bench.table import machine_line, markdown_table, versions_line

    if args.threads:
        torch.set_num_threads(args.threads)
    work = {setup: prepared(setup, args.model) for setup in SETUPS}
    wall: dict[str, list[float]] = {setup: [] for setup in SETUPS}
    cpu: dict[str, list[float]] = {setup: [] for setup in SETUPS}
    for repeat in range(1 + args.repeats):
        for setup in SETUPS if repeat % 2 == 0 else SETUPS[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            work[setup]()
            if repeat:
                wall[setup].append(time.perf_counter() - start)
                cpu[setup].append(time.process_time() - start_cpu)

    print(machine_line("cpu", args.threads))
    print(versions_line())
    print(f"model {args.model}, conf/method/ppo.yaml with the model's tuning; median of {args.repeats} repeats")
    rows = []
    for setup in SETUPS:
        ratios = [[a / b for a, b in zip(times[setup], times["shared"], strict=True)] for times in (wall, cpu)]
        medians = (f"{1000 * statistics.median(times[setup]):.0f}" for times in (wall, cpu))
        rows.append([setup, *medians, *(f"{statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})" for r in ratios)])
    columns = ["set-up", "wall ms", "CPU ms", "wall x shared (range)", "CPU x shared (range)"]
    print(markdown_table(columns, rows, numeric=[False, True, True, True, True]))


def prepared(setup: str, model: str):
    """A function doing one iteration's model work beyond generation for ``setup``, its rollout sampled now."""
    import lightning as L
    import torch

    from bench.configs import method_settings, model_config
    from bench_ppo import training_records
    from unsafe_vlm.backbones.lora import LoraSettings
    from unsafe_vlm.backbones.registry import build_backbone, model_settings
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.judges.rule import RuleJudge
    from unsafe_vlm.methods.ppo import PPOModule, PPOSettings

    L.seed_everything(0, verbose=False)
    cfg = model_config(model)
    backbone = build_backbone(model_settings(cfg))
    method = method_settings("ppo", cfg, value_adapter="shared" if setup == "two-rows" else setup)
    lora = LoraSettings.from_config(cfg.lora, "model.lora")
    module = PPOModule(backbone, PPOSettings.from_config(method, "method"), lora, judge=RuleJudge())
    module.configure_model()
    batch = Collator(backbone, "ppo")(training_records("ppo", int(method["batch_size"])))
    torch.manual_seed(1)  # the same answers for every set-up
    rollout = module.collect_rollout(batch["inputs"], [r.gold for r in batch["records"]])
    minibatch = int(method["minibatch_size"])
    if setup == "two-rows":
        rollout, minibatch = stacked_twice(rollout, backbone), 2 * minibatch

    def work() -> None:
        backbone.eval()
        with torch.no_grad():
            module.rollout_passes(rollout.inputs)
        backbone.train()
        for _ in range(int(method["ppo_epochs"])):
            for rows in torch.randperm(rollout.size).split(minibatch):
                loss, _ = module.minibatch_loss(rollout, rows)
                loss.backward()
                module.zero_grad(set_to_none=True)

    return work


def stacked_twice(rollout, backbone):
    import torch

    rows = torch.arange(rollout.size).repeat(2)
    fields = {f.name: getattr(rollout, f.name) for f in dataclasses.fields(rollout)}
    stacked = {name: value[rows] if torch.is_tensor(value) else value for name, value in fields.items()}
    return dataclasses.replace(rollout, **{**stacked, "inputs": backbone.select_rows(rollout.inputs, rows)})


if __name__ == "__main__":
    main()
