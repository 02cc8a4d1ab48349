#!/usr/bin/python3
"""The band statistics a dataset's manifest must hold, computed with numpy from the shards alone
(tarfile + np.load, as read_shards.py reads them): every date of every train sample, pixels that are
not the band's nodata, inside the imagery (valid.npy, when present) and not over an SCL pixel of an
excluded class. Band pixels and SCL pixels are matched by block: a band finer than SCL repeats each
SCL pixel over the k x k band pixels it covers; a coarser band is out when any SCL pixel of its
k x k block is excluded.

Usage: stats_oracle.py DATASET_DIR EXCLUDED_SCL (comma-separated, may be empty)
Prints JSON: {"samples": train samples, "padded": those reaching past the imagery, "bands": {band: {count, mean, std, min, max, p1, p2, p50,
p98, p99}}, "allPixels": {band: mean over every non-nodata pixel, clouds included}}."""
import io
import json
import os
import sys
import tarfile

import numpy as np

PERCENTILES = [1, 2, 50, 98, 99]


def samples_of(root, shard):
    with open(os.path.join(root, shard["path"]), "rb") as f:
        data = f.read()
    samples = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar:
            base = info.name.rsplit("/", 1)[-1]
            key, member = base.split(".", 1)
            samples.setdefault(key, {})[member] = tar.extractfile(info).read()
    return samples


def block_mask(mask, side):
    """[T, s, s] bool at another side: repeated when finer, any over blocks when coarser."""
    s = mask.shape[-1]
    if side >= s:
        k = side // s
        assert k * s == side
        return np.repeat(np.repeat(mask, k, axis=-2), k, axis=-1)
    k = s // side
    assert k * side == s
    return mask.reshape(mask.shape[0], side, k, side, k).any(axis=(2, 4))


def main(root, excluded):
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    nodata = {b["name"]: b["nodata"] for g in manifest["bands"] for b in g["bands"]}
    values = {name: [] for name in nodata}
    every = {name: [] for name in nodata}
    n = padded = 0
    for shard in manifest["shards"]:
        if shard["split"] != "train":
            continue
        for key, members in samples_of(root, shard).items():
            meta = json.loads(members["json"])
            assert meta["split"] == "train"
            n += 1
            scl = np.load(io.BytesIO(members["scl.npy"])) if "scl.npy" in members else None
            valid = np.load(io.BytesIO(members["valid.npy"])) if "valid.npy" in members else None
            if valid is not None and not valid.all():
                padded += 1
            for group, spec in meta["groups"].items():
                cube = np.load(io.BytesIO(members["%s.npy" % group]), allow_pickle=False)
                T, C, H, W = cube.shape
                out = np.zeros((T, H, W), dtype=bool)
                if scl is not None and excluded:
                    out |= block_mask(np.isin(scl, excluded), H)
                if valid is not None:
                    # A band pixel is inside when every finest pixel under it is.
                    outside = ~valid.astype(bool)[None]
                    out |= block_mask(outside, H)
                for c, band in enumerate(spec["bands"]):
                    arr = cube[:, c]
                    keep = ~out
                    if nodata[band] is not None:
                        keep &= arr != nodata[band]
                        every[band].append(arr[arr != nodata[band]])
                    else:
                        every[band].append(arr.reshape(-1))
                    values[band].append(arr[keep])
    bands, all_pixels = {}, {}
    for band, parts in values.items():
        x = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)
        if x.size == 0:
            bands[band] = dict(count=0, mean=None, std=None, min=None, max=None,
                               **{"p%d" % p: None for p in PERCENTILES})
        else:
            pct = np.percentile(x, PERCENTILES)
            bands[band] = dict(count=int(x.size), mean=float(x.mean(dtype=np.float64)),
                               std=float(x.std(dtype=np.float64)), min=int(x.min()), max=int(x.max()),
                               **{"p%d" % p: float(v) for p, v in zip(PERCENTILES, pct)})
        y = np.concatenate(every[band]) if every[band] else np.zeros(0)
        all_pixels[band] = float(y.mean()) if y.size else None
    json.dump({"samples": n, "padded": padded, "bands": bands, "allPixels": all_pixels}, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], [int(v) for v in sys.argv[2].split(",") if v])
