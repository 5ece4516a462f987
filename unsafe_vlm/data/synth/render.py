"""Draw one synthetic image of a visual code, with nuisance that never hides the code.

Layout: a band of the band colour along the top edge (about a fifth of the side), the
textured background below it, and the shape in the lower part. Nuisance per image: band
height, shape position, size and rotation (up to 20 degrees, so a square never becomes
a diamond nor a bar stands up), texture phase and period, colour jitter of every part,
and pixel noise. Textures are never rotated, so stripe directions stay apart. Drawing
happens at ``supersample`` times the size, then a box filter brings it down.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from unsafe_vlm.data.synth.codes import PALETTE, VisualCode

MAX_ROTATION_DEGREES = 20.0


def render(code: VisualCode, size: int, rng: np.random.Generator, *, supersample: int = 4, noise: float = 6.0):
    """Return the image as a (size, size, 3) uint8 array."""
    big = size * supersample
    background = _jitter(PALETTE[code.background], rng)
    band_colour = _jitter(PALETTE[code.band], rng)
    foreground = _jitter(PALETTE[code.foreground], rng)
    band = np.zeros((big, big))
    band[: round(rng.uniform(0.17, 0.23) * big)] = 1.0
    texture = _texture(code.texture, big, rng)
    depth = rng.uniform(0.4, 0.55)
    shape = _shape_mask(code.shape, big, rng)
    # pixel = shape ? foreground : band ? band colour : background * (1 - depth * texture).
    # The box filter is linear, so it is applied to the masks before the colours come in.
    behind = 1.0 - shape
    band_part = _box(band * behind, supersample)
    ground = _box((1.0 - band) * behind, supersample)
    shaded = _box(texture * (1.0 - band) * behind, supersample)
    shape_part = _box(shape, supersample)
    pixels = (
        background * (ground - depth * shaded)[..., None]
        + band_colour * band_part[..., None]
        + foreground * shape_part[..., None]
    )
    pixels = pixels + rng.normal(0.0, noise, (size, size, 3))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _box(mask: np.ndarray, factor: int) -> np.ndarray:
    """(big, big) -> (big / factor, big / factor) by averaging factor x factor blocks."""
    side = mask.shape[0] // factor
    return mask.reshape(side, factor, side, factor).mean(axis=(1, 3))


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Brightness within 10% and each channel within 12 levels."""
    return np.clip(np.asarray(rgb, dtype=np.float64) * rng.uniform(0.9, 1.1) + rng.uniform(-12, 12, 3), 0, 255)


def _texture(name: str, big: int, rng: np.random.Generator) -> np.ndarray:
    """(big, big) float mask of the darker texture pixels; period about a quarter of the side."""
    period = rng.uniform(0.24, 0.3) * big
    phase_x, phase_y = rng.uniform(0, period, 2)
    centres = np.arange(big, dtype=np.float64) + 0.5
    x, y = (centres + phase_x)[None, :], (centres + phase_y)[:, None]  # broadcast to (big, big)
    half = period / 2
    diagonal_half = half * math.sqrt(2)  # same stripe width across the diagonal
    if name == "plain":
        mask = np.zeros((big, big))
    elif name == "horizontal_stripes":
        mask = (y // half) % 2 + 0 * x
    elif name == "vertical_stripes":
        mask = (x // half) % 2 + 0 * y
    elif name == "diagonal_stripes":
        mask = ((x + y) // diagonal_half) % 2
    elif name == "antidiagonal_stripes":
        mask = ((x - y + big) // diagonal_half) % 2
    elif name == "checker":
        mask = (x // half + y // half) % 2
    elif name == "dots":
        mask = ((x % period - half) ** 2 + (y % period - half) ** 2) < (0.3 * period) ** 2
    else:
        raise ValueError(f"unknown texture {name!r}")
    return mask.astype(np.float64)


def _shape_mask(name: str, big: int, rng: np.random.Generator) -> np.ndarray:
    """(big, big) float mask of the shape, placed below the band, scaled and rotated at random."""
    cx = big * rng.uniform(0.4, 0.6)
    cy = big * rng.uniform(0.56, 0.66)
    r = rng.uniform(0.21, 0.27) * big
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)

    def polygon(points: list[tuple[float, float]], fill: int) -> None:
        cos, sin = math.cos(angle), math.sin(angle)
        draw.polygon([(cx + px * cos - py * sin, cy + px * sin + py * cos) for px, py in points], fill=fill)

    def rectangle(half_width: float, half_height: float) -> list[tuple[float, float]]:
        return [
            (-half_width, -half_height),
            (half_width, -half_height),
            (half_width, half_height),
            (-half_width, half_height),
        ]

    if name == "disc":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif name == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        draw.ellipse([cx - 0.55 * r, cy - 0.55 * r, cx + 0.55 * r, cy + 0.55 * r], fill=0)
    elif name == "square":
        polygon(rectangle(0.85 * r, 0.85 * r), 255)
    elif name == "frame":
        polygon(rectangle(0.9 * r, 0.9 * r), 255)
        polygon(rectangle(0.5 * r, 0.5 * r), 0)
    elif name == "triangle":
        corners = [math.radians(a) for a in (-90, 30, 150)]
        polygon([(1.15 * r * math.cos(a), 1.15 * r * math.sin(a)) for a in corners], 255)
    elif name == "cross":
        w = 0.3 * r  # half the width of an arm
        arm = [(-w, -r), (w, -r), (w, -w)]  # one arm's outline; the other three are turns of it
        turns = ((1, 0), (0, 1), (-1, 0), (0, -1))
        polygon([(px * c - py * s, px * s + py * c) for c, s in turns for px, py in arm], 255)
    elif name == "bar":
        polygon(rectangle(1.1 * r, 0.4 * r), 255)
    else:
        raise ValueError(f"unknown shape {name!r}")
    return np.asarray(mask, dtype=np.float64) / 255.0
