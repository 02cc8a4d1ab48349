#!/usr/bin/python3
# Reads a satfactory dataset the way a Python user would (tarfile + numpy, no satfactory code) and
# checks every member against its sample .json and the manifest. Prints one JSON summary on stdout.
"""Usage: read_shards.py DATASET_DIR [--detail KEY ...]

Exit status 0 when every check passes, 1 when a problem was found, 2 on bad usage.
--detail KEY adds dtype, shape, sum, min, max, first and last value of each array of that sample.
"""
import hashlib
import io
import json
import os
import struct
import sys
import tarfile

import numpy as np

# Member name -> (dtype, ndim) for the members whose layout the dataset contract fixes.
FIXED = {
    "scl.npy": ("uint8", 3),
    "labels.npy": ("uint16", 2),
    "instances.npy": ("uint32", 2),
    "coverage.npy": ("float32", 2),
    "double.npy": ("uint8", 2),
    "distance.npy": ("float32", 2),
    "buildings.npy": ("uint8", 3),
    "multilabel.npy": ("uint8", 1),
}
LABEL_MEMBERS = ("labels.npy", "instances.npy", "coverage.npy", "double.npy", "distance.npy")


def split_member(path):
    """WebDataset's rule: the key runs up to the first dot of the basename."""
    slash = path.rfind("/")
    dot = path.find(".", slash + 1)
    if dot <= slash + 1 or dot == len(path) - 1:
        return None
    return path[:dot], path[dot + 1 :]


def scalar(value):
    return value.item() if hasattr(value, "item") else value


def describe(arr):
    flat = arr.reshape(-1)
    out = {"dtype": str(arr.dtype), "shape": list(arr.shape)}
    if flat.size:
        total = flat.astype(np.float64).sum() if arr.dtype.kind == "f" else int(flat.astype(np.int64).sum())
        out.update(
            sum=scalar(total),
            min=scalar(flat.min()),
            max=scalar(flat.max()),
            first=scalar(flat[0]),
            last=scalar(flat[-1]),
        )
    return out


class Checker:
    def __init__(self, root, detail_keys):
        self.root = root
        self.detail_keys = set(detail_keys)
        self.problems = []
        self.warnings = []
        self.members = {}
        self.details = {}
        self.splits = {"train": 0, "validation": 0, "test": 0}
        self.samples = 0
        self.shards = 0
        self.seen_keys = {}

    def problem(self, text):
        self.problems.append(text)

    def run(self):
        with open(os.path.join(self.root, "manifest.json"), "rb") as f:
            self.manifest = json.load(f)
        m = self.manifest
        self.groups = {g["group"]: g for g in m["bands"]}
        for shard in m["shards"]:
            self.check_shard(shard)
        totals = m["totals"]
        if totals["planned"] != totals["written"] + totals["rejected"]:
            self.problem("totals: planned %(planned)d != written %(written)d + rejected %(rejected)d" % totals)
        if self.samples != totals["written"]:
            self.problem("totals: manifest says %d written, shards hold %d" % (totals["written"], self.samples))
        for split, count in self.splits.items():
            declared = m["splits"][split]["samples"]
            if declared != count:
                self.problem("splits.%s: manifest says %d samples, shards hold %d" % (split, declared, count))

    def check_shard(self, shard):
        path = os.path.join(self.root, shard["path"])
        name = shard["path"]
        if not os.path.isfile(path):
            self.problem("%s: missing" % name)
            return
        with open(path, "rb") as f:
            data = f.read()
        self.shards += 1
        if len(data) != shard["bytes"]:
            self.problem("%s: %d bytes, manifest says %d" % (name, len(data), shard["bytes"]))
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            self.problem("%s: sha256 differs from the manifest" % name)
        samples = {}
        order = []
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                if not info.isfile():
                    self.problem("%s: %s is not a regular file" % (name, info.name))
                    continue
                parts = split_member(info.name)
                if parts is None:
                    self.problem("%s: %s has no <key>.<name> form" % (name, info.name))
                    continue
                key, member = parts
                if key not in samples:
                    samples[key] = {}
                    order.append(key)
                elif order[-1] != key:
                    self.problem("%s: sample %s is split into non-adjacent runs" % (name, key))
                samples[key][member] = tar.extractfile(info).read()
        if len(samples) != shard["samples"]:
            self.problem("%s: holds %d samples, manifest says %d" % (name, len(samples), shard["samples"]))
        self.samples += len(samples)
        self.splits[shard["split"]] = self.splits.get(shard["split"], 0) + len(samples)
        for key in order:
            if key in self.seen_keys:
                self.problem("sample %s is in both %s and %s" % (key, self.seen_keys[key], name))
            self.seen_keys[key] = name
            self.check_sample(name, shard["split"], key, samples[key])

    def load(self, where, raw):
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as error:  # noqa: BLE001 - any failure to load is the finding
            self.problem("%s: np.load failed: %s" % (where, error))
            return None
        if arr.ndim > 1 and not arr.flags.c_contiguous:
            self.problem("%s: not C order" % where)
        return arr

    def note(self, member, arr):
        entry = self.members.setdefault(member, {"count": 0, "dtypes": [], "shapes": []})
        entry["count"] += 1
        if str(arr.dtype) not in entry["dtypes"]:
            entry["dtypes"].append(str(arr.dtype))
        if list(arr.shape) not in entry["shapes"]:
            entry["shapes"].append(list(arr.shape))

    def check_png(self, where, raw, T):
        """A quicklook: a PNG (signature, IHDR) of T frames side by side, 8-bit RGB."""
        self.members.setdefault("png", {"count": 0})["count"] += 1
        if raw[:8] != b"\x89PNG\r\n\x1a\n" or raw[12:16] != b"IHDR":
            self.problem("%s.png is not a PNG" % where)
            return
        width, height = struct.unpack(">II", raw[16:24])
        depth, colour = raw[24], raw[25]
        if (depth, colour) != (8, 2) or height == 0 or width != T * height:
            self.problem("%s.png: %dx%d, depth %d, colour type %d; want 8-bit RGB, %d frames side by side" % (where, width, height, depth, colour, T))

    def check_sample(self, shard, split, key, members):
        where = "%s: %s" % (shard, key)
        if "json" not in members:
            self.problem("%s has no .json member" % where)
            return
        try:
            meta = json.loads(members["json"].decode("utf-8"))
        except ValueError as error:
            self.problem("%s.json is not JSON: %s" % (where, error))
            return
        self.members.setdefault("json", {"count": 0})["count"] += 1
        detail = {"json": meta} if key in self.detail_keys else None
        if meta.get("split", split) != split:
            self.problem("%s.json says split %s, shard is %s" % (where, meta.get("split"), split))
        dates = meta.get("dates", [])
        T = len(dates)
        if dates != sorted(dates):
            self.problem("%s.json: dates are not sorted" % where)
        for field in ("doy", "items"):
            if field in meta and len(meta[field]) != T:
                self.problem("%s.json: %d %s for %d dates" % (where, len(meta[field]), field, T))
        extents = {}
        groups = meta.get("groups", {})
        for group, spec in groups.items():
            member = "%s.npy" % group
            if member not in members:
                self.problem("%s: group %s has no %s member" % (where, group, member))
                continue
            arr = self.load("%s.%s" % (where, member), members[member])
            if arr is None:
                continue
            self.note(member, arr)
            if detail is not None:
                detail[member] = describe(arr)
            if arr.dtype != np.uint16 or arr.ndim != 4:
                self.problem("%s.%s: %s %dD, want uint16 [T, C, H, W]" % (where, member, arr.dtype, arr.ndim))
                continue
            if list(arr.shape) != list(spec.get("shape", arr.shape)):
                self.problem("%s.%s: shape %s, json says %s" % (where, member, list(arr.shape), spec.get("shape")))
            if arr.shape[0] != T:
                self.problem("%s.%s: %d dates in the array, %d in json" % (where, member, arr.shape[0], T))
            if arr.shape[1] != len(spec.get("bands", [])):
                self.problem("%s.%s: %d channels, json names %d bands" % (where, member, arr.shape[1], len(spec["bands"])))
            declared = self.groups.get(group)
            if declared is None:
                self.problem("%s: group %s is not in the manifest" % (where, group))
            elif [b["name"] for b in declared["bands"]] != spec.get("bands"):
                self.problem("%s.%s: bands %s, manifest says %s" % (where, member, spec.get("bands"), [b["name"] for b in declared["bands"]]))
            resolution = spec.get("resolution") or (declared or {}).get("resolution")
            if resolution:
                extents[member] = (arr.shape[2] * resolution, arr.shape[3] * resolution)
        if len(set(extents.values())) > 1:
            self.problem("%s: groups cover different extents (metres): %s" % (where, extents))
        label_shape = None
        for member, raw in members.items():
            if member == "json" or member[: -len(".npy")] in groups:
                continue
            if member == "png":
                self.check_png(where, raw, T)
                continue
            if member not in FIXED:
                self.warnings.append("%s: unknown member %s" % (where, member))
                continue
            arr = self.load("%s.%s" % (where, member), raw)
            if arr is None:
                continue
            self.note(member, arr)
            if detail is not None:
                detail[member] = describe(arr)
            dtype, ndim = FIXED[member]
            if str(arr.dtype) != dtype or arr.ndim != ndim:
                self.problem("%s.%s: %s %dD, want %s %dD" % (where, member, arr.dtype, arr.ndim, dtype, ndim))
                continue
            if member == "scl.npy" and arr.shape[0] != T:
                self.problem("%s.scl.npy: %d dates in the array, %d in json" % (where, arr.shape[0], T))
            if member in LABEL_MEMBERS:
                if label_shape is None:
                    label_shape = arr.shape
                elif arr.shape != label_shape:
                    self.problem("%s.%s: shape %s, other label members %s" % (where, member, list(arr.shape), list(label_shape)))
        if detail is not None:
            self.details[key] = detail

    def summary(self):
        return {
            "ok": not self.problems,
            "problems": self.problems,
            "warnings": self.warnings,
            "dataset": self.manifest.get("name"),
            "numpy": np.__version__,
            "shards": self.shards,
            "samples": self.samples,
            "splits": self.splits,
            "members": self.members,
            "details": self.details,
        }


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    details = []
    rest = argv[2:]
    while rest:
        if rest[0] != "--detail" or len(rest) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        details.append(rest[1])
        rest = rest[2:]
    checker = Checker(root, details)
    checker.run()
    json.dump(checker.summary(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0 if not checker.problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
