"""Timings for the label bench (bench/labels-bench.ts), measured inside Python so that interpreter
startup and JSON parsing are excluded. Input (file): {"windows": [{"grid": {...}, "features":
[parts, ...]}], "repeats": n, "shapelySeconds": budget}. Output (stdout): JSON seconds per approach."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labels_shapely import coverage, geometry  # noqa: E402

import rasterio.features  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

spec = json.load(open(sys.argv[1]))
windows = []
for w in spec["windows"]:
    g = w["grid"]
    geoms = [geometry(f) for f in w["features"]]
    windows.append((g, geoms, from_origin(g["originX"], g["originY"], g["pixelSize"], g["pixelSize"])))

# rasterio.features.rasterize(all_touched=True): best of n full passes.
best = float("inf")
for _ in range(spec["repeats"]):
    t0 = time.perf_counter()
    for g, geoms, transform in windows:
        rasterio.features.rasterize(
            [(geom, i + 1) for i, geom in enumerate(geoms)],
            out_shape=(g["height"], g["width"]),
            transform=transform,
            all_touched=True,
            dtype="uint16",
        )
    best = min(best, time.perf_counter() - t0)

# Per-pixel shapely intersection (DeepSatData): one pass over windows until the time budget is
# spent; the caller extrapolates by window pixels.
t0 = time.perf_counter()
done = 0
done_pixels = 0
for g, geoms, _ in windows:
    for geom in geoms:
        coverage(geom, g)
    done += 1
    done_pixels += g["width"] * g["height"]
    if time.perf_counter() - t0 > spec["shapelySeconds"]:
        break
shapely_seconds = time.perf_counter() - t0

json.dump({"rasterio": best, "shapely": shapely_seconds, "shapelyWindows": done, "shapelyPixels": done_pixels}, sys.stdout)
