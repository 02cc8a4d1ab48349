"""open_dataset(uri): the manifest, and the samples of a split as dicts of numpy arrays."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import _assign
from ._source import check_relative, source_for

MANIFEST = "manifest.json"
FORMAT = "satfactory-webdataset"
# Manifest versions this loader reads; a newer writer may change what members mean.
VERSIONS = ("2",)
# Remote shards being verified are held in memory up to this size, then in a temp file.
SPOOL_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


class ShardIntegrityError(IOError):
    """A shard's bytes differ from the manifest (size or sha256), or its tar is not a WebDataset."""


def _split_member(name: str) -> Optional[Tuple[str, str]]:
    """WebDataset's split of a member path: key up to the first dot of the basename."""
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    if dot <= slash + 1 or dot == len(name) - 1:
        return None
    return name[:dot], name[dot + 1:]


# The header satfactory (and numpy) write for a C-order array, format 1.0.
_NPY_HEADER = re.compile(r"\{'descr': '([<>|][a-z]\d+)', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$")


def load_npy(raw: bytes) -> np.ndarray:
    """An .npy member as an array. np.load parses each header with Python's tokenizer (about 1 ms an
    array with numpy 1.24, more than the rest of the read); headers of the plain form are parsed
    here instead, and anything else goes to np.load(allow_pickle=False)."""
    if raw[:8] == b"\x93NUMPY\x01\x00":
        end = 10 + int.from_bytes(raw[8:10], "little")
        m = _NPY_HEADER.match(raw[10:end].decode("latin1"))
        if m:
            dtype = np.dtype(m.group(1))
            shape = tuple(int(d) for d in m.group(2).split(",") if d.strip())
            count = int(np.prod(shape, dtype=np.int64))
            if dtype.kind in "biuf" and len(raw) - end == count * dtype.itemsize:
                return np.frombuffer(raw, dtype, count, end).reshape(shape).copy()
    return np.load(io.BytesIO(raw), allow_pickle=False)


def decode_sample(key: str, members: Dict[str, bytes]) -> Dict[str, Any]:
    """One sample dict: `json` parsed, each `<name>.npy` loaded (allow_pickle=False) under `<name>`
    (so `<key>.regression.npy`, float32 with NaN where no feature is, under "regression"), `cls`
    (the WebDataset class member: a decimal training index in ASCII) as an int, each other
    `<name>.json` parsed under `<name>` (`vector`: the objects of `<key>.vector.json`, geometries in
    label-grid pixel coordinates), other members as bytes under their name; `__key__` is the sample key."""
    sample: Dict[str, Any] = {"__key__": key}
    for name, raw in members.items():
        if name == "json":
            sample["json"] = json.loads(raw.decode("utf-8"))
        elif name == "cls":
            text = raw.decode("ascii").strip()
            if not text.isdigit():
                raise ShardIntegrityError("sample %s: member cls is %r, not a decimal class index" % (key, raw[:20]))
            sample["cls"] = int(text)
        elif name.endswith(".json"):
            sample[name[: -len(".json")]] = json.loads(raw.decode("utf-8"))
        elif name.endswith(".npy"):
            sample[name[: -len(".npy")]] = load_npy(raw)
        else:
            sample[name] = raw
    return sample


def _resolve_rank(rank: Optional[int], world_size: Optional[int]) -> Tuple[int, int]:
    """Arguments first, then an initialized torch.distributed, then RANK/WORLD_SIZE (torchrun)."""
    if rank is not None and world_size is not None:
        return int(rank), int(world_size)
    if rank is not None or world_size is not None:
        raise ValueError("give both rank and world_size, or neither")
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _resolve_worker(worker: Optional[int], num_workers: Optional[int]) -> Tuple[int, int]:
    """Arguments first, then torch's DataLoader worker info (only if torch is already imported)."""
    if worker is not None and num_workers is not None:
        return int(worker), int(num_workers)
    if worker is not None or num_workers is not None:
        raise ValueError("give both worker and num_workers, or neither")
    data = sys.modules.get("torch.utils.data")
    info = data.get_worker_info() if data is not None else None
    return (info.id, info.num_workers) if info is not None else (0, 1)


class Dataset:
    """A satfactory dataset: `.manifest` (the parsed manifest.json), `.splits`, `.samples(split)`."""

    def __init__(self, uri: str):
        self.uri = uri
        self.source = source_for(uri)
        manifest = json.loads(self.source.read_bytes(MANIFEST).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("%s/%s is not a %s manifest" % (self.source.uri, MANIFEST, FORMAT))
        if manifest.get("version") not in VERSIONS:
            raise ValueError(
                "%s/%s has manifest version %r; this loader reads version %s (upgrade satfactory_data)"
                % (self.source.uri, MANIFEST, manifest.get("version"), " or ".join(VERSIONS))
            )
        shards = manifest.get("shards")
        if not isinstance(shards, list):
            raise ValueError("%s/%s has no shards list" % (self.source.uri, MANIFEST))
        for i, shard in enumerate(shards):
            missing = [k for k in ("path", "split", "bytes", "sha256", "samples") if k not in shard]
            if missing:
                raise ValueError("%s/%s: shards[%d] lacks %s" % (self.source.uri, MANIFEST, i, ", ".join(missing)))
            check_relative(shard["path"])
        self.manifest: Dict[str, Any] = manifest

    def __repr__(self):
        return "Dataset(%r, splits=%r)" % (self.source.uri, {s: self.count(s) for s in self.splits})

    @property
    def splits(self) -> List[str]:
        """Split names in manifest order: those with shards, then any the manifest lists empty."""
        names: List[str] = []
        for shard in self.manifest["shards"]:
            if shard["split"] not in names:
                names.append(shard["split"])
        for name in self.manifest.get("splits") or {}:
            if name not in names:
                names.append(name)
        return names

    @property
    def classes(self) -> Optional[List[Dict[str, Any]]]:
        """The class table (manifest classes.table), in training index order: each entry's `id` (in
        `.labels.npy`), `index` (0..K-1), `value` (in the label data), `name`/`color` when the job
        fixed the table, and its pixel and sample counts. None for a dataset without labels."""
        classes = self.manifest.get("classes")
        if not classes:
            return None
        return sorted(classes["table"], key=lambda c: c["index"])

    @property
    def regression(self) -> Optional[Dict[str, Any]]:
        """The regression target (manifest regression) of a regression job: its `property`, `unit`,
        and `values` (samples, pixels, min, max, mean over all splits and per split). None for a
        dataset with classes or without labels (a regression dataset has no class table)."""
        return self.manifest.get("regression")

    @property
    def ignore_index(self) -> Optional[int]:
        """The id of ignored pixels in `.labels.npy`, kept by `training_labels` (the loss's ignore_index)."""
        classes = self.manifest.get("classes") or {}
        return classes.get("ignoreIndex")

    @property
    def class_names(self) -> List[str]:
        """One name per training index: the table's names (the value when it has none; "background"
        for a background that is a class of its own)."""
        classes = self.manifest.get("classes")
        if not classes:
            return []
        by_id = {c["id"]: c for c in classes["table"]}
        names = []
        for i in classes["trainingIds"]:
            c = by_id.get(i)
            names.append("background" if c is None else str(c.get("name", c["value"])))
        return names

    def label_lut(self) -> np.ndarray:
        """A lookup table id -> training index (int64, 65536 entries): `lut[labels]`. The ignore index
        stays itself; ids the table does not know (none in a valid dataset) map to the ignore index,
        or -1 without one."""
        classes = self.manifest.get("classes")
        if not classes:
            raise ValueError("%s has no labels (manifest classes is null)" % self.source.uri)
        ignore = classes.get("ignoreIndex")
        lut = np.full(65536, -1 if ignore is None else ignore, dtype=np.int64)
        for index, i in enumerate(classes["trainingIds"]):
            lut[i] = index
        return lut

    def training_labels(self, labels: np.ndarray) -> np.ndarray:
        """`.labels.npy` ids as contiguous training indices (int64); ignored pixels keep the ignore index."""
        return self.label_lut()[np.asarray(labels)]

    def shards(self, split: str) -> List[Dict[str, Any]]:
        if split not in self.splits:
            raise KeyError("no split %r in %s; its splits are %s" % (split, self.source.uri, ", ".join(self.splits)))
        return [s for s in self.manifest["shards"] if s["split"] == split]

    def count(self, split: str) -> int:
        """Samples in the split (from the manifest)."""
        return sum(s["samples"] for s in self.shards(split))

    def samples_per_rank(self, split: str, world_size: int = 1, equalize: Optional[str] = "repeat") -> List[int]:
        """Samples each rank reads per epoch (see `samples`)."""
        return _assign.per_rank(self.count(split), world_size, equalize)

    def samples(
        self,
        split: str,
        shuffle_shards: bool = False,
        seed: int = 0,
        *,
        epoch: int = 0,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        worker: Optional[int] = None,
        num_workers: Optional[int] = None,
        equalize: Optional[str] = "repeat",
        verify: bool = True,
    ) -> Iterator[Dict[str, Any]]:
        """Yields the split's samples this rank and worker read, one dict each (decode_sample).

        shuffle_shards: read the shards in an order seeded by (seed, epoch); every rank and worker
        must pass the same seed and epoch. rank/world_size: default torch.distributed when
        initialized, else $RANK/$WORLD_SIZE, else 0/1. worker/num_workers: default the torch
        DataLoader worker this runs in. equalize: how ranks get equal counts when the split does not
        divide evenly ("repeat", "drop" or None; see _assign). verify: check each shard's size and
        sha256 against the manifest before any of its samples is yielded (a ShardIntegrityError
        otherwise)."""
        shards = self.shards(split)
        r, w = _resolve_rank(rank, world_size)
        k, n = _resolve_worker(worker, num_workers)
        order = _assign.shard_order(len(shards), shuffle_shards, seed, epoch)
        for index, start, end in _assign.plan([s["samples"] for s in shards], order, r, w, k, n, equalize):
            for sample in self.read_shard(shards[index], start, end, verify=verify):
                yield sample

    def read_shard(
        self, shard: Dict[str, Any], start: int = 0, end: Optional[int] = None, verify: bool = True
    ) -> Iterator[Dict[str, Any]]:
        """Samples [start, end) of one shard, in tar order."""
        stream = self._open_verified(shard) if verify else self.source.open(shard["path"])
        where = "%s/%s" % (self.source.uri, shard["path"])
        whole = start == 0 and end is None
        try:
            index = 0
            key = None
            members: Dict[str, bytes] = {}
            seen = set()
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for info in tar:
                    if not info.isfile():
                        raise ShardIntegrityError("%s: tar entry %s is not a file" % (where, info.name))
                    parts = _split_member(info.name)
                    if parts is None:
                        raise ShardIntegrityError("%s: tar entry %s has no <key>.<name> form" % (where, info.name))
                    if parts[0] != key:
                        if key is not None:
                            if index >= start:
                                yield decode_sample(key, members)
                            index += 1
                            if end is not None and index >= end:
                                return
                        if parts[0] in seen:
                            raise ShardIntegrityError("%s: sample %s is split into non-adjacent runs" % (where, parts[0]))
                        seen.add(parts[0])
                        key, members = parts[0], {}
                    # Members of skipped samples are never read: the stream just moves past them.
                    if index >= start:
                        members[parts[1]] = tar.extractfile(info).read()
                if key is not None:
                    if index >= start:
                        yield decode_sample(key, members)
                    index += 1
            if whole and index != shard["samples"]:
                raise ShardIntegrityError("%s: holds %d samples, the manifest says %d" % (where, index, shard["samples"]))
        except tarfile.TarError as error:
            raise ShardIntegrityError("%s: not a readable tar: %s" % (where, error)) from None
        finally:
            stream.close()

    def _open_verified(self, shard: Dict[str, Any]):
        """The shard as a stream whose bytes were checked against the manifest's size and sha256.
        A local file is hashed, then read again; a remote one is spooled (memory, then a temp file)."""
        where = "%s/%s" % (self.source.uri, shard["path"])
        digest = hashlib.sha256()
        size = 0
        local = self.source.local_path(shard["path"])
        if local is not None:
            with self.source.open(shard["path"]) as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
            out = None
        else:
            out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
            src = self.source.open(shard["path"])
            try:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            finally:
                src.close()
        problem = None
        if size != shard["bytes"]:
            problem = "%d bytes, the manifest says %d" % (size, shard["bytes"])
        elif digest.hexdigest() != shard["sha256"]:
            problem = "sha256 %s, the manifest says %s" % (digest.hexdigest(), shard["sha256"])
        if problem is not None:
            if out is not None:
                out.close()
            raise ShardIntegrityError("%s: %s (damaged or partial copy? pull it again)" % (where, problem))
        if out is None:
            return self.source.open(shard["path"])
        out.seek(0)
        return out


def open_dataset(uri: str) -> Dataset:
    """Opens a dataset: a folder, file:///abs/path, s3://bucket/prefix or http(s)://host/path."""
    return Dataset(str(uri))
