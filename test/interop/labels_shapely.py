"""Reference pixel coverage with shapely: for each feature, every pixel box in its bounding box,
polygon.intersection(box).area / pixel area (the DeepSatData way). JSON in (file), JSON out (stdout).
Input: {"grid": {originX, originY, pixelSize, width, height}, "features": [[[ring, ...], ...], ...]}
with rings as flat [x0, y0, x1, y1, ...]. Output: per feature a list of [row, col, fraction > 0]."""
import json
import math
import sys

from shapely.geometry import MultiPolygon, Polygon, box


def geometry(parts):
    polys = []
    for rings in parts:
        pts = [list(zip(r[0::2], r[1::2])) for r in rings]
        polys.append(Polygon(pts[0], pts[1:]))
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def coverage(geom, grid):
    ox, oy, ps = grid["originX"], grid["originY"], grid["pixelSize"]
    minx, miny, maxx, maxy = geom.bounds
    c0 = max(0, math.floor((minx - ox) / ps))
    c1 = min(grid["width"], math.ceil((maxx - ox) / ps))
    r0 = max(0, math.floor((oy - maxy) / ps))
    r1 = min(grid["height"], math.ceil((oy - miny) / ps))
    out = []
    for r in range(r0, r1):
        for c in range(c0, c1):
            x = ox + c * ps
            y = oy - r * ps
            a = geom.intersection(box(x, y - ps, x + ps, y)).area / (ps * ps)
            if a > 0:
                out.append([r, c, a])
    return out


if __name__ == "__main__":
    spec = json.load(open(sys.argv[1]))
    json.dump([coverage(geometry(f), spec["grid"]) for f in spec["features"]], sys.stdout)
