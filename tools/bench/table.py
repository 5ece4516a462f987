"""What every benchmark prints: the machine, the versions, and one Markdown table."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata

PACKAGES = ("torch", "transformers", "peft", "lightning", "trl", "unsafe-vlm")


def machine_line(device: str, threads: int | None) -> str:
    """CPU, core count, device, torch threads and the load average (other jobs on the machine)."""
    cpu = _cpu_name() or platform.machine()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    threads_text = "torch default" if not threads else str(threads)
    gpu = ""
    if device.startswith("cuda"):
        import torch

        gpu = f" ({torch.cuda.get_device_name(device)})"
    return (f"machine: {cpu}, {os.cpu_count()} cores, device {device}{gpu}, threads {threads_text}, "
            f"load average {load} (1, 5, 15 min)")


def versions_line(packages: Sequence[str] = PACKAGES) -> str:
    """``python X, torch Y, ...`` for the packages installed here (absent ones are left out)."""
    parts = [f"python {sys.version.split()[0]}"]
    for name in packages:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return "versions: " + ", ".join(parts)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[bool]) -> str:
    """A Markdown table; ``numeric`` columns are right-aligned. Cells are printed with ``str``."""
    if len(numeric) != len(columns) or any(len(row) != len(columns) for row in rows):
        raise ValueError("every row, and numeric, needs one entry per column")
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(ours: float, theirs: float) -> float:
    """ours / theirs; infinite when theirs is 0."""
    return ours / theirs if theirs else float("inf")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
