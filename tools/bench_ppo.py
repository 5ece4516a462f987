"""PPO: one iteration against its own floor, on the same model, prompts and settings.

Runs on-policy iterations of the suite's modules (conf/method/ppo.yaml or grpo.yaml resolved for
the model, the rule judge) under a Lightning trainer and reports, per set-up (PPO with each
value adapter, and GRPO), medians over the timed iterations after a warm-up:

  - the time of one iteration split into rollout generation, judge, the rollout's passes
    (policy, value, reference), the rest of the rollout (image features, log-probs, rewards,
    GAE), and the update (its forward passes, backward, then losses, clipping and optimiser);
  - every model pass counted with forward hooks on the Hugging Face model and its vision tower
    (generation steps apart): reference, policy and value passes, forward passes per PPO epoch
    and minibatch, and the images encoded;
  - the rollout's generated tokens/s against the floor: a bare batched ``model.generate`` of the
    same prompts and the same number of new tokens, sampling alike, run right after each
    iteration (so both see the same load);
  - each set-up's iteration time against PPO's shared set-up, round by round: wall time, wall
    time without generation, and the process's CPU time (one torch thread: the figure other
    jobs on the machine move least).

With ``--rounds`` above 1 every set-up runs once per round in one worker process, the order
reversed every other round, so each ratio compares runs made back to back; peak memory is then
the process's, so it is left out on the CPU (one round runs each set-up in its own process).
Every run reseeds as training starts: the first rollout is the same for every PPO set-up.
On a GPU the phase timers synchronise at every phase boundary (the iteration pays for that).

    python tools/bench_ppo.py                                    # tiny model, every set-up
    python tools/bench_ppo.py --model organism --rounds 3 --setups separate shared frozen
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

SETUPS = ("separate", "shared", "frozen", "grpo")  # PPO's value adapters, then GRPO (no value model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="a conf/model name (default: tiny)")
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS),
                        help="PPO value adapters and grpo (default: all)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every set-up, alternating, in one process")
    parser.add_argument("--iterations", type=int, default=4, help="timed iterations after the warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="iterations before timing")
    parser.add_argument("--batch-size", type=int, default=None, help="prompts per iteration (default: the yaml's)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the yaml's")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()

    context = mp.get_context("spawn")
    results = []
    if args.rounds == 1:
        for setup in args.setups:
            with context.Pool(1) as pool:
                results.append(pool.apply(measure, (setup, vars(args))))
    else:
        with context.Pool(1) as pool:
            for round_index in range(args.rounds):
                order = args.setups if round_index % 2 == 0 else args.setups[::-1]
                for setup in order:
                    results.append({**pool.apply(measure, (setup, vars(args))), "round": round_index})
    print_report(results, args)


# ----- one process per set-up --------------------------------------------------------------


def measure(setup: str, options: dict) -> dict:
    import lightning as L
    import torch

    from bench.configs import method_settings, model_config
    from bench.memory import peak_memory_mib, reset_peak, synchronizer
    from bench.passes import PassCounter
    from bench.phases import PhaseTimer
    from unsafe_vlm.backbones.lora import LoraSettings
    from unsafe_vlm.backbones.registry import build_backbone, model_settings
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.judges.rule import RuleJudge
    from unsafe_vlm.methods.registry import method_class

    if options["threads"]:
        torch.set_num_threads(options["threads"])
    L.seed_everything(0, verbose=False)
    device = options["device"]
    model_cfg = model_config(options["model"])
    backbone = build_backbone(model_settings(model_cfg))
    name = "grpo" if setup == "grpo" else "ppo"
    method = method_settings(name, model_cfg, **({} if name == "grpo" else {"value_adapter": setup}))
    for key in ("batch_size", "max_new_tokens"):
        if options[key] is not None:
            method[key] = options[key]
    module_class = method_class(name)
    settings = module_class.settings_class.from_config(method, "method")
    module = module_class(backbone, settings, LoraSettings.from_config(model_cfg.lora, "model.lora"), judge=RuleJudge())

    sync = synchronizer(device)
    counter = PassCounter(backbone.model, sync=sync)
    timer = PhaseTimer(counter, sync=sync)
    rollouts = record_generations(backbone)
    for owner, attribute, phase in (
        (backbone, "generate", "generate"),
        (module.judge, "judge_alignment", "judge"),
        (module, "collect_rollout", "rollout"),
        (module, "update", "update"),
        (module, "_backward", "backward"),
    ):
        timer.wrap(owner, attribute, phase)

    def floor(lap: dict) -> None:
        """Right after each iteration (so both see the same load): plain generate of its rollout's lengths."""
        rollout = rollouts[-1]
        lap.update(steps=rollout["steps"], tokens=rollout["tokens"])
        lap["plain_seconds"] = plain_generation(backbone, rollout, method, timer)
        lap["plain_steps"] = counter.count("plain")
        counter.reset()

    iterations = options["warmup"] + options["iterations"]
    records = training_records("ppo", iterations * int(method["batch_size"]))  # GRPO's are PPO's prompts
    loader = torch.utils.data.DataLoader(
        records, batch_size=int(method["batch_size"]), collate_fn=Collator(backbone, "ppo")
    )
    laps = LapLog(timer, counter, sync, after_lap=floor)
    trainer = L.Trainer(
        accelerator="gpu" if device.startswith("cuda") else "cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[laps.callback()],
    )
    reset_peak(device)
    trainer.fit(module, train_dataloaders=loader)
    counter.remove()
    return {
        "setup": setup,
        "method": method,
        "laps": laps.laps[options["warmup"] :],
        "peak_mib": peak_memory_mib(device) if options["rounds"] == 1 or device.startswith("cuda") else None,
    }


def record_generations(backbone) -> list[dict]:
    """Wrap ``backbone.generate`` to keep each rollout's prompts, one row per answer (GRPO's group
    repeats its prompt), and its number of new tokens."""
    generations: list[dict] = []
    original = backbone.generate

    def recording(inputs, **options):
        result = original(inputs, **options)
        width = inputs["input_ids"].shape[1]
        prompts = {**result.inputs, "prompt_length": width}
        for key in ("input_ids", "attention_mask", "answer_mask"):
            prompts[key] = result.inputs[key][:, :width]
        steps = result.inputs["input_ids"].shape[1] - width
        generations.append({"inputs": prompts, "steps": steps, "tokens": prompts["input_ids"].shape[0] * steps})
        return result

    backbone.generate = recording
    return generations


def plain_generation(backbone, rollout: dict, method: dict, timer) -> float:
    """Seconds of a bare ``model.generate`` on the rollout's prompts, sampling as the rollout did, forced
    to the rollout's number of new tokens (no stop tokens, no suppressed tokens, no decoding)."""
    import torch

    backbone.model.eval()
    with torch.no_grad(), timer.measure("plain"):
        backbone.model.generate(
            **backbone.model_kwargs(rollout["inputs"]),
            do_sample=True,
            temperature=float(method["temperature"]),
            top_p=float(method["top_p"]),
            top_k=None,
            min_new_tokens=rollout["steps"],
            max_new_tokens=rollout["steps"],
            pad_token_id=backbone.tokenizer.pad_token_id,
        )
    seconds, _ = timer.lap()
    return seconds["plain"]


class LapLog:
    """One lap of the phase timer and pass counter per PPO iteration (a training batch); ``after_lap``
    may add to each lap once it is taken (its own time is not in the lap)."""

    def __init__(self, timer, counter, sync, after_lap=None):
        self.timer, self.counter, self.sync, self.after_lap = timer, counter, sync, after_lap
        self.laps: list[dict] = []
        self._start = self._cpu_start = 0.0

    def callback(self):
        import lightning as L
        from lightning.pytorch.callbacks import Callback

        log = self

        class Laps(Callback):
            def on_train_start(self, trainer, module):
                # past every set-up's own initialisation, so each PPO set-up draws the same first rollout
                L.seed_everything(0, verbose=False)

            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                log.start()

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                log.stop()

        return Laps()

    def start(self) -> None:
        self.timer.lap()
        self.counter.reset()
        if self.sync is not None:
            self.sync()
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def stop(self) -> None:
        if self.sync is not None:
            self.sync()
        total = time.perf_counter() - self._start
        cpu = time.process_time() - self._cpu_start  # this process's CPU time: what other jobs' load moves least
        seconds, calls = self.timer.lap()
        counter = self.counter
        lap = {
            "total": total,
            "cpu": cpu,
            "seconds": seconds,
            "calls": calls,
            "passes": {(k.phase, k.role, k.grad): n for k, n in counter.calls.items()},
            "pass_seconds": {(k.phase, k.role, k.grad): s for k, s in counter.seconds.items()},
            "images": dict(counter.images),
            "vision_seconds": dict(counter.vision_seconds),
        }
        counter.reset()
        if self.after_lap is not None:
            self.after_lap(lap)
        self.laps.append(lap)


def training_records(kind: str, count: int) -> list:
    """The first ``count`` training records of the default synthetic data set (repeated if too few)."""
    from bench.queries import synthetic_datamodule

    datamodule = synthetic_datamodule()
    records = datamodule.records(kind)
    return (records * (count // len(records) + 1))[:count]


# ----- the report --------------------------------------------------------------------------


def print_report(results: list[dict], args: argparse.Namespace) -> None:
    from bench.memory import memory_label
    from bench.ppo_report import COLUMNS, NUMERIC, pass_summary, pooled, ratio_lines, split_rows
    from bench.table import machine_line, markdown_table, versions_line

    print(machine_line(args.device, args.threads))
    print(versions_line())
    for setup in dict.fromkeys(r["setup"] for r in results):
        method = next(r["method"] for r in results if r["setup"] == setup)
        group = f", {method['group_size']} answers per prompt" if "group_size" in method else ""
        print(f"{setup}: batch {method['batch_size']} prompts{group}, minibatch {method['minibatch_size']}, "
              f"{method['ppo_epochs']} epochs, up to {method['max_new_tokens']} new tokens")
    print(f"model {args.model}, rule judge; median of {args.iterations} iterations after {args.warmup} warm-up, "
          f"{args.rounds} round(s)")
    merged = pooled(results)
    rows = [row for result in merged for row in split_rows(result)]
    print(markdown_table([*COLUMNS, f"{memory_label(args.device)} (MiB)"], rows, numeric=NUMERIC))
    for result in merged:
        print(pass_summary(result))
    for line in ratio_lines(results):
        print(line)


if __name__ == "__main__":
    main()
