"""GRPO's rollout generation with one prefill per group against one prefill per answer.

A GRPO (or RLOO) iteration samples ``group_size`` answers to each prompt. With
``method.share_prefill`` on, the language model reads each prompt once and every answer of its
group continues from that key/value cache, repeated along the batch; off, every answer reads its
prompt again. Both draw the same random numbers, so they sample the same answers; this times
``VLMBackbone.generate`` both ways on the same prompts, on a tiny LLaVA whose image takes 576
tokens as LLaVA-1.5's does (336-pixel images, 14-pixel patches: 24 x 24), with LoRA adapters on
as in training (so the images are encoded once per prompt both ways), and prints the seconds per
answer of each and their ratio. The two run in turn, round after round, in one process, so each
ratio compares runs made back to back; the table gives the medians.

    python tools/bench_grpo_prefill.py                       # GRPO's batch: 8 prompts x 4 answers, 48 tokens
    python tools/bench_grpo_prefill.py --group-size 8 --max-new-tokens 32 --rounds 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

PATHS = ("shared", "recompute")  # share_prefill on, then off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="a conf/model name with a tiny llava (default: tiny)")
    parser.add_argument("--image-size", type=int, default=336, help="image side in pixels (LLaVA-1.5: 336)")
    parser.add_argument("--patch-size", type=int, default=14, help="vision patch side (LLaVA-1.5: 14)")
    parser.add_argument("--prompts", type=int, default=None, help="prompts per rollout (default: grpo.yaml's)")
    parser.add_argument("--group-size", type=int, default=None, help="answers per prompt (default: grpo.yaml's)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: grpo.yaml's")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (each path once per round)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    print_report(measure(vars(args)), args)


def measure(options: dict) -> dict:
    import numpy as np
    import torch
    from omegaconf import OmegaConf
    from PIL import Image

    from bench.configs import method_settings, model_config
    from bench.queries import benchmark_records
    from unsafe_vlm.backbones.group_prefill import shares_prefill
    from unsafe_vlm.backbones.lora import LoraSettings, add_lora
    from unsafe_vlm.backbones.registry import build_backbone, model_settings

    if options["threads"]:
        torch.set_num_threads(options["threads"])
    side, patch = options["image_size"], options["patch_size"]
    cfg = model_config(options["model"])
    cfg = OmegaConf.merge(cfg, {"tiny": {"image_size": side, "patch_size": patch}, "blank_image_size": side})
    method = method_settings("grpo", cfg)
    prompts = options["prompts"] or method["batch_size"]
    group = options["group_size"] or method["group_size"]
    new_tokens = options["max_new_tokens"] or method["max_new_tokens"]

    torch.manual_seed(0)
    backbone = build_backbone(model_settings(cfg))
    add_lora(backbone, LoraSettings(**OmegaConf.to_container(cfg.lora)))
    backbone.to(options["device"]).eval()
    if not shares_prefill(backbone):
        raise SystemExit(f"model {options['model']}: its cache cannot be shared, both paths would recompute")
    rng = np.random.default_rng(0)
    records = benchmark_records(prompts)
    images = [Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)) for _ in records]
    inputs = backbone.encode([r.question for r in records], images)
    inputs = {k: v.to(options["device"]) if hasattr(v, "to") else v for k, v in inputs.items()}
    image_tokens = int((inputs["input_ids"][0] == backbone.model.config.image_token_id).sum())

    def run(path: str):
        torch.manual_seed(1)
        start = time.perf_counter()
        sampled = backbone.generate(
            inputs, group_size=group, share_prefill=path == "shared", do_sample=True,
            temperature=method["temperature"], top_p=method["top_p"], max_new_tokens=new_tokens,
        )
        if options["device"].startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start, sampled

    for path in PATHS:  # warm-up
        run(path)
    seconds: dict[str, list[float]] = {path: [] for path in PATHS}
    ratios, answers = [], {}
    for round_index in range(options["rounds"]):
        times = {}
        for path in PATHS if round_index % 2 == 0 else PATHS[::-1]:
            times[path], answers[path] = run(path)
            seconds[path].append(times[path])
        ratios.append(times["recompute"] / times["shared"])
    same = torch.equal(answers["shared"].inputs["input_ids"], answers["recompute"].inputs["input_ids"])
    return {
        "seconds": {path: statistics.median(values) for path, values in seconds.items()},
        "ratio": statistics.median(ratios),
        "answers": prompts * group,
        "prompts": prompts,
        "group": group,
        "new_tokens": new_tokens,
        "prompt_tokens": inputs["input_ids"].shape[1],
        "image_tokens": image_tokens,
        "answer_tokens": float(answers["shared"].lengths.float().mean()),
        "same_answers": same,
    }


def print_report(result: dict, args: argparse.Namespace) -> None:
    import multiprocessing as mp

    import torch
    import transformers

    import unsafe_vlm

    print(f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores, device {args.device}")
    print(
        f"versions: python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, unsafe-vlm {unsafe_vlm.__version__}"
    )
    print(
        f"model {args.model} at {args.image_size} px / {args.patch_size} px patches: {result['image_tokens']} image "
        f"tokens, prompts of {result['prompt_tokens']} columns; {result['prompts']} prompts x {result['group']} "
        f"answers, at most {result['new_tokens']} new tokens (mean {result['answer_tokens']:.1f}), sampled; "
        f"median of {args.rounds} rounds; same answers both ways: {'yes' if result['same_answers'] else 'NO'}"
    )
    print("| path | ms per answer |")
    print("| --- | ---: |")
    for path in PATHS:
        print(f"| {path} | {1000 * result['seconds'][path] / result['answers']:.1f} |")
    print(f"recompute / shared (median of the rounds' ratios): {result['ratio']:.2f}")

if __name__ == "__main__":
    main()
