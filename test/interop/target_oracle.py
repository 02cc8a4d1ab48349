"""Independent oracle for regression and classification targets: shapely intersects every feature
with every pixel box (exact areas) and with the window. Reads a JSON request (features with a
geometry in the windows' CRS, a numeric "value" and a class "cls"; windows with key, x0, y1 (upper
left), px, size), prints JSON per window: "value" (sum(v_i a_i) / sum(a_i) over the features
meeting each pixel, null where none) and "coverage" (sum(a_i) / pixel area), row-major, and
"union": per class the area of the union of its features inside the window, in pixels. With
"src_crs" and "dst_crs", GDAL/PROJ (rasterio.warp) first reprojects the geometries."""
import json
import sys

from shapely.geometry import box, shape
from shapely.ops import unary_union


def main(path):
    req = json.load(open(path))
    if req.get("src_crs"):
        from rasterio.warp import transform_geom

        polys = [shape(transform_geom(req["src_crs"], req["dst_crs"], f["geometry"])) for f in req["features"]]
    else:
        polys = [shape(f["geometry"]) for f in req["features"]]
    values = [f.get("value") for f in req["features"]]
    classes = [f.get("cls") for f in req["features"]]
    bounds = [p.bounds for p in polys]
    out = {}
    for w in req["windows"]:
        px, n, x0, y1 = w["px"], w["size"], w["x0"], w["y1"]
        wx0, wy0, wx1, wy1 = x0, y1 - n * px, x0 + n * px, y1
        window = box(wx0, wy0, wx1, wy1)
        near = [i for i, b in enumerate(bounds) if b[0] < wx1 and b[2] > wx0 and b[1] < wy1 and b[3] > wy0]
        union = {}
        for c in sorted(set(classes[i] for i in near), key=str):
            u = unary_union([polys[i] for i in near if classes[i] == c]).intersection(window)
            if u.area > 0:
                union[str(c)] = u.area / (px * px)
        value, coverage = [], []
        if req.get("pixels", True):
            for r in range(n):
                for c in range(n):
                    b = box(x0 + c * px, y1 - (r + 1) * px, x0 + (c + 1) * px, y1 - r * px)
                    num, den = 0.0, 0.0
                    for i in near:
                        a = polys[i].intersection(b).area / (px * px)
                        if a > 0:
                            num += values[i] * a
                            den += a
                    value.append(num / den if den > 0 else None)
                    coverage.append(den)
        out[w["key"]] = {"value": value, "coverage": coverage, "union": union}
    json.dump(out, sys.stdout)


main(sys.argv[1])
