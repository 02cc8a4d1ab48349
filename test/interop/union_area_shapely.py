#!/usr/bin/python3
"""Reference class areas with shapely: per class the unary_union of its polygons, intersected with
each window's box, area in pixels (window pixel size squared). JSON in (file), JSON out (stdout).
Input: {"features": [{"cls": id, "parts": [[ring, ...], ...]}], "windows": [{originX, originY,
pixelSize, width, height}]} with rings as flat [x0, y0, x1, y1, ...]. Output: {"invalid": [feature
positions shapely finds invalid, left out], "areas": per window {class id: area > 0},
"sums": per window {class id: sum of the polygons' own areas in the window}}."""
import json
import sys

from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import unary_union


def geometry(parts):
    polys = []
    for rings in parts:
        pts = [list(zip(r[0::2], r[1::2])) for r in rings]
        polys.append(Polygon(pts[0], pts[1:]))
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def main(path):
    spec = json.load(open(path))
    by_class, invalid = {}, []
    for k, f in enumerate(spec["features"]):
        g = geometry(f["parts"])
        if not g.is_valid:
            invalid.append(k)
            continue
        by_class.setdefault(f["cls"], []).append(g)
    unions = {c: unary_union(gs) for c, gs in by_class.items()}
    areas, sums = [], []
    for w in spec["windows"]:
        ps = w["pixelSize"]
        b = box(w["originX"], w["originY"] - w["height"] * ps, w["originX"] + w["width"] * ps, w["originY"])
        a, s = {}, {}
        for c, u in unions.items():
            if not u.intersects(b):
                continue
            v = u.intersection(b).area / (ps * ps)
            if v > 0:
                a[str(c)] = v
                s[str(c)] = sum(g.intersection(b).area for g in by_class[c]) / (ps * ps)
        areas.append(a)
        sums.append(s)
    json.dump({"invalid": invalid, "areas": areas, "sums": sums}, sys.stdout)


main(sys.argv[1])
