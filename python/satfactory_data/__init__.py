"""Reference reader of satfactory datasets (WebDataset shards + manifest.json).

    import satfactory_data as sd
    ds = sd.open_dataset("s3://bucket/datasets/crops")     # a folder, file://, s3://, http(s)://
    ds.manifest["bands"], ds.splits
    for sample in ds.samples("train", shuffle_shards=True, seed=0):
        sample["json"], sample["10m"], sample["labels"]     # dict, [T, C, H, W] uint16, [HL, WL] uint16

A per-date dataset (job `samples: "per-date"`) reads the same way: one sample per window and date,
key `<window>_<yyyymmdd>`, arrays [1, C, H, W], `sample["json"]["window"]` names its window. With
`output.quicklooks`, `sample["png"]` holds the quicklook's PNG bytes (not decoded).

Needs numpy; s3:// needs boto3; SatfactoryIterableDataset and collate need torch (imported only
when asked for).
"""
from ._assign import per_rank, plan, shard_order
from ._source import DatasetNotFoundError
from .dataset import Dataset, ShardIntegrityError, decode_sample, open_dataset
from .transforms import resample, resize, scale_offset, stack, to_float32

__all__ = [
    "Dataset",
    "DatasetNotFoundError",
    "SatfactoryIterableDataset",
    "ShardIntegrityError",
    "collate",
    "decode_sample",
    "open_dataset",
    "per_rank",
    "plan",
    "resample",
    "resize",
    "scale_offset",
    "shard_order",
    "stack",
    "to_float32",
    "to_tensor",
]


def __getattr__(name):
    # The torch parts load torch on first use only: numpy users never pay for it.
    if name in ("SatfactoryIterableDataset", "collate", "to_tensor"):
        from . import _torch

        return getattr(_torch, name)
    raise AttributeError("module 'satfactory_data' has no attribute %r" % name)
