"""The windows of a dataset's arrays read again with rasterio (GDAL), the way a GDAL user would.

stdin: JSON {"checks": [{"npy": path, "at": [t, c] (index into [T, C, h, w]), "file": GeoTIFF path,
"band": 1-based band, "bounds": [minx, miny, maxx, maxy], "nodata_to_nan": bool}]}.
stdout: JSON {"checked": n, "pixels": n, "mismatches": [{check index, pixels that differ, first}]}.
Each window is read boundless (outside the file: its nodata, else 0); float arrays compare NaN as
equal to NaN; nodata_to_nan turns the file's nodata into NaN first (what satfactory writes for radar).
"""
import json
import sys

import numpy as np
import rasterio
from rasterio.windows import from_bounds

spec = json.load(sys.stdin)
out = {"checked": 0, "pixels": 0, "mismatches": []}
cache = {}
for k, check in enumerate(spec["checks"]):
    arr = cache.get(check["npy"])
    if arr is None:
        arr = cache[check["npy"]] = np.load(check["npy"])
    ours = arr[tuple(check["at"])]
    with rasterio.open(check["file"]) as ds:
        window = from_bounds(*check["bounds"], transform=ds.transform).round_offsets().round_lengths()
        fill = ds.nodata if ds.nodata is not None else 0
        ref = ds.read(check["band"], window=window, boundless=True, fill_value=fill)
        if check.get("nodata_to_nan") and ds.nodata is not None:
            ref = ref.astype("float32")
            ref[ref == ds.nodata] = np.nan
    out["checked"] += 1
    out["pixels"] += int(ref.size)
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        out["mismatches"].append({"check": k, "why": f"ours {ours.dtype}{list(ours.shape)}, rasterio {ref.dtype}{list(ref.shape)}"})
        continue
    if ours.dtype.kind == "f":
        same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))
    else:
        same = ours == ref
    if not same.all():
        bad = np.argwhere(~same)
        first = tuple(int(i) for i in bad[0])
        out["mismatches"].append({"check": k, "pixels": int(bad.shape[0]), "first": list(first),
                                  "ours": float(ours[first]), "ref": float(ref[first])})
json.dump(out, sys.stdout)
