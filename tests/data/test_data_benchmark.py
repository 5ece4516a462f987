"""Reading the benchmark and the safe images; every kind of bad input is an error naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.benchmark_files import error_at, write_placeholder_benchmark, write_safe_images
from PIL import Image

from unsafe_vlm.data.benchmark import load_benchmark, load_safe_images
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import load_rgb_image

ROWS = [
    {"image_filename": "images/0.png", "category": "Hate", "unsafe_concept": "Swastika"},
    {"image_filename": "images/1.png", "category": "Violence", "unsafe_concept": "Gun violence"},
    {"image_filename": "images/2.png", "category": "Sexual", "unsafe_concept": "Erotic Content"},
]
OPTIONS = [
    ("A: Swastika \nB: Arson \nC: Robbery \nD: Graffiti", "A"),
    ("A: Arson \nB: Gun violence \nC: Robbery \nD: Graffiti", "B"),
    ("A: Arson \nB: Robbery \nC: Graffiti \nD: Erotic Content", "D"),
]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def make_benchmark(root: Path, rows=ROWS, options=OPTIONS, perception: bool = True) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i in range(len(ROWS)):
        Image.new("RGB", (4, 4), (i * 60, 10, 10)).save(root / f"images/{i}.png")
    write_lines(root / "metadata.jsonl", [json.dumps(r) for r in rows])
    if perception:
        lines = [
            json.dumps({**r, "option_str": o, "correct_option": c}) for r, (o, c) in zip(ROWS, options, strict=True)
        ]
        write_lines(root / "perception_metadata.jsonl", lines)
    return root


# ----- the published metadata ---------------------------------------------------------------


def test_published_metadata_with_placeholder_files_gives_1567_images_75_concepts_9_categories(tmp_path):
    samples = load_benchmark(write_placeholder_benchmark(tmp_path))
    assert len(samples) == 1567
    assert len({s.concept for s in samples}) == 75
    assert len({s.category for s in samples}) == 9
    assert [s.index for s in samples] == list(range(1567))
    assert samples[5].image == (tmp_path / "images/5.png").absolute()
    assert all(s.options is not None and s.options["ABCD".index(s.correct_option)] == s.concept for s in samples)


def test_real_pngs_are_read_as_rgb_and_can_be_verified_at_setup(tmp_path):
    root = write_placeholder_benchmark(tmp_path, png=True)
    samples = load_benchmark(root, verify_images=True)
    image = load_rgb_image(samples[0].image, samples[0].source)
    assert image.mode == "RGB" and image.size == (2, 2)


def test_without_perception_metadata_samples_have_no_options(tmp_path):
    samples = load_benchmark(make_benchmark(tmp_path, perception=False))
    assert [s.concept for s in samples] == ["Swastika", "Gun violence", "Erotic Content"]
    assert all(s.options is None and s.correct_option is None for s in samples)


def test_metadata_can_live_apart_from_the_images(tmp_path):
    make_benchmark(tmp_path / "meta")
    images = tmp_path / "images_only"
    (images / "images").mkdir(parents=True)
    for name in ("0", "1", "2"):
        (images / f"images/{name}.png").write_bytes((tmp_path / f"meta/images/{name}.png").read_bytes())
    samples = load_benchmark(images, metadata_dir=tmp_path / "meta")
    assert samples[2].image == (images / "images/2.png").absolute()


# ----- bad input: the metadata ----------------------------------------------------------------


def rewrite_row(line: int, change):
    """A corruption of metadata.jsonl: ``change(row) -> text`` replaces line ``line`` (1-based)."""

    def corrupt(root: Path) -> Path:
        path = root / "metadata.jsonl"
        lines = path.read_text().splitlines()
        lines[line - 1] = change(json.loads(lines[line - 1]))
        write_lines(path, lines)
        return path

    return corrupt


BAD_METADATA = {
    "not json": (rewrite_row(2, lambda r: json.dumps(r)[:-1]), 2, "not valid JSON"),
    "not an object": (rewrite_row(1, lambda r: json.dumps(list(r.values()))), 1, "expected a JSON object"),
    "blank line": (rewrite_row(2, lambda r: "   "), 2, "blank line"),
    "missing field": (rewrite_row(3, lambda r: json.dumps({"image_filename": "images/2.png"})), 3, "missing field"),
    "field not a string": (rewrite_row(1, lambda r: json.dumps({**r, "category": 3})), 1, "must be a non-empty string"),
    "unknown concept": (rewrite_row(2, lambda r: json.dumps({**r, "unsafe_concept": "Kittens"})), 2, "unknown concept"),
    "unknown category": (rewrite_row(2, lambda r: json.dumps({**r, "category": "Cute"})), 2, "unknown category 'Cute'"),
    "concept in the wrong category": (
        rewrite_row(1, lambda r: json.dumps({**r, "category": "Violence"})),
        1,
        "belongs to category 'Hate'",
    ),
    "path escapes the root": (
        rewrite_row(3, lambda r: json.dumps({**r, "image_filename": "../outside.png"})),
        3,
        "escapes the data root",
    ),
    "path climbs out midway": (
        rewrite_row(3, lambda r: json.dumps({**r, "image_filename": "images/../../outside.png"})),
        3,
        "escapes the data root",
    ),
    "absolute path": (
        rewrite_row(2, lambda r: json.dumps({**r, "image_filename": "/etc/hostname"})),
        2,
        "is absolute",
    ),
    "duplicate image": (
        rewrite_row(3, lambda r: json.dumps({**r, "image_filename": "images/0.png"})),
        3,
        "already listed on line 1",
    ),
}


@pytest.mark.parametrize("case", BAD_METADATA, ids=list(BAD_METADATA))
def test_bad_metadata_line_is_an_error_naming_file_and_line(tmp_path, case):
    corrupt, line, message = BAD_METADATA[case]
    root = make_benchmark(tmp_path)
    (tmp_path.parent / "outside.png").touch()
    path = corrupt(root)
    with pytest.raises(DataError, match=error_at(path, line) + rf".*{message}") as caught:
        load_benchmark(root)
    assert caught.value.line == line


def test_missing_image_is_an_error_at_load_naming_the_file(tmp_path):
    root = make_benchmark(tmp_path)
    (root / "images/1.png").unlink()
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 2) + r"image file not found: .*images/1.png"):
        load_benchmark(root)


def test_unreadable_image_is_an_error_when_verified_and_when_decoded(tmp_path):
    root = make_benchmark(tmp_path)
    (root / "images/2.png").write_bytes(b"not a png")
    samples = load_benchmark(root)  # existence only, by default
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 3) + r"cannot read image .*images/2.png"):
        load_rgb_image(samples[2].image, samples[2].source)
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl", 3) + r"cannot read image .*images/2.png"):
        load_benchmark(root, verify_images=True)


def test_empty_metadata_is_an_error(tmp_path):
    root = make_benchmark(tmp_path, perception=False)
    (root / "metadata.jsonl").write_text("")
    with pytest.raises(DataError, match=error_at(root / "metadata.jsonl") + r"no rows: the data set is empty"):
        load_benchmark(root)


def test_missing_metadata_or_root_is_an_error(tmp_path):
    with pytest.raises(DataError, match=error_at(tmp_path / "nope") + r"data root is not a folder"):
        load_benchmark(tmp_path / "nope")
    with pytest.raises(DataError, match=error_at(tmp_path / "metadata.jsonl") + r"metadata file not found"):
        load_benchmark(tmp_path)


# ----- bad input: the perception metadata -------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "line", "message"),
    [
        ([OPTIONS[0], ("A: Arson \nB: Gun violence \nC: Robbery \nD: Graffiti", "E"), OPTIONS[2]], 2, "not among"),
        ([*OPTIONS[:2], ("A: Arson \nB: Robbery \nC: Graffiti \nD: Erotic Content", "C")], 3, "names 'Graffiti'"),
        ([OPTIONS[0], ("A: Arson \nB: Gun violence \nC: Robbery", "B"), OPTIONS[2]], 2, "must hold 4 options"),
        ([("A: Swastika \nB: Arson \nD: Robbery \nC: Graffiti", "A"), *OPTIONS[1:]], 1, "must read 'C: <concept>'"),
    ],
    ids=["letter outside A-D", "correct option names another concept", "three options", "letters out of order"],
)
def test_bad_perception_row_is_an_error_naming_file_and_line(tmp_path, options, line, message):
    root = make_benchmark(tmp_path, options=options)
    with pytest.raises(DataError, match=error_at(root / "perception_metadata.jsonl", line) + rf".*{message}"):
        load_benchmark(root)


def test_perception_rows_must_match_the_metadata(tmp_path):
    root = make_benchmark(tmp_path)
    path = root / "perception_metadata.jsonl"
    lines = path.read_text().splitlines()
    write_lines(path, [lines[1], lines[0], lines[2]])
    with pytest.raises(DataError, match=error_at(path, 1) + r"row does not match line 1"):
        load_benchmark(root)
    write_lines(path, lines[:2])
    with pytest.raises(DataError, match=error_at(path) + r"has 2 rows but metadata.jsonl has 3"):
        load_benchmark(root)


# ----- the safe side --------------------------------------------------------------------------


def test_safe_images_load_with_category_safe(tmp_path):
    samples = load_safe_images(write_safe_images(tmp_path, ["goldfish", "banana"], per_concept=2))
    assert [s.concept for s in samples] == ["goldfish", "goldfish", "banana", "banana"]
    assert all(s.category == "Safe" and s.is_safe for s in samples)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"image_filename": "images/0.png"}, "missing field 'concept'"),
        ({"image_filename": "images/0.png", "concept": "Swastika"}, "is an unsafe concept"),
        ({"image_filename": "images/0.png", "concept": "goldfish", "category": "Hate"}, "unknown category 'Hate'"),
        ({"image_filename": "images/0.png", "concept": "unicorn"}, "unknown concept 'unicorn'"),
        ({"image_filename": "images/9.png", "concept": "goldfish"}, "image file not found"),
        ({"image_filename": "../0.png", "concept": "goldfish"}, "escapes the data root"),
    ],
    ids=["missing field", "unsafe name", "unknown category", "unknown concept", "missing image", "escaping path"],
)
def test_bad_safe_row_is_an_error_naming_file_and_line(tmp_path, row, message):
    root = write_safe_images(tmp_path / "safe", ["goldfish", "banana"])
    path = root / "metadata.jsonl"
    write_lines(path, [path.read_text().splitlines()[0], json.dumps(row)])
    with pytest.raises(DataError, match=error_at(path, 2) + rf".*{message}"):
        load_safe_images(root, vocabulary=["goldfish", "banana"])


def test_empty_safe_metadata_is_an_error(tmp_path):
    root = write_safe_images(tmp_path, ["goldfish"])
    (root / "metadata.jsonl").write_text("")
    with pytest.raises(DataError, match="no rows: the data set is empty"):
        load_safe_images(root)
