"""Peak memory of this process: RSS on CPU, peak allocated on a CUDA device."""

from __future__ import annotations

import resource
import sys

import torch


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports KiB, macOS bytes); the kernel
    updates its maximum lazily, so never less than the RSS now."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(peak / 2**20 if sys.platform == "darwin" else peak / 1024, current_rss_mib())


def current_rss_mib() -> float:
    """The resident set size now, from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * resource.getpagesize() / 2**20


def is_cuda(device: str | torch.device) -> bool:
    return torch.device(device).type == "cuda"


def reset_peak(device: str | torch.device) -> None:
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: str | torch.device) -> float:
    """Peak allocated on a CUDA device since the last ``reset_peak``; peak RSS on the CPU."""
    if is_cuda(device):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mib()


def memory_label(device: str | torch.device) -> str:
    return "peak allocated" if is_cuda(device) else "peak RSS"


def synchronizer(device: str | torch.device):
    """A function that waits for the device's queued work (None on the CPU, where nothing is queued)."""
    if is_cuda(device):
        return lambda: torch.cuda.synchronize(device)
    return None
