#!/usr/bin/python3
"""Usage: grid_oracle.py DATASET_DIR SOURCES_JSON

Reads every sample of a satfactory dataset on a non-native grid (tarfile + numpy, no satfactory
code) and warps the source GeoTIFFs itself with GDAL (rasterio.warp.reproject, GDAL's defaults) onto
the sample's grid (its .json epsg and transform, the array's shape) with the resampling the .json
names per band; compares each [date, band] plane. SOURCES_JSON maps item id -> asset -> file path.
Prints JSON: per resampling, pixels compared, identical pixels, sum and max of |difference|, and
the sample keys with their source tile."""
import io
import json
import os
import sys
import tarfile

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject

root, sources_path = sys.argv[1], sys.argv[2]
sources = json.load(open(sources_path))
cache = {}


def source(path):
    if path not in cache:
        with rasterio.open(path) as ds:
            cache[path] = (ds.read(1), ds.transform, ds.crs, ds.nodata)
    return cache[path]


def split_member(name):
    base = name.rsplit("/", 1)[-1]
    dot = base.find(".")
    return name[: len(name) - len(base) + dot], base[dot + 1 :]


out = {"resampling": {}, "samples": []}
with rasterio.Env(GDAL_NUM_THREADS=1):
    # The final shards only (the run's work folder, inside the output, holds region shards too).
    for dirpath, files in [(os.path.join(root, s), sorted(os.listdir(os.path.join(root, s))))
                           for s in ("train", "validation", "test") if os.path.isdir(os.path.join(root, s))]:
        for f in files:
            if not f.endswith(".tar"):
                continue
            samples = {}
            with tarfile.open(os.path.join(dirpath, f)) as tar:
                for m in tar.getmembers():
                    key, ext = split_member(m.name)
                    samples.setdefault(key, {})[ext] = tar.extractfile(m).read()
            for key, members in sorted(samples.items()):
                meta = json.loads(members["json"])
                out["samples"].append({"key": meta["id"], "tile": meta["tile"], "sourceEpsg": meta["grid"]["sourceEpsg"]})
                arrays = {}
                for name, g in meta["groups"].items():
                    a = np.load(io.BytesIO(members[name + ".npy"]))
                    for c, band in enumerate(g["bands"]):
                        arrays[band] = a[:, c]
                if "scl.npy" in members:
                    arrays["scl"] = np.load(io.BytesIO(members["scl.npy"]))
                for band, cube in arrays.items():
                    kind = meta["grid"]["resampling"][band]
                    stats = out["resampling"].setdefault(kind, {"pixels": 0, "identical": 0, "sum": 0.0, "max": 0, "validDiffer": 0})
                    for t, item in enumerate(meta["items"]):
                        data, transform, crs, nodata = source(sources[item][band])
                        ours = cube[t]
                        ref = np.full(ours.shape, nodata if nodata is not None else 0, dtype=data.dtype)
                        reproject(data, ref, src_transform=transform, src_crs=crs, src_nodata=nodata,
                                  dst_transform=Affine.from_gdal(*meta["transform"]),
                                  dst_crs=CRS.from_epsg(meta["epsg"]), dst_nodata=nodata,
                                  resampling=getattr(Resampling, kind))
                        both = (ours != nodata) & (ref != nodata) if nodata is not None else np.ones(ours.shape, bool)
                        d = np.abs(ours.astype(np.int64) - ref.astype(np.int64))[both]
                        stats["pixels"] += int(ours.size)
                        stats["identical"] += int((ours == ref).sum())
                        stats["sum"] += float(d.sum())
                        stats["max"] = max(stats["max"], int(d.max()) if d.size else 0)
                        stats["validDiffer"] += int(((ours != nodata) != (ref != nodata)).sum()) if nodata is not None else 0
                        stats.setdefault("compared", 0)
                        stats["compared"] += int(both.sum())
print(json.dumps(out))
