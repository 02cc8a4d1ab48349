"""PyTorch: an IterableDataset over a split and a collate function (imported only with torch)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .dataset import Dataset, _resolve_rank, open_dataset
from .transforms import resample, stack, to_float32

# Older torch (1.13 in Debian bookworm) has no uint16/uint32 tensors and its default collate refuses
# them: widen to the next signed type, which holds every value.
_WIDEN = {np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64, np.dtype(np.uint64): np.int64}


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    widened = _WIDEN.get(arr.dtype)
    if widened is not None:
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError("uint64 values above int64's range cannot become a tensor")
        arr = arr.astype(widened)
    return torch.from_numpy(np.ascontiguousarray(arr))


def collate(samples: Sequence[Dict[str, Any]], keys: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """A batch of sample dicts as tensors: transforms.stack (dates padded, `time_mask`, `doy`), then
    every array as a tensor (uint16 -> int32, uint32 -> int64); `json` and `__key__` stay lists."""
    batch = stack(samples, keys)
    return {k: to_tensor(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


class SatfactoryIterableDataset(IterableDataset):
    """One split of a satfactory dataset for torch's DataLoader.

    Shards are split across ranks (rank/world_size arguments, else torch.distributed, else
    $RANK/$WORLD_SIZE) with equal sample counts per rank (`equalize`, see Dataset.samples), and
    across the DataLoader's workers. Call set_epoch(e) before each epoch when shuffling (and keep
    persistent_workers=False, so workers see it). Optional per-sample steps, in this order:
    to_float (scale/offset, nodata replaced by `nodata` when given), resample to `resolution` metres
    (`method` for bands, `label_method` for class ids), then `transform(sample)`."""

    def __init__(
        self,
        dataset: Any,
        split: str,
        *,
        shuffle_shards: bool = False,
        seed: int = 0,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        equalize: Optional[str] = "repeat",
        verify: bool = True,
        to_float: bool = False,
        nodata: Optional[float] = None,
        resolution: Optional[float] = None,
        method: str = "bilinear",
        label_method: str = "nearest",
        transform: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None,
    ):
        super().__init__()
        self.dataset: Dataset = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
        self.split = split
        self.dataset.shards(split)  # an unknown split fails here, not in a worker
        self.shuffle_shards = shuffle_shards
        self.seed = seed
        self.epoch = 0
        self.rank, self.world_size = _resolve_rank(rank, world_size)
        self.equalize = equalize
        self.verify = verify
        self.to_float = to_float
        self.nodata = nodata
        self.resolution = resolution
        self.method = method
        self.label_method = label_method
        self.transform = transform

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        """Samples this rank reads per epoch (all its workers together)."""
        return self.dataset.samples_per_rank(self.split, self.world_size, self.equalize)[self.rank]

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for sample in self.dataset.samples(
            self.split,
            self.shuffle_shards,
            self.seed,
            epoch=self.epoch,
            rank=self.rank,
            world_size=self.world_size,
            worker=worker,
            num_workers=workers,
            equalize=self.equalize,
            verify=self.verify,
        ):
            if self.to_float:
                sample = to_float32(sample, self.nodata)
            if self.resolution is not None:
                sample = resample(sample, self.resolution, self.method, self.label_method)
            if self.transform is not None:
                sample = self.transform(sample)
            yield sample
