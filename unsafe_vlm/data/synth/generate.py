"""Write a synthetic data set in exactly the benchmark's published layout.

::

    out/
      metadata.jsonl, perception_metadata.jsonl, images/<i>.png   (the 75 unsafe concepts)
      safe/metadata.jsonl, safe/images/<i>.png                      (the safe concepts)
      SYNTHETIC.json                                                (parameters and visual codes)

No unsafe imagery: every concept is a procedural code (see ``codes``), drawn anew with
nuisance for each image (see ``render``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from unsafe_vlm.data.benchmark import METADATA, PERCEPTION_METADATA, format_option_str
from unsafe_vlm.data.files import read_jsonl, write_jsonl
from unsafe_vlm.data.split import draw_options, keyed_rng
from unsafe_vlm.data.synth.codes import VisualCode, concept_codes
from unsafe_vlm.data.synth.params import GENERATOR_VERSION, SynthParams
from unsafe_vlm.data.synth.render import render
from unsafe_vlm.data.taxonomy import PUBLISHED_METADATA, published_taxonomy, safe_concepts

SAFE_FOLDER = "safe"
DESCRIPTION = "SYNTHETIC.json"
_UNSAFE_SIDE, _SAFE_SIDE = 0, 1  # part of each image's random seed


def write_synthetic(params: SynthParams, out: Path) -> None:
    """Fill the (empty) folder ``out``; same parameters, byte-identical files."""
    taxonomy = published_taxonomy()
    unsafe_counts = _unsafe_counts(params)
    safe_names = safe_concepts()[: params.safe_concepts]
    codes = concept_codes(len(taxonomy.concepts) + len(safe_names))
    unsafe_codes, safe_codes = codes[: len(taxonomy.concepts)], codes[len(taxonomy.concepts) :]
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / SAFE_FOLDER / "images").mkdir(parents=True, exist_ok=True)

    rows = []
    for c, (concept, code) in enumerate(zip(taxonomy.concepts, unsafe_codes, strict=True)):
        for i in range(unsafe_counts[concept]):
            row = {"image_filename": f"images/{len(rows)}.png", "category": taxonomy.category_of[concept]}
            rows.append({**row, "unsafe_concept": concept})
            _draw(code, params, out / row["image_filename"], (_UNSAFE_SIDE, c, i))
    write_jsonl(out / METADATA, rows)
    write_jsonl(
        out / PERCEPTION_METADATA, [_with_options(row, n, taxonomy.concepts, params.seed) for n, row in enumerate(rows)]
    )

    per_safe_concept = params.safe_images_per_concept or safe_images_needed(
        list(unsafe_counts.values()), len(safe_names), params.train_ratio
    )
    safe_rows = []
    for c, (concept, code) in enumerate(zip(safe_names, safe_codes, strict=True)):
        for i in range(per_safe_concept):
            row = {"image_filename": f"images/{len(safe_rows)}.png", "concept": concept}
            safe_rows.append(row)
            _draw(code, params, out / SAFE_FOLDER / row["image_filename"], (_SAFE_SIDE, c, i))
    write_jsonl(out / SAFE_FOLDER / METADATA, safe_rows)
    _describe(out / DESCRIPTION, params, [*taxonomy.concepts, *safe_names], codes)


def safe_images_needed(unsafe_counts: list[int], safe_concept_count: int, train_ratio: float) -> int:
    """The fewest images per safe concept so both safe split parts cover their unsafe parts."""
    train = sum(int(n * train_ratio) for n in unsafe_counts)
    test = sum(unsafe_counts) - train
    per_concept = 1
    while True:
        total = per_concept * safe_concept_count
        if int(total * train_ratio) >= train and total - int(total * train_ratio) >= test:
            return per_concept
        per_concept += 1


def _unsafe_counts(params: SynthParams) -> dict[str, int]:
    concepts = published_taxonomy().concepts
    if not params.published_counts:
        return dict.fromkeys(concepts, params.images_per_concept)
    counts = Counter(row["unsafe_concept"] for _, row in read_jsonl(PUBLISHED_METADATA))
    return {concept: counts[concept] for concept in concepts}


def unsafe_rows(params: SynthParams) -> list[tuple[str, int]]:
    """``(concept, number of the image within its concept)`` of each unsafe metadata row, in order."""
    counts = _unsafe_counts(params)
    return [(concept, i) for concept in published_taxonomy().concepts for i in range(counts[concept])]


def unsafe_image(params: SynthParams, row: int) -> Image.Image:
    """The unsafe image of metadata row ``row``, drawn alone: the pixels ``images/<row>.png`` holds
    in the data set of ``params``, without writing the set."""
    concepts = published_taxonomy().concepts
    concept, i = unsafe_rows(params)[row]
    c = concepts.index(concept)
    return Image.fromarray(_pixels(concept_codes(len(concepts))[c], params, (_UNSAFE_SIDE, c, i)))


def _draw(code: VisualCode, params: SynthParams, path: Path, key: tuple[int, int, int]) -> None:
    Image.fromarray(_pixels(code, params, key)).save(path, format="PNG")


def _pixels(code: VisualCode, params: SynthParams, key: tuple[int, int, int]) -> np.ndarray:
    # One generator per image, so an image depends only on the seed and its place.
    rng = np.random.default_rng([params.seed, *key])
    return render(code, params.image_size, rng, supersample=params.supersample, noise=params.noise)


def _with_options(row: dict, index: int, concepts: tuple[str, ...], seed: int) -> dict:
    options, letter = draw_options(row["unsafe_concept"], concepts, keyed_rng(seed, f"synth/perception/{index}"))
    return {**row, "option_str": format_option_str(options), "correct_option": letter}


def _describe(path: Path, params: SynthParams, concepts: list[str], codes: list[VisualCode]) -> None:
    description = {
        "generator_version": GENERATOR_VERSION,
        "params": asdict(params),
        "codes": {concept: asdict(code) for concept, code in zip(concepts, codes, strict=True)},
    }
    path.write_text(json.dumps(description, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
