"""Evaluation throughput: the suite's batched pipeline against a one-query-at-a-time loop.

The paper's code asks a VLM one query at a time. This measures, on the same model and the same
queries, greedy decoding, the same number of new tokens:

  ours        the suite's path: DataLoader + backbone collation, batched generate, judge
  shared      ours with each image's features computed once per evaluation and reused by every later
              question about it (``ImageFeatureCache``); its greedy answers must equal ours
  per-query   the same steps for one query at a time (what the paper's code does)
  plain       processor + ``model.generate`` batched by hand (no judging): a floor

With ``--tasks`` the queries are those tasks' questions about the same images, task after task
in batches of one task, as ``evaluate`` asks them; ``--set`` changes the model's config (a tiny
LLaVA whose image takes 576 tokens, as LLaVA-1.5's: ``--set tiny.image_size=336 tiny.patch_size=14``).
Each variant runs in its own process (so its peak memory is its own; ours and shared share one,
taking turns), warms up once, then times several repeats; the table shows the median queries/s,
the ratio to the per-query loop, and peak RSS (CPU) or peak allocated memory (GPU).

    python tools/bench_eval.py                       # tiny model, 64 queries, batch 16, CPU
    python tools/bench_eval.py --model organism --queries 128 --batch-size 32 --device cuda
    python tools/bench_eval.py --tasks perception,alignment_image,context_image --variants ours,shared \
        --set tiny.image_size=336 tiny.patch_size=14 blank_image_size=336
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import statistics
import sys
import time

VARIANTS = ("ours", "shared", "per-query", "plain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="a conf/model name (default: tiny)")
    parser.add_argument("--queries", type=int, default=64, help="images of the alignment_image queries to ask about")
    parser.add_argument("--tasks", default="alignment_image", help="comma-separated tasks asked of each image")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants to run")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="model config changes")
    parser.add_argument("--cache-mib", type=int, default=1024, help="the shared variant's data.image_cache_mib")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats after one warm-up")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {unknown[0]!r}; choose from {', '.join(VARIANTS)}")

    context = mp.get_context("spawn")
    rows = []
    for group in _groups(variants):
        with context.Pool(1) as pool:
            rows += pool.apply(measure, (group, vars(args)))
    print_table(rows, args)
    answers = {row["variant"]: row["texts"] for row in rows if row["texts"] is not None}
    if "ours" in answers and "shared" in answers:
        same = answers["ours"] == answers["shared"]
        verdict = "yes" if same else "NO"
        print(f"greedy answers of shared and ours identical: {verdict} ({len(answers['ours'])} answers)")
        if not same:
            sys.exit(1)


def _groups(variants: list[str]) -> list[tuple[str, ...]]:
    """The variants each process runs: ours and shared together, their repeats taking turns, so that
    a load that comes and goes on a shared machine slows both alike; every other variant alone."""
    paired = tuple(v for v in variants if v in ("ours", "shared"))
    groups = [(v,) for v in variants if v not in paired]
    return ([paired] if paired else []) + groups


def measure(group: tuple[str, ...], options: dict) -> list[dict]:
    import torch
    from omegaconf import OmegaConf

    from unsafe_vlm.backbones.registry import build_backbone, model_settings
    from unsafe_vlm.data.base import Collator
    from unsafe_vlm.judges.rule import RuleJudge
    from unsafe_vlm.paths import CONF_DIR

    if options["threads"]:
        torch.set_num_threads(options["threads"])
    torch.manual_seed(0)
    config = OmegaConf.merge(
        OmegaConf.load(CONF_DIR / "model" / f"{options['model']}.yaml"), OmegaConf.from_dotlist(options["set"])
    )
    backbone = build_backbone(model_settings(config)).eval()
    backbone.to(options["device"])
    from bench.queries import questions_per_image
    from unsafe_vlm.evaluation.image_features import ImageFeatureCache

    by_task = questions_per_image(options["queries"], tuple(options["tasks"].split(",")))
    records = [record for task in by_task for record in task]
    judge = RuleJudge()
    generation = {"max_new_tokens": options["max_new_tokens"], "do_sample": False}
    collate = Collator(backbone, "eval")

    def ours(cache: ImageFeatureCache | None = None) -> list[str]:
        texts = []
        for task in by_task:  # batches of one task each, as evaluate's loaders
            loader = torch.utils.data.DataLoader(task, batch_size=options["batch_size"], collate_fn=collate)
            for batch in loader:
                inputs = _to(batch["inputs"], options["device"])
                answers = backbone.generate(cache.encode(inputs) if cache else inputs, **generation)
                judge.judge_alignment(answers.texts)
                texts += answers.texts
        return texts

    def shared() -> list[str]:
        return ours(ImageFeatureCache(backbone, options["cache_mib"]))  # one cache per evaluation

    def per_query() -> None:
        for record in records:
            batch = collate([record])
            answers = backbone.generate(_to(batch["inputs"], options["device"]), **generation)
            judge.judge_alignment(answers.texts)

    def plain() -> None:
        processor, tokenizer = backbone.processor, backbone.tokenizer
        tokenizer.padding_side = "left"
        for start in range(0, len(records), options["batch_size"]):
            chunk = records[start : start + options["batch_size"]]
            texts = [backbone.prompt_text(r.question, has_image=True) for r in chunk]
            images = backbone.processor_images([r.load_image() or backbone.blank_image() for r in chunk])
            inputs = processor(text=texts, images=images, padding=True, return_tensors="pt").to(options["device"])
            with torch.no_grad():
                output = backbone.model.generate(
                    **inputs,
                    max_new_tokens=options["max_new_tokens"],
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=backbone.stop_token_ids,
                )
            tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    runs = {"ours": ours, "shared": shared, "per-query": per_query, "plain": plain}
    if options["device"].startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    texts = {variant: runs[variant]() for variant in group}  # warm-up
    seconds: dict[str, list[float]] = {variant: [] for variant in group}
    for _ in range(options["repeats"]):
        for variant in group:
            start = time.perf_counter()
            runs[variant]()
            if options["device"].startswith("cuda"):
                torch.cuda.synchronize()
            seconds[variant].append(time.perf_counter() - start)
    if options["device"].startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    image_tokens = _image_tokens(backbone, records[0])
    return [
        {
            "variant": variant, "queries_per_s": len(records) / statistics.median(seconds[variant]), "peak_mib": peak,
            "queries": len(records), "image_tokens": image_tokens, "texts": texts[variant],
        }  # fmt: skip
        for variant in group
    ]


def _image_tokens(backbone, record) -> int:
    """The prompt tokens one image takes (image placeholders in the prompt)."""
    from unsafe_vlm.data.base import Collator

    inputs = Collator(backbone, "eval")([record])["inputs"]
    image_id = getattr(backbone.model.config, "image_token_id", None) or getattr(
        backbone.model.config, "image_token_index", None
    )
    return int((inputs["input_ids"] == image_id).sum()) if image_id is not None else 0


def _to(inputs: dict, device: str) -> dict:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    import torch
    import transformers

    import unsafe_vlm

    reference = "per-query" if any(r["variant"] == "per-query" for r in rows) else rows[0]["variant"]
    baseline = next(r for r in rows if r["variant"] == reference)["queries_per_s"]
    memory = "peak allocated" if args.device.startswith("cuda") else "peak RSS"
    print(f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores, device {args.device}")
    print(
        f"versions: python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, unsafe-vlm {unsafe_vlm.__version__}"
    )
    changes = f" ({' '.join(args.set)})" if args.set else ""
    print(
        f"model {args.model}{changes}, {rows[0]['image_tokens']} image tokens, {rows[0]['queries']} queries "
        f"({args.tasks} of {args.queries} images), batch {args.batch_size}, "
        f"{args.max_new_tokens} new tokens max, greedy, median of {args.repeats}"
    )
    print(f"| variant | queries/s | x {reference} | {memory} (MiB) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        ratio = row["queries_per_s"] / baseline
        print(f"| {row['variant']} | {row['queries_per_s']:.1f} | {ratio:.2f} | {row['peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
