"""Which samples of a split each rank and each DataLoader worker reads.

The split's shards, in reading order (manifest order, or a seeded permutation), make one sequence of
N samples. Rank r of W gets the contiguous run [r*M, (r+1)*M) of it, so every rank gets exactly M
samples whatever the shard sizes:

- equalize="repeat" (default): M = ceil(N / W); the sequence continues from its start to fill the
  last rank, so the first W*M - N samples of the epoch are read twice (as torch's
  DistributedSampler pads). Every sample is read at least once.
- equalize="drop": M = floor(N / W); the last N - W*M samples of the sequence are not read this
  epoch (with shuffled shards, different ones each epoch).
- equalize=None: no padding, every sample exactly once; ranks differ by at most one sample (for
  evaluation that gathers results; a training step per batch would hang DDP).

A rank's run is split again, the same way without padding, among its DataLoader workers. A run
covers whole shards plus at most part of one shard at each end: shards are read whole, except that
a run starting inside a shard skips that shard's first samples and one ending inside it stops early.
"""
from __future__ import annotations

import random
from typing import List, Optional, Sequence, Tuple

Piece = Tuple[int, int, int]  # (shard index, first sample, end sample) within that shard

EQUALIZE = ("repeat", "drop", None)


def shard_order(n_shards: int, shuffle: bool, seed: int, epoch: int) -> List[int]:
    """Reading order of the shards: manifest order, or a permutation seeded by (seed, epoch)."""
    order = list(range(n_shards))
    if shuffle:
        random.Random("satfactory:%d:%d" % (seed, epoch)).shuffle(order)
    return order


def per_rank(total: int, world_size: int, equalize: Optional[str]) -> List[int]:
    """Samples each rank reads in one epoch."""
    if equalize not in EQUALIZE:
        raise ValueError("equalize must be 'repeat', 'drop' or None, not %r" % (equalize,))
    if equalize == "repeat":
        return [-(-total // world_size)] * world_size
    if equalize == "drop":
        return [total // world_size] * world_size
    return [total // world_size + (1 if r < total % world_size else 0) for r in range(world_size)]


def _even_runs(start: int, length: int, parts: int) -> List[Tuple[int, int]]:
    return [(start + length * k // parts, start + length * (k + 1) // parts) for k in range(parts)]


def plan(
    counts: Sequence[int],
    order: Sequence[int],
    rank: int = 0,
    world_size: int = 1,
    worker: int = 0,
    num_workers: int = 1,
    equalize: Optional[str] = "repeat",
) -> List[Piece]:
    """The pieces (shard index, start, end) that worker `worker` of rank `rank` reads, in order.
    `counts` are the samples of each shard (manifest order), `order` the reading order."""
    if not 0 <= rank < world_size:
        raise ValueError("rank %d is not in [0, %d)" % (rank, world_size))
    if not 0 <= worker < num_workers:
        raise ValueError("worker %d is not in [0, %d)" % (worker, num_workers))
    total = sum(counts[i] for i in order)
    sizes = per_rank(total, world_size, equalize)
    rank_start = sum(sizes[:rank])
    lo, hi = _even_runs(rank_start, sizes[rank], num_workers)[worker]
    if total == 0 or lo >= hi:
        return []
    # Offsets of the shards in reading order.
    starts = []
    at = 0
    for i in order:
        starts.append(at)
        at += counts[i]
    pieces: List[Piece] = []
    # Positions past the end wrap to the start (equalize="repeat" only reaches there).
    while lo < hi:
        s = lo % total
        e = min(s + (hi - lo), total)
        for i, o in zip(order, starts):
            a, b = max(s, o), min(e, o + counts[i])
            if a < b:
                pieces.append((i, a - o, b - o))
        lo += e - s
    return pieces
