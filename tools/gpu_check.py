"""The suite at real size on one GPU, in one command (at most 4 minutes on an 80 GB card).

On LLaVA-1.5-7B- and Qwen2.5-VL-7B-shaped models with random weights, built on the GPU in bf16
from their configs (``bench/shapes.py``; nothing is downloaded), it prints:

  - evaluation queries/s at batch 32 (collate, batched ``generate``, judge) against a bare batched
    ``model.generate`` of the same queries (processor + generate, no judge);
  - decode tokens/s at batch 1 and 32 against the card's memory-bandwidth bound (the language
    model's weights and the KV cache read once per step, at the bandwidth of a device-to-device
    copy measured here);
  - one GRPO and one PPO iteration (separate value adapter, with activation checkpointing) of the
    LLaVA-shaped model at the paper's sizes (LoRA r 128, rollout 32, minibatch 8, 4 epochs, 64
    new tokens, bf16-mixed), their time split and peak memory against ``tools/memory_estimate.py``;
  - one LoRA training step of ``python -m unsafe_vlm fit +method=sft model=tiny`` under
    ``trainer=fsdp`` and ``trainer=deepspeed`` with one device, the adapter saved and loaded back.

Then one Markdown table, ready for docs/benchmarks.md, under the card's name; ``--out FILE``
writes it there too. A check that fails prints its error and the others go on.

With ``--tiny`` it runs the same code on the conf/model tiny stand-ins (``tiny``,
``tiny_qwen2_5_vl``) at toy sizes, in well under a minute on a CPU (tests/tools/test_gpu_check.py); the
FSDP and DeepSpeed steps need a GPU and are skipped with a line saying so.

The GPU machine has torch 2.11, transformers 5.17, lightning, peft and torchmetrics but no Hydra
or DeepSpeed. Here, once: ``bash tools/gpu_wheels.sh`` (fills the ignored folder .whl/). There, from
the repository root, with carry [".whl"] and a timeout of 600 s, the one command is

    bash tools/gpu_check.sh

which installs the wheels into /tmp/site, runs this script and leaves the tables and the log in
$OUT (gpu_check.md, gpu_check.log). On a CPU:

    python tools/gpu_check.py --tiny --device cpu      # the CPU check the test runs
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from bench.table import machine_line, markdown_table, versions_line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["check", "model", "result", "against", "ratio", "peak allocated (GiB)"]
PHASES = ["generate", "judge", "rollout passes", "update forward and losses", "backward", "other"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny stand-ins at toy sizes (a CPU test)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this file")
    parser.add_argument("--skip", nargs="*", default=[], choices=["evaluation", "decode", "grpo", "ppo", "fsdp",
                                                                "deepspeed", "qwen"], help="checks to leave out")
    args = parser.parse_args()
    sizes = Sizes(args.tiny)
    report = Report(args.device, args.out)
    started = time.perf_counter()
    for name in ("LLaVA-1.5-7B", "Qwen2.5-VL-7B"):
        if not (name.startswith("Qwen") and "qwen" in args.skip):
            model_checks(name, sizes, args, report)
            free(args.device)
    for strategy in ("fsdp", "deepspeed"):
        if strategy not in args.skip:
            report.attempt(strategy, functools.partial(strategy_step, strategy, args.device, report))
    report.lines.append(f"all checks: {time.perf_counter() - started:.0f} s")
    report.save()
    print(report.text())
    sys.exit(1 if report.failures else 0)


def model_checks(name: str, sizes: Sizes, args: argparse.Namespace, report: Report) -> None:
    """Evaluation and decoding on one model; GRPO and PPO on the LLaVA-shaped one."""
    backbone = report.attempt(f"build {name}", functools.partial(build, name, args.device, args.tiny))
    if backbone is None:
        return
    label = f"{name}-shaped" + (" (tiny stand-in)" if args.tiny else "")
    if "evaluation" not in args.skip:
        report.attempt("evaluation", lambda: report.rows.append(evaluation(backbone, label, sizes, args.device)))
    if "decode" not in args.skip:
        report.attempt("decode", lambda: report.rows.extend(decode(backbone, label, sizes, args.device)))
    for method in ("grpo", "ppo") if name.startswith("LLaVA") else ():
        if method not in args.skip:
            report.attempt(method, functools.partial(iteration, backbone, method, name, label, sizes, args, report))


class Sizes:
    """The paper's sizes, or toy ones for a CPU."""

    def __init__(self, tiny: bool):
        self.tiny = tiny
        self.queries = 8 if tiny else 64
        self.batch = 4 if tiny else 32
        self.new_tokens = 8 if tiny else 64
        self.lora = {"r": 8 if tiny else 128, "alpha": 16 if tiny else 256, "dropout": 0.05, "target_modules": None}
        self.ppo = {"batch_size": 4 if tiny else 32, "minibatch_size": 2 if tiny else 8,
                    "ppo_epochs": 1 if tiny else 4, "max_new_tokens": self.new_tokens}
        self.grpo = {**self.ppo, "batch_size": self.ppo["batch_size"] // 4, "group_size": 4}


class Report:
    """Rows of the summary table, the time splits, and which checks failed; written to ``out``
    after every check, so a run cut short keeps what it measured."""

    def __init__(self, device: str, out: Path | None = None):
        self.device = device
        self.out = out
        self.rows: list[list[str]] = []
        self.splits: list[list[str]] = []
        self.lines: list[str] = []
        self.failures: list[str] = []

    def attempt(self, name: str, run):
        """``run()``'s result, or None when it raised: the error is printed and kept for the table."""
        started, result, failure = time.perf_counter(), None, None
        try:
            result = run()
        except Exception as error:  # noqa: BLE001  (one failed check must not stop the others)
            traceback.print_exc()
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            failure = f"{name}: FAILED, {type(error).__name__}: {first[:300]}"
        if failure is None:
            print(f"[gpu_check] {name}: {time.perf_counter() - started:.1f} s", flush=True)
        else:
            self.failures.append(failure)
        self.save()
        free(self.device)  # out of the except block, so a failed check's tensors are released
        return result

    def save(self) -> None:
        if self.out is not None:
            self.out.write_text(self.text() + "\n", encoding="utf-8")

    def text(self) -> str:
        card = torch.cuda.get_device_name(self.device) if self.device.startswith("cuda") else "CPU"
        parts = [f"## {card}", "", machine_line(self.device, None), versions_line(), "",
                 markdown_table(COLUMNS, self.rows, numeric=[False, False, False, False, True, True])]
        if self.splits:
            parts += ["", markdown_table(["iteration", *[f"{p} (s)" for p in PHASES], "total (s)"], self.splits,
                                         numeric=[False] + [True] * (len(PHASES) + 1))]
        parts += ["", *self.lines, *self.failures]
        return "\n".join(parts)


# ----- models ------------------------------------------------------------------------------


def build(name: str, device: str, tiny: bool):
    from bench.shapes import SHAPED, TINY

    if tiny:
        from bench.configs import model_config
        from unsafe_vlm.backbones.registry import build_backbone, model_settings

        return build_backbone(model_settings(model_config(TINY[name]))).to(device).eval()
    return SHAPED[name](device, torch.bfloat16)


def free(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: str) -> str:
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f}" if device.startswith("cuda") else ""


def timed(run, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    run()
    sync(device)
    return time.perf_counter() - start


def to_device(inputs: dict, device: str) -> dict:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}


# ----- evaluation and decoding ---------------------------------------------------------------


def evaluation(backbone, model: str, sizes: Sizes, device: str) -> list[str]:
    """Queries/s of the suite's path (collate, batched generate, judge) against processor + generate."""
    from bench.queries import benchmark_records
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.judges.rule import RuleJudge

    records = benchmark_records(sizes.queries)
    chunks = [records[i : i + sizes.batch] for i in range(0, len(records), sizes.batch)]
    collate, judge = Collator(backbone, "eval"), RuleJudge()

    def ours(batches) -> None:
        for chunk in batches:
            answers = backbone.generate(to_device(collate(chunk)["inputs"], device), max_new_tokens=sizes.new_tokens)
            judge.judge_alignment(answers.texts)

    def plain(batches) -> None:
        processor, tokenizer = backbone.processor, backbone.tokenizer
        tokenizer.padding_side = "left"
        for chunk in batches:
            texts = [backbone.prompt_text(r.question, has_image=True) for r in chunk]
            images = backbone.processor_images([r.load_image() or backbone.blank_image() for r in chunk])
            inputs = processor(text=texts, images=images, padding=True, return_tensors="pt").to(device)
            with torch.no_grad():
                output = backbone.model.generate(**inputs, max_new_tokens=sizes.new_tokens, do_sample=False,
                                                 pad_token_id=tokenizer.pad_token_id,
                                                 eos_token_id=backbone.stop_token_ids)
            tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    ours(chunks[:1])  # warm-up: kernels, allocator
    plain(chunks[:1])
    reset_peak(device)
    ours_rate = len(records) / timed(lambda: ours(chunks), device)
    peak = peak_gib(device)
    plain_rate = len(records) / timed(lambda: plain(chunks), device)
    return [f"evaluation, batch {sizes.batch}, {sizes.new_tokens} new tokens max, greedy", model,
            f"{ours_rate:.2f} queries/s", f"{plain_rate:.2f} queries/s (bare batched generate)",
            f"{ours_rate / plain_rate:.2f}", peak]


def copy_bandwidth(device: str) -> float:
    """Bytes/s of a device-to-device copy, bytes read plus written (median of 5 after a warm-up)."""
    size = (2**30 if device.startswith("cuda") else 2**26) // 4
    source = torch.randn(size, device=device)
    target = torch.empty_like(source)
    target.copy_(source)
    seconds = statistics.median(timed(lambda: target.copy_(source), device) for _ in range(5))
    return 2 * source.numel() * source.element_size() / seconds


def decode(backbone, model: str, sizes: Sizes, device: str) -> list[list[str]]:
    """Decode tokens/s (generate N tokens minus generate 1, forced lengths) against the bound: each
    step reads the language model's weights and the KV cache once at the copy bandwidth."""
    from bench.passes import vision_tower

    vision = vision_tower(backbone.model)
    vision_ids = {id(p) for p in vision.parameters()} if vision is not None else set()
    weight_bytes = sum(p.numel() * p.element_size() for p in backbone.model.parameters() if id(p) not in vision_ids)
    text = backbone.model.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    bandwidth = copy_bandwidth(device)
    rows = []
    for batch in (1, sizes.batch):
        inputs = to_device(backbone.encode(["Describe the image."] * batch, [None] * batch), device)
        prompt = inputs["input_ids"].shape[1]

        def generate(steps: int, inputs=inputs) -> None:
            with torch.no_grad():
                backbone.model.generate(**backbone.model_kwargs(inputs), min_new_tokens=steps, max_new_tokens=steps,
                                        do_sample=False, pad_token_id=backbone.tokenizer.pad_token_id)

        generate(2)
        reset_peak(device)
        seconds = timed(lambda: generate(sizes.new_tokens), device) - timed(lambda: generate(1), device)
        rate = batch * (sizes.new_tokens - 1) / seconds
        context = prompt + sizes.new_tokens / 2
        kv_bytes = 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * 2 * batch * context
        bound = batch * bandwidth / (weight_bytes + kv_bytes)
        rows.append([f"decode, batch {batch}, prompt {prompt} tokens", model, f"{rate:.0f} tokens/s",
                     f"{bound:.0f} tokens/s bound ({(weight_bytes + kv_bytes) / 1e9:.1f} GB a step at "
                     f"{bandwidth / 1e12:.2f} TB/s copy)", f"{rate / bound:.2f}", peak_gib(device)])
    return rows


# ----- one PPO or GRPO iteration -------------------------------------------------------------


def iteration(backbone, method_name: str, model_name: str, label: str, sizes: Sizes, args, report: Report) -> None:
    """One on-policy iteration of the suite's module under a Lightning trainer, phases timed as
    tools/bench_ppo.py times them; PPO runs with activation checkpointing, GRPO without."""
    import lightning as L

    from bench.configs import method_settings, model_config
    from bench.memory_model import MODELS, Setup, estimate, setups
    from bench.passes import PassCounter
    from bench.phases import PhaseTimer
    from bench_ppo import LapLog, training_records
    from unsafe_vlm.backbones.lora import LoraSettings
    from unsafe_vlm.backbones.registry import checkpoint_activations
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.judges.rule import RuleJudge
    from unsafe_vlm.methods.registry import method_class

    device = args.device
    checkpointing = method_name == "ppo"
    if checkpointing:
        checkpoint_activations(backbone.model)
    changes = dict(sizes.grpo if method_name == "grpo" else {**sizes.ppo, "value_adapter": "separate"})
    method = method_settings(method_name, model_config("tiny" if args.tiny else "llava15_7b"), **changes)
    module_class = method_class(method_name)
    settings = module_class.settings_class.from_config(method, "method")
    lora = LoraSettings.from_config(sizes.lora, "model.lora")
    module = module_class(backbone, settings, lora, judge=RuleJudge())

    synchronise = (lambda: sync(device)) if device.startswith("cuda") else None
    counter = PassCounter(backbone.model)  # no sync at every pass: generation would pay for one a token
    timer = PhaseTimer(counter, sync=synchronise)
    for owner, attribute, phase in ((backbone, "generate", "generate"), (module.judge, "judge_alignment", "judge"),
                                    (module, "collect_rollout", "rollout"), (module, "update", "update"),
                                    (module, "_backward", "backward")):
        if hasattr(owner, attribute):
            timer.wrap(owner, attribute, phase)
    prompts = int(method["batch_size"])
    loader = torch.utils.data.DataLoader(training_records("ppo", prompts), batch_size=prompts,
                                         collate_fn=Collator(backbone, "ppo"))
    laps = LapLog(timer, counter, synchronise)
    trainer = L.Trainer(accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1, max_epochs=1,
                        precision="bf16-mixed" if device.startswith("cuda") else "32-true", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[laps.callback()])
    reset_peak(device)
    try:
        trainer.fit(module, train_dataloaders=loader)
    finally:
        counter.remove()
        vars(backbone).pop("generate", None)  # the timer's wrapper
        if hasattr(backbone.model, "unload"):  # the next check starts from the base model again
            backbone.model = backbone.model.unload()
        if checkpointing:
            disable = getattr(backbone.model, "activation_checkpointing_disable", None)
            (disable or backbone.model.gradient_checkpointing_disable)()
    lap = laps.laps[-1]
    seconds = lap["seconds"]
    generate, judge = seconds.get("generate", 0.0), seconds.get("judge", 0.0)
    backward = seconds.get("backward", 0.0)
    split = [generate, judge, seconds["rollout"] - generate - judge, seconds["update"] - backward, backward,
             lap["total"] - seconds["rollout"] - seconds["update"]]
    name = {"grpo": "GRPO", "ppo": "PPO, separate value adapter"}[method_name]
    title = (f"{name}{', checkpointing' if checkpointing else ''}: {prompts} prompts"
             f"{' x ' + str(method['group_size']) if 'group_size' in method else ''}, minibatch "
             f"{method['minibatch_size']}, {method['ppo_epochs']} epochs, {method['max_new_tokens']} new tokens")
    report.splits.append([f"{title} ({label})", *[f"{s:.2f}" for s in split], f"{lap['total']:.2f}"])
    against = ""
    if not args.tiny and model_name in {m.name for m in MODELS.values()}:
        shape = next(m for m in MODELS.values() if m.name == model_name)
        setup = next(s for s in setups(shape.text) if s.name == name) if method_name == "ppo" else Setup("GRPO", "grpo")
        against = f"estimate {estimate(shape, setup, checkpointing=checkpointing).peak / 2**30:.1f} GiB"
    report.rows.append([title, label, f"{lap['total']:.1f} s an iteration", against, "", peak_gib(device)])


# ----- FSDP and DeepSpeed ------------------------------------------------------------------


def strategy_step(strategy: str, device: str, report: Report) -> None:
    """One SFT step of ``fit`` on the tiny model under conf/trainer/<strategy>.yaml with one device,
    then the adapter it saved loaded back onto a fresh tiny backbone."""
    if not device.startswith("cuda"):
        why = "Lightning's FSDP refuses a CPU" if strategy == "fsdp" else "DeepSpeed's ZeRO needs CUDA"
        report.lines.append(f"{strategy}: skipped, no GPU here ({why})")
        return
    from omegaconf import OmegaConf

    from bench.configs import model_config
    from unsafe_vlm.backbones.registry import build_backbone, model_settings

    work = Path(tempfile.mkdtemp(prefix=f"gpu_check_{strategy}_"))
    command = [sys.executable, "-m", "unsafe_vlm", "fit", "+method=sft", "model=tiny", f"trainer={strategy}",
               "trainer.devices=1", "trainer.max_steps=1", "evaluate_before=false", "evaluate_after=false",
               "data=synthetic", "data.limit_per_task=8",
               "data.tasks=[perception,alignment_image,alignment_text,alignment_test]",
               f"data.cache_dir={work / 'data'}", f"hydra.run.dir={work / 'run'}", "method.batch_size=2"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-6000:], sep="\n")
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"fit under trainer={strategy} exited {result.returncode}: {last}")
    cfg = model_config("tiny")
    cfg.adapter = str(work / "run" / "adapter")
    loaded = build_backbone(model_settings(OmegaConf.create(OmegaConf.to_container(cfg))))
    trained = [n for n, p in loaded.model.named_parameters() if "lora_B" in n and p.abs().sum() > 0]
    if not trained:
        raise RuntimeError(f"the adapter saved under trainer={strategy} loaded back with every lora_B zero")
    report.rows.append([f"one LoRA step of fit +method=sft under trainer={strategy}, 1 device", "tiny",
                        f"ok in {seconds:.0f} s: adapter saved, loaded back ({len(trained)} trained lora_B)", "",
                        "", ""])


if __name__ == "__main__":
    main()
