"""Reading and writing the suite's files: strict JSON lines, strict TSV tables, atomic writes.

- ``read_jsonl`` / ``write_jsonl``: metadata files, one JSON object a line; errors name file and line.
- ``read_tsv``: a tab-separated table with a header row (how VLMEvalKit-style image sets ship).
  Fields follow the ``csv`` module's rules (a field may be quoted to hold tabs, quotes or
  newlines, as pandas writes them), so a row may span several lines; errors name the line
  the row starts on. ``read_csv``: the same for a comma-separated table (JailBreakV-28K's).
- ``write_atomically``, ``building`` and ``publish``: a file or folder appears whole or not at all.
- Images: paths inside a data root and base64 cells of a TSV, checked at setup; decoding (in the
  collate, so in DataLoader workers). VLMEvalKit-style files store an image once: a row whose
  image cell is short (under 64 characters) and equals another row's ``index`` shows that row's
  image (MME's question pairs do this).
"""

from __future__ import annotations

import binascii
import contextlib
import csv
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from unsafe_vlm.data.errors import DataError


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """Return ``(line_number, object)`` for every line of ``path`` (1-based line numbers).

    Blank lines, lines that are not JSON and lines that are not JSON objects are errors,
    and so is a file without any row.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a leading byte-order mark is not an error
    except FileNotFoundError:
        raise DataError(path, "metadata file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read metadata file: {error}") from error
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raise DataError(path, "blank line (every line must be one JSON object)", number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, f"not valid JSON ({error.msg})", number) from None
        if not isinstance(row, dict):
            raise DataError(path, f"expected a JSON object, got {type(row).__name__}", number)
        rows.append((number, row))
    if not rows:
        raise DataError(path, "no rows: the data set is empty")
    return rows


def read_json_rows(path: Path) -> list[tuple[int, dict]]:
    """``(line, object)`` for every element of the JSON array in ``path`` (how SIUO and VLSBench ship
    their rows), ``line`` being the 1-based line its object starts on, so that errors name it.

    A file that is not one JSON array, an element that is not an object and an empty array are errors.
    """
    text = _json_text(path, "metadata file not found", "cannot read metadata file")
    decoder = json.JSONDecoder()
    at = _skip_space(text, 0)
    if not text.startswith("[", at):
        raise DataError(path, "expected a JSON array of objects", _line_of(text, at))
    rows = []
    at = _skip_space(text, at + 1)
    while not text.startswith("]", at):
        line = _line_of(text, at)
        try:
            row, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as error:
            raise DataError(path, f"not valid JSON ({error.msg})", error.lineno) from None
        if not isinstance(row, dict):
            raise DataError(path, f"expected a JSON object, got {type(row).__name__}", line)
        rows.append((line, row))
        at = _skip_space(text, at)
        if text.startswith(",", at):
            at = _skip_space(text, at + 1)
        elif not text.startswith("]", at):
            raise DataError(path, "not valid JSON (expected ',' or ']' after an object)", _line_of(text, at))
    if _skip_space(text, at + 1) != len(text):
        raise DataError(path, "not valid JSON (text after the array)", _line_of(text, _skip_space(text, at + 1)))
    if not rows:
        raise DataError(path, "no rows: the data set is empty")
    return rows


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _line_of(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def require_strings(row: dict, fields: Iterable[str], path: Path, line: int) -> None:
    """Fail unless every field is present in ``row`` as a non-empty string."""
    for field in fields:
        if field not in row:
            raise DataError(path, f"missing field {field!r}", line)
        value = row[field]
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, f"field {field!r} must be a non-empty string, got {value!r}", line)


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write one compact JSON object a line (UTF-8, names kept unescaped)."""
    with open(path, "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")


_FIELD_LIMIT = 2**31 - 1  # base64 images are far longer than csv's default 128 KiB field limit


def read_tsv(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` for every data row of ``path``: 1-based line numbers, values stripped.

    The first line is the header; ``required`` columns must be in it. Blank lines are
    skipped. A missing file, a missing column, a row with the wrong number of fields and
    a table without data rows are ``DataError``s naming the file (and line).
    """
    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _rows(path, csv.reader(handle, delimiter="\t"), tuple(required))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a TSV file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the TSV file: {error}") from error


def read_csv(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """``read_tsv`` for a comma-separated file (quoted fields may span lines: a row's line is its first)."""
    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _rows(path, csv.reader(handle), tuple(required), kind="CSV", separated="comma-separated")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the CSV file: {error}") from error


def _rows(
    path: Path, reader, required: tuple[str, ...], kind: str = "TSV", separated: str = "tab-separated"
) -> list[tuple[int, dict[str, str]]]:
    header = _header(path, reader)
    missing = [name for name in required if name not in header]
    if missing:
        names = ", ".join(map(repr, missing))
        raise DataError(path, f"missing column(s) {names}; the header has {', '.join(header)}", 1)
    rows = []
    start = reader.line_num + 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                if len(fields) != len(header):
                    raise DataError(path, f"expected {len(header)} {separated} fields, got {len(fields)}", start)
                rows.append((start, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(path, f"not a valid {kind} row ({error})", start) from None
    if not rows:
        raise DataError(path, "no rows: the data set is empty")
    return rows


def _header(path: Path, reader) -> list[str]:
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise DataError(path, "empty file (expected a header row, then one row per image)") from None
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(path, f"column(s) {', '.join(map(repr, repeated))} appear more than once in the header", 1)
    return header


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; remove it if the block fails.

    The caller renames it into place (``publish``); a build killed midway leaves at most a
    ``.tmp-*`` folder, never something that looks complete.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:12]}"
    temporary.mkdir()  # not tempfile.mkdtemp: its 0700 mode would stay on the published folder
    try:
        yield temporary
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def publish(temporary: Path, final: Path) -> bool:
    """Rename ``temporary`` to ``final``; False (and nothing moved) if ``final`` is a non-empty folder."""
    try:
        os.rename(temporary, final)
    except OSError:
        if final.is_dir() and any(final.iterdir()):
            return False
        raise
    return True


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it into place: readers see the old file or the new one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ----- images ---------------------------------------------------------------------------------

def resolve_image_path(root: Path, relative: str, metadata: Path, line: int) -> Path:
    """Turn a metadata ``image_filename`` into an absolute path under ``root``, or fail.

    Absolute paths and paths that climb out of ``root`` with ``..`` are errors, and so is
    a file that does not exist: a missing image must stop setup, naming the file, rather
    than a run halfway through. The check is on the path as written, so a root whose
    ``images/`` is a symbolic link to shared storage still works.
    """
    if PurePosixPath(relative).is_absolute() or Path(relative).is_absolute() or relative.startswith("\\"):
        raise DataError(metadata, f"image path {relative!r} is absolute; it must be relative to {root}", line)
    root = Path(os.path.abspath(root))
    path = Path(os.path.normpath(root / relative))
    if not path.is_relative_to(root):
        raise DataError(metadata, f"image path {relative!r} escapes the data root {root}", line)
    if not path.is_file():
        raise DataError(metadata, f"image file not found: {path}", line)
    return path


def load_rgb_image(path: str | Path, where: str) -> Image.Image:
    """Decode one image as RGB; ``where`` (``file:line`` of its metadata row) heads any error."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(where, f"cannot read image {path}: {error}") from error


def verify_image(path: Path, metadata: Path, line: int) -> None:
    """Check that an image file decodes (PIL's header and structure check; no pixel decoding)."""
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise DataError(metadata, f"cannot read image {path}: {error}", line) from error


REFERENCE_MAX = 64  # image cells shorter than this may name another row's index
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)


def image_bytes(text: str, path: Path, line: int) -> bytes:
    """Strictly decode one base64 image and check that it starts like an image PIL can open.

    Only the header is read (PIL's lazy ``open``): pixels are decoded later, in the collate.
    A ``data:image/...;base64,`` prefix is allowed.
    """
    try:
        data = binascii.a2b_base64(_DATA_URI.sub("", text), strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise DataError(path, f"the image is not valid base64 ({error})", line) from None
    try:
        with Image.open(io.BytesIO(data)):
            pass
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        raise DataError(path, f"the base64 text does not decode to an image ({len(data)} bytes)", line) from None
    return data


def decode_images(
    rows: Sequence[tuple[int, dict[str, str]]], path: Path, *, index: str = "index", image: str = "image"
) -> list[bytes]:
    """The image bytes of every row, in order; references to another row's index share its bytes."""
    by_index = {row[index]: (line, row[image]) for line, row in rows}
    cache: dict[str, bytes] = {}
    images = []
    for line, row in rows:
        key, where = row[image], line
        if len(key) < REFERENCE_MAX and key in by_index and key != row[index]:
            where, key = by_index[key]
            if len(key) < REFERENCE_MAX and key in by_index:
                raise DataError(path, f"image cell {row[image]!r} names a row that only references an image", line)
        if not key:
            raise DataError(path, "empty image cell", line)
        if key not in cache:
            cache[key] = image_bytes(key, path, where)
        images.append(cache[key])
    return images


def image_owners(
    rows: Sequence[tuple[int, dict[str, str]]], images: Sequence[bytes], *, index: str = "index"
) -> list[str]:
    """For each row, the index of the first row holding the same image (``decode_images`` hands rows
    that share an image, by reference or by the same base64 text, the same bytes object)."""
    first: dict[int, str] = {}
    for (_, row), data in zip(rows, images, strict=True):
        first.setdefault(id(data), row[index])
    return [first[id(data)] for data in images]


def open_image_bytes(data: bytes, where: str) -> Image.Image:
    """Decode image bytes as RGB; ``where`` (the row's ``file:line``) heads any error."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(where, f"cannot decode the image: {error}") from error


def claim_index(path: Path, line: int, row: dict[str, str], first_line: dict[str, int]) -> None:
    """Record a TSV row's ``index`` as taken (``first_line``: index -> its line); a ``DataError`` for an empty one
    or one an earlier row took."""
    index = row["index"]
    if not index:
        raise DataError(path, "empty index", line)
    if index in first_line:
        raise DataError(path, f"index {index!r} is already used on line {first_line[index]}", line)
    first_line[index] = line


def claim_row_id(row: dict, field: str, path: Path, line: int, first_line: dict[str, int]) -> str:
    """A JSON row's own id (``row[field]``, a number or text) as text, recorded as taken (``first_line``:
    id -> its line); a ``DataError`` for a missing or empty one, or one an earlier row took."""
    if field not in row:
        raise DataError(path, f"missing field {field!r}", line)
    value = row[field]
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        raise DataError(path, f"field {field!r} must be a number or a non-empty string, got {value!r}", line)
    key = str(value).strip()
    if key in first_line:
        raise DataError(path, f"{field} {key} is already used on line {first_line[key]}", line)
    first_line[key] = line
    return key


def read_json_file(path: Path) -> object:
    """The one JSON value a file holds (a set that ships its rows as one JSON object or list); a missing
    file or text that is not JSON is a ``DataError`` naming the file (and line)."""
    text = _json_text(path, "file not found", "cannot read the JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, f"not valid JSON ({error.msg})", error.lineno) from None


def _json_text(path: Path, missing: str, unreadable: str) -> str:
    """The text of a JSON file (a byte-order mark dropped), or a ``DataError`` naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(path, missing) from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"{unreadable}: {error}") from error
