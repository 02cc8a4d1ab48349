#!/usr/bin/python3
"""What a per-date dataset (job samples "per-date") must hold, from the source GeoTIFFs alone
(rasterio/GDAL, numpy; no satfactory code): for every planned (window, date) of the manifest's grid,
its SCL pixels counted with numpy, the cloudy share over the SCL pixels that are not 0 (no data),
and whether it must be written (some valid band pixel, cloudy share <= the maximum) or rejected; and
for every written sample, its arrays compared with the date's window read by rasterio.

Usage: per_date_oracle.py DATASET_DIR FIXTURE_DIR SPEC_JSON
SPEC_JSON: {"assets": {band: file stem, "scl": "SCL"}, "cloudy": [classes], "max": fraction}
Prints JSON: {"written": [keys], "rejected": {key: reason}, "snowDecided": [keys rejected only
because of snow], "cloudy": {key: share}, "checked": arrays compared, "mismatches": [...]}."""
import io
import json
import os
import sys
import tarfile

import numpy as np
import rasterio


def samples_of(path):
    out = {}
    with tarfile.open(path, mode="r:") as tar:
        for info in tar:
            base = info.name.rsplit("/", 1)[-1]
            key, member = base.split(".", 1)
            out.setdefault(key, {})[member] = tar.extractfile(info).read()
    return out


RASTERS = {}


def read(fixture, item, stem, x, y, size):
    """The window at (x, y) (top-left, in the file's CRS) of one file, and whether it lies inside."""
    path = os.path.join(fixture, item, stem + ".tif")
    if path not in RASTERS:
        with rasterio.open(path) as ds:
            RASTERS[path] = (ds.read(1), ds.transform)
    data, t = RASTERS[path]
    col = (x - t.c) / t.a
    row = (y - t.f) / t.e
    assert abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6
    col, row = round(col), round(row)
    inside = col >= 0 and row >= 0 and col + size <= data.shape[1] and row + size <= data.shape[0]
    return data[row : row + size, col : col + size], inside


def main():
    root, fixture, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    grid = manifest["grid"]
    item_of = {s["datetime"]: s["id"] for s in manifest["sources"]}
    bands = [b["name"] for g in manifest["bands"] for b in g["bands"]]
    cloudy_classes = spec["cloudy"]
    snow_free = [c for c in cloudy_classes if c != 11]

    samples = {}
    for shard in manifest["shards"]:
        samples.update(samples_of(os.path.join(root, shard["path"])))
    # Every planned window: the written ones (their .json) and the rejected ones (rejects.jsonl).
    windows = {}
    for key, members in samples.items():
        meta = json.loads(members["json"])
        windows[(meta["tile"], meta["row"], meta["col"])] = meta["window"]
    for line in open(os.path.join(root, "rejects.jsonl")):
        r = json.loads(line)
        windows[(r["tile"], r["row"], r["col"])] = r["key"].rsplit("_", 1)[0]

    out = {"written": [], "rejected": {}, "snowDecided": [], "cloudy": {}, "checked": 0, "mismatches": []}
    size = grid["windowSize"]
    for (tile, row, col), wkey in sorted(windows.items()):
        t = next(g for g in grid["tiles"] if g["tile"] == tile)
        x = t["originX"] + col * grid["stride"] * t["resolution"]
        y = t["originY"] - row * grid["stride"] * t["resolution"]
        for date in t["dates"]:
            item = item_of[date]
            key = wkey + "_" + date[:10].replace("-", "")
            scl, inside = read(fixture, item, spec["assets"]["scl"], x, y, size)
            if not inside:
                out["rejected"][key] = "edge"
                continue
            seen = scl != 0
            n = int(seen.sum())
            share = float(np.isin(scl, cloudy_classes)[seen].sum()) / n if n else 1.0
            share_no_snow = float(np.isin(scl, snow_free)[seen].sum()) / n if n else 1.0
            pixels = {b: read(fixture, item, spec["assets"][b], x, y, size)[0] for b in bands}
            valid = any(bool((p != 0).any()) for p in pixels.values())
            out["cloudy"][key] = share
            if not valid:
                out["rejected"][key] = "no-valid-pixels"
            elif share > spec["max"]:
                out["rejected"][key] = "too-cloudy"
                if share_no_snow <= spec["max"]:
                    out["snowDecided"].append(key)
            else:
                out["written"].append(key)
            if key not in samples:
                continue
            members = samples[key]
            meta = json.loads(members["json"])
            for group, g in meta["groups"].items():
                arr = np.load(io.BytesIO(members[group + ".npy"]), allow_pickle=False)
                want = np.stack([pixels[b] for b in g["bands"]])[None]
                out["checked"] += 1
                if arr.shape != want.shape or arr.dtype != want.dtype or not np.array_equal(arr, want):
                    out["mismatches"].append({"key": key, "group": group, "shape": list(arr.shape)})
            got_scl = np.load(io.BytesIO(members["scl.npy"]), allow_pickle=False)
            out["checked"] += 1
            if not np.array_equal(got_scl, scl[None]):
                out["mismatches"].append({"key": key, "group": "scl"})
    out["written"].sort()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
