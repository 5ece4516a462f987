"""The organism's training: a plain loop of teacher-forced cross-entropy on answer tokens.

All weights train (vision tower, projector, language model), from a random start. Each
pass of the curriculum is drawn anew (``curriculum_pass``) and cut into batches; the loop
runs ``recipe.steps`` optimizer steps with a linear warm-up and a cosine decay.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import torch
from PIL import Image

from organism.curriculum import Example, Facts, curriculum_pass
from organism.recipe import Recipe
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.data.files import load_rgb_image
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import Sample
from unsafe_vlm.methods.schedule import warmup_cosine_scheduler

StepCallback = Callable[[int, float], None]


def batches(
    unsafe: Sequence[Sample], safe: Sequence[Sample], facts: Facts, prompts: Prompts, recipe: Recipe
) -> Iterator[list[Example]]:
    """Batches of ``recipe.batch_size`` examples, pass after pass, forever (seeded).

    A batch holds one kind of example (prompts of one kind have similar lengths, so little
    padding); the batches of a pass come in shuffled order.
    """
    rng = random.Random(f"organism/{recipe.seed}")
    while True:
        by_kind: dict[str, list[Example]] = {}
        for example in curriculum_pass(unsafe, safe, facts, prompts, recipe, rng):
            by_kind.setdefault(example.kind, []).append(example)
        pass_batches = []
        for examples in by_kind.values():
            rng.shuffle(examples)
            size = recipe.batch_size
            pass_batches += [examples[i : i + size] for i in range(0, len(examples) - size + 1, size)]
        rng.shuffle(pass_batches)
        yield from pass_batches


def answer_loss(backbone: VLMBackbone, examples: Sequence[Example], images: dict[str, Image.Image]) -> torch.Tensor:
    """Mean negative log-likelihood of the answer tokens (and the end of turn) given the prompts."""
    inputs = backbone.encode(
        [e.question for e in examples],
        [None if e.image is None else images[e.image] for e in examples],
        answers=[e.answer for e in examples],
    )
    outputs = backbone(inputs)
    mask = outputs.mask
    return -(outputs.token_logprobs() * mask).sum() / mask.sum()


def train(
    backbone: VLMBackbone,
    unsafe: Sequence[Sample],
    safe: Sequence[Sample],
    facts: Facts,
    prompts: Prompts,
    recipe: Recipe,
    on_step: StepCallback | None = None,
) -> None:
    """Train every weight of ``backbone`` in place; ``on_step(step, loss)`` after each step."""
    images = {str(s.image): load_rgb_image(str(s.image), s.source) for s in [*unsafe, *safe]}
    optimizer = torch.optim.AdamW(backbone.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    scheduler = warmup_cosine_scheduler(
        optimizer, total_steps=recipe.steps, warmup_ratio=recipe.warmup_steps / recipe.steps
    )
    backbone.train()
    stream = batches(unsafe, safe, facts, prompts, recipe)
    for step in range(recipe.steps):
        loss = answer_loss(backbone, next(stream), images)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(backbone.parameters(), recipe.max_grad_norm)
        optimizer.step()
        scheduler.step()
        if on_step is not None:
            on_step(step, loss.item())
    backbone.eval()
