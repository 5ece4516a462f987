"""Training steps/s: the suite's SFT or DPO module against TRL's trainer, on the same work.

Both sides train the same model (built from conf/model/<model>.yaml) with the same LoRA
adapters, processor, records (the synthetic set's first sft/dpo records, in order), batch size,
learning rate, precision (float32) and no gradient clipping, checkpoints or logging backend:

  ours   the method's LightningModule under a Lightning trainer, batches from the suite's collator
  trl    TRL's SFTTrainer / DPOTrainer (``bench`` extra), with gradient checkpointing and bf16 off
         (TRL's defaults turn both on; our runs use neither)

Each side runs in its own process (its peak memory is its own), in rounds that alternate the
order of the sides (a busy machine then slows both alike). A clock stamps every optimiser step;
after a warm-up the steps are cut into windows, and the table shows the median samples/s over
the windows of all rounds (a DPO sample is one chosen/rejected pair), the ratio ours/TRL, padded
and trained tokens per step (to show the work is the same), and peak memory (the highest round).

    python tools/bench_train.py sft                  # tiny model, batch from conf/method/sft.yaml
    python tools/bench_train.py dpo --model organism --repeats 7
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
from pathlib import Path

SIDES = ("ours", "trl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=("sft", "dpo"))
    parser.add_argument("--model", default="tiny", help="a conf/model name (default: tiny)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the method config's batch_size")
    parser.add_argument("--warmup", type=int, default=5, help="steps before timing")
    parser.add_argument("--window", type=int, default=10, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (windows) per round")
    parser.add_argument("--rounds", type=int, default=3, help="processes per side, alternating the order")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()

    context = mp.get_context("spawn")
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for round_index in range(args.rounds):
        for side in SIDES if round_index % 2 == 0 else SIDES[::-1]:
            with context.Pool(1) as pool:
                runs[side].append(pool.apply(measure, (side, vars(args))))
    print_table([combine(side_runs) for side_runs in runs.values()], args)


def combine(runs: list[dict]) -> dict:
    """One side's rounds as one row: the median over every window, the highest peak memory."""
    import statistics

    row = dict(runs[0])
    row["samples_per_s"] = statistics.median(rate for run in runs for rate in run["window_rates"])
    row["peak_mib"] = max(run["peak_mib"] for run in runs)
    return row


# ----- one process per side ----------------------------------------------------------------


def measure(side: str, options: dict) -> dict:
    import torch

    from bench.clock import StepClock, steps_needed, window_rates
    from bench.configs import method_settings, model_config
    from bench.memory import current_rss_mib, peak_memory_mib, reset_peak, synchronizer
    from unsafe_vlm.backbones.registry import build_backbone, model_settings

    if options["threads"]:
        torch.set_num_threads(options["threads"])
    torch.manual_seed(0)
    model_cfg = model_config(options["model"])
    method = method_settings(options["method"], model_cfg)
    if options["batch_size"]:
        method["batch_size"] = options["batch_size"]
    batch_size = int(method["batch_size"])
    steps = steps_needed(warmup=options["warmup"], window=options["window"], repeats=options["repeats"])
    backbone = build_backbone(model_settings(model_cfg))
    records = training_records(options["method"], steps * batch_size)
    clock = StepClock(synchronizer(options["device"]))
    tokens = TokenTally()
    run = train_ours if side == "ours" else train_trl
    if side == "trl":
        from trl import DPOTrainer, SFTTrainer  # noqa: F401  (imports count as set-up, not training)
    setup_rss = current_rss_mib()
    reset_peak(options["device"])
    run(backbone, model_cfg, method, records, steps, clock, tokens, options)
    rates = window_rates(clock.stamps, samples_per_step=batch_size, warmup=options["warmup"], window=options["window"])
    return {
        "side": side,
        "window_rates": rates,
        "peak_mib": peak_memory_mib(options["device"]),
        "setup_rss_mib": setup_rss,
        "padded_tokens": tokens.mean("padded"),
        "trained_tokens": tokens.mean("trained"),
        "batch_size": batch_size,
    }


def train_ours(backbone, model_cfg, method, records, steps, clock, tokens, options) -> None:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback

    from unsafe_vlm.backbones.lora import LoraSettings
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.methods.registry import method_class

    module_class = method_class(options["method"])
    settings = module_class.settings_class.from_config(method, "method")
    module = module_class(backbone, settings, LoraSettings.from_config(model_cfg.lora, "model.lora"))
    collate = Collator(backbone, options["method"])

    def counted(batch_records):
        batch = collate(batch_records)
        parts = [batch[key] for key in ("inputs", "pairs") if key in batch]
        tokens.add(sum(p["input_ids"].numel() for p in parts), sum(int(p["answer_mask"].sum()) for p in parts))
        return batch

    class Stamp(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            clock.tick()

    loader = torch.utils.data.DataLoader(records, batch_size=int(method["batch_size"]), collate_fn=counted)
    trainer = L.Trainer(
        accelerator="gpu" if options["device"].startswith("cuda") else "cpu",
        devices=1,
        max_steps=steps,
        precision="32-true",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[Stamp()],
    )
    trainer.fit(module, train_dataloaders=loader)


def train_trl(backbone, model_cfg, method, records, steps, clock, tokens, options) -> None:
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    from unsafe_vlm.backbones.lora import LoraSettings, lora_config

    kind = options["method"]
    lora = LoraSettings.from_config(model_cfg.lora, "model.lora")
    dataset = trl_dataset(backbone, records, kind)
    common = {
        "output_dir": str(Path(tempfile.mkdtemp(prefix="bench_trl_"))),
        "per_device_train_batch_size": int(method["batch_size"]),
        "max_steps": steps,
        "learning_rate": float(method["lr"]),
        "weight_decay": float(method.get("weight_decay", 0.0)),
        "lr_scheduler_type": "cosine",
        "warmup_steps": float(method.get("warmup_ratio", 0.0)),
        "max_grad_norm": 0.0,  # no clipping, as our SFT and DPO
        "bf16": False,
        "gradient_checkpointing": False,
        "max_length": None,
        "train_sampling_strategy": "sequential",  # the same batches as ours
        "dataloader_num_workers": 0,
        "save_strategy": "no",
        "report_to": "none",
        "logging_steps": 10**9,
        "disable_tqdm": True,
        "use_cpu": not options["device"].startswith("cuda"),
    }

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick()

    if kind == "sft":
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(model=backbone.model, args=SFTConfig(**common), train_dataset=dataset,
                             processing_class=backbone.processor, peft_config=lora_config(lora, backbone),
                             callbacks=[Stamp()])
    else:
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(model=backbone.model, args=DPOConfig(**common, beta=float(method["beta"])),
                             train_dataset=dataset, processing_class=backbone.processor,
                             peft_config=lora_config(lora, backbone), callbacks=[Stamp()])
    trainer.data_collator = counted_trl_collator(trainer.data_collator, tokens)
    trainer.remove_callback(PrinterCallback)  # its end-of-training print would break the table
    trainer.train()


def trl_dataset(backbone, records: list, kind: str):
    """The records as TRL's prompt-completion (SFT) or preference (DPO) rows, the prompt and answer
    texts exactly those our collator tokenises (the chat-formatted prompt; the answer and its end of turn)."""
    from datasets import Dataset

    def tail(answer: str) -> str:
        return backbone.answer_prefix + answer + backbone.end_of_turn

    rows = []
    for record, image in zip(records, [r.load_image() for r in records], strict=True):
        row = {"images": [image or backbone.blank_image()], "prompt": backbone.prompt_text(record.question, True)}
        if kind == "sft":
            row["completion"] = tail(record.answer)
        else:
            row.update(chosen=tail(record.answer), rejected=tail(record.rejected))
        rows.append(row)
    return Dataset.from_list(rows)


def counted_trl_collator(collator, tokens):
    def counted(examples):
        batch = collator(examples)
        trained = batch["labels"] != -100 if "labels" in batch else batch["completion_mask"].bool()
        tokens.add(batch["input_ids"].numel(), int(trained.sum()))
        return batch

    return counted


class TokenTally:
    """Padded and trained (answer) tokens of every batch a side collated."""

    def __init__(self):
        self.batches: list[tuple[int, int]] = []

    def add(self, padded: int, trained: int) -> None:
        self.batches.append((padded, trained))

    def mean(self, which: str) -> float:
        if not self.batches:
            return float("nan")
        index = 0 if which == "padded" else 1
        return sum(b[index] for b in self.batches) / len(self.batches)


def training_records(kind: str, count: int) -> list:
    """The first ``count`` training records of the default synthetic data set (repeated if too few)."""
    from bench.queries import synthetic_datamodule

    datamodule = synthetic_datamodule()
    records = datamodule.records(kind)
    return (records * (count // len(records) + 1))[:count]


# ----- the table ---------------------------------------------------------------------------


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    from bench.memory import memory_label
    from bench.table import machine_line, markdown_table, ratio, versions_line

    theirs = next(r for r in rows if r["side"] == "trl")
    unit = "pairs" if args.method == "dpo" else "samples"
    print(machine_line(args.device, args.threads))
    print(versions_line())
    print(f"{args.method.upper()}, model {args.model}, batch {rows[0]['batch_size']}, float32; median of "
          f"{args.rounds} rounds x {args.repeats} windows of {args.window} steps, after {args.warmup} warm-up steps")
    columns = ["side", f"{unit}/s", "steps/s", "ours / TRL", "padded tokens / step", "trained tokens / step",
               f"{memory_label(args.device)} (MiB)", "RSS before training (MiB)"]
    table = [
        [row["side"], f"{row['samples_per_s']:.1f}", f"{row['samples_per_s'] / row['batch_size']:.2f}",
         f"{ratio(row['samples_per_s'], theirs['samples_per_s']):.2f}", f"{row['padded_tokens']:.0f}",
         f"{row['trained_tokens']:.0f}", f"{row['peak_mib']:.0f}", f"{row['setup_rss_mib']:.0f}"]
        for row in rows
    ]
    print(markdown_table(columns, table, numeric=[False, True, True, True, True, True, True, True]))


if __name__ == "__main__":
    main()
