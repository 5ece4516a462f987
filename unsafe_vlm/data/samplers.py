"""A distributed sampler for evaluation that neither pads nor drops: every record once, on one rank."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from torch.utils.data import DistributedSampler


class UnpaddedDistributedSampler(DistributedSampler):
    """Rank r gets records r, r + world, r + 2 * world, ... in order; shards may differ by one.

    ``DistributedSampler`` pads shards to equal length by repeating records, which would
    count them twice in a score. Being a ``DistributedSampler``, Lightning keeps this one
    instead of putting its own in.
    """

    def __init__(self, dataset, num_replicas: int, rank: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.num_samples = len(range(rank, len(dataset), num_replicas))
        self.total_size = len(dataset)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, len(self.dataset), self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples


class ResumableDistributedSampler(DistributedSampler):
    """A seeded, per-epoch shuffle (``DistributedSampler``, also for a single process) that can
    start an epoch part-way through, so a run resumed mid-epoch trains on the batches it had
    not seen instead of repeating the first ones.

    ``offset``: called as each epoch starts, how many indices of this rank's shard to leave
    out (Lightning restores its loop state after the loader is built, so it is asked late).
    """

    def __init__(self, dataset, num_replicas: int, rank: int, *, seed: int, offset: Callable[[], int] | None = None):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.offset = offset

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip = self.offset() if self.offset is not None else 0
        return iter(indices[skip:])
