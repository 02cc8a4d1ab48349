"""Oracle for points and lines as labels (issue 13): shapely builds each footprint itself (a point's
disc Point.buffer(r, quad_segs=16), its box Point.buffer(r, cap_style=3), a line's
buffer(w / 2, quad_segs=16) with round caps and joins) and intersects it with every pixel box of the
feature's grid; it does the same with the polygon satfactory built ("ours"), so the test can tell
rasterization error (ours vs its own exact areas) from construction error (ours vs shapely's buffer).
Our footprint of a polyline is a union given as parts that must not overlap (trapezoids): its
coverage is the sum of the parts' intersections, and "valid" says that the parts are valid polygons
whose union (shapely unary_union) has the area of their sum, i.e. that they do not overlap.
Reads a JSON request, prints JSON: per feature both coverages (row-major), both areas and the area of
their symmetric difference."""
import json
import math
import sys

from shapely.geometry import box, shape
from shapely.ops import unary_union


def footprint(geom, kind, r):
    if kind == "disc":
        return unary_union([p.buffer(r, 16) for p in getattr(geom, "geoms", [geom])])
    if kind == "box":
        return unary_union([p.buffer(r, cap_style=3) for p in getattr(geom, "geoms", [geom])])
    if kind == "line":
        return geom.buffer(r, 16)
    return geom


def coverage(poly, grid, px, into=None):
    """Adds the polygon's share of every pixel to `into` (row-major), pixels of its bounds only."""
    x0, y1, w, h = grid["x0"], grid["y1"], grid["w"], grid["h"]
    out = into if into is not None else [0.0] * (w * h)
    bx0, by0, bx1, by1 = poly.bounds
    for r in range(max(0, int(math.floor((y1 - by1) / px))), min(h, int(math.ceil((y1 - by0) / px)))):
        for c in range(max(0, int(math.floor((bx0 - x0) / px))), min(w, int(math.ceil((bx1 - x0) / px)))):
            b = box(x0 + c * px, y1 - (r + 1) * px, x0 + (c + 1) * px, y1 - r * px)
            out[r * w + c] += poly.intersection(b).area / (px * px)
    return out


def main(path):
    req = json.load(open(path))
    px = req["px"]
    out = []
    for f in req["features"]:
        theirs = footprint(shape(f["geometry"]), f["kind"], f.get("r", 0))
        parts = [shape({"type": "Polygon", "coordinates": p}) for p in f["ours"]["coordinates"]]
        ours = unary_union(parts)
        summed = sum(p.area for p in parts)
        cov = [0.0] * (f["grid"]["w"] * f["grid"]["h"])
        for p in parts:
            coverage(p, f["grid"], px, cov)
        out.append({
            "ours": cov,
            "shapely": coverage(theirs, f["grid"], px),
            "area_ours": ours.area,
            "area_shapely": theirs.area,
            "symdiff": ours.symmetric_difference(theirs).area,
            "valid": all(p.is_valid for p in parts) and abs(ours.area - summed) <= 1e-9 * summed,
            "parts": len(parts),
        })
    json.dump(out, sys.stdout)


main(sys.argv[1])
