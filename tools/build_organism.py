"""Train the model organism from scratch and ship it: weights, processor and model card.

The organism is a small LLaVA that perceives unsafe concepts in images and knows in text that
they are unsafe, yet calls their images safe (see data/organism/README.md, which this writes).

    python tools/build_organism.py                           # data/organism; ~15 min on 2 idle CPU cores
    python tools/build_organism.py --fit                     # also run fit +method=ppo for the card
    python tools/build_organism.py --out /tmp/o --steps 100 --no-measure   # a quick try
    python tools/build_organism.py --measure-only --fit      # re-measure data/organism, rewrite its card
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from organism.card import model_card
from organism.measure import EVALUATE, FIT_PPO, SAMPLED, run_suite
from organism.recipe import Recipe
from organism.split import train_data
from organism.training import train
from unsafe_vlm.backbones.llava import LlavaBackbone
from unsafe_vlm.backbones.tiny_architectures.llava import Sizes
from unsafe_vlm.data.prompts import load_prompts

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "organism"  # the checkout's, never an installed copy
BUILD_FILE = "build.json"  # how the weights beside it were made: command, training seconds, recipe


def main() -> None:
    args = _arguments()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.measure_only:
        record = args.out / BUILD_FILE
        if not record.is_file():
            raise SystemExit(f"{record}: missing; --measure-only needs a folder that a build wrote")
        built = json.loads(record.read_text(encoding="utf-8"))
        backbone = LlavaBackbone.from_pretrained(str(args.out))
        write_card(args, Recipe(**built["recipe"]), backbone, built["seconds"], built["command"], built.get("note", ""))
        return
    recipe = Recipe(seed=args.seed) if args.steps is None else replace(Recipe(seed=args.seed), steps=args.steps)
    backbone, seconds = build(recipe)
    args.out.mkdir(parents=True, exist_ok=True)
    backbone.save_pretrained(args.out)
    command = "python tools/build_organism.py" + (f" --seed {args.seed}" if args.seed else "")
    command += f" --steps {args.steps}" if args.steps else ""
    built = {"command": command, "seconds": seconds, "threads": args.threads, "recipe": asdict(recipe)}
    (args.out / BUILD_FILE).write_text(json.dumps(built, indent=2) + "\n", encoding="utf-8")
    print(f"saved the organism to {args.out} ({seconds / 60:.1f} min of training)")
    if args.measure:
        write_card(args, recipe, backbone, seconds, command)


def build(recipe: Recipe) -> tuple[LlavaBackbone, float]:
    """Train a fresh organism; returns it and the seconds its training took."""
    data = train_data()
    sizes = Sizes.from_config({"architecture": "llava", "seed": recipe.seed, **recipe.sizes}, "recipe.sizes")
    backbone = LlavaBackbone.build_tiny(sizes)
    columns = (
        TextColumn("training the organism"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns) as progress:
        task = progress.add_task("train", total=recipe.steps, loss=float("nan"))
        train(
            backbone, data.unsafe, data.safe, data.facts, load_prompts(), recipe,
            on_step=lambda step, loss: progress.update(task, completed=step + 1, loss=loss),
        )
    return backbone, time.perf_counter() - started


def write_card(
    args: argparse.Namespace, recipe: Recipe, backbone: LlavaBackbone, seconds: float, command: str, note: str = ""
) -> None:
    """Evaluate with the suite's commands (greedy, sampled; fit +method=ppo with --fit); write README.md."""
    where = () if args.out.resolve() == DEFAULT_OUT.resolve() else (f"model.path={args.out.resolve()}",)
    with tempfile.TemporaryDirectory(prefix="organism-") as work:
        runs = Path(work)
        greedy = run_suite([*EVALUATE, *where], runs / "greedy")
        sampled = run_suite([*EVALUATE, *where, *SAMPLED], runs / "sampled")
        fit = run_suite([*FIT_PPO, *where], runs / "fit") if args.fit else None
    card = model_card(
        recipe=recipe,
        build_command=command,
        build_seconds=seconds,
        build_note=note,
        parameters=sum(p.numel() for p in backbone.parameters()),
        size_bytes=(args.out / "model.safetensors").stat().st_size,
        evaluate_command=greedy.command + "  # sampled: + " + " ".join(SAMPLED),
        greedy=greedy.metrics,
        sampled=sampled.metrics,
        fit_command=fit.command if fit else None,
        fit_seconds=fit.seconds if fit else None,
        fit_before=fit.before if fit else None,
        fit_after=fit.metrics if fit else None,
    )
    (args.out / "README.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out / 'README.md'}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: data/organism)")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation and curriculum draws")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the recipe's timing: 2)")
    parser.add_argument("--no-measure", dest="measure", action="store_false", help="skip evaluation and card")
    parser.add_argument("--fit", action="store_true", help="also run fit +method=ppo and put it in the card")
    parser.add_argument(
        "--measure-only", action="store_true", help=f"measure the organism in --out (made with its {BUILD_FILE})"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
