"""Independent label oracle for the end-to-end label test: GDAL/PROJ (rasterio.warp) reprojects the
polygons, shapely intersects each with every pixel box, and the class of a pixel is the class of the
polygon with the largest covered area (background where none). Reads a JSON request file, prints
JSON: per window the class map, the winning coverage and the winning feature's index in the request
(-1 where none) and the double mask (1 = 2+ polygons claim the pixel, 2 = and one covers it fully),
row-major (unless the request says "pixels": false), and per class the share of the
window covered by the union of the class's polygons (shapely unary_union) and by the sum of their
areas ("union", "sum"). A feature with "buffer": {"kind": "disc" | "box" | "line", "r": metres} is
a point or line whose footprint shapely builds after reprojection: Point.buffer(r, quad_segs=16),
buffer(r, cap_style=square), or buffer(r, quad_segs=16) with round caps and joins."""
import json
import sys

from rasterio.warp import transform_geom
from shapely.geometry import box, shape
from shapely.ops import unary_union


def main(path):
    req = json.load(open(path))
    polys, classes = [], []
    for f in req["features"]:
        g = shape(transform_geom(req["src_crs"], req["dst_crs"], f["geometry"]))
        b = f.get("buffer")
        if b:
            cap = 3 if b["kind"] == "box" else 1
            g = unary_union([p.buffer(b["r"], 16, cap_style=cap) for p in getattr(g, "geoms", [g])])
        polys.append(g)
        classes.append(f["cls"])
    bounds = [p.bounds for p in polys]
    unions = {c: unary_union([p for p, k in zip(polys, classes) if k == c]) for c in set(classes)}
    out = {}
    for w in req["windows"]:
        px, n, x0, y1 = w["px"], w["size"], w["x0"], w["y1"]
        labels, coverage, winners, doubles = [], [], [], []
        window = box(x0, y1 - n * px, x0 + n * px, y1)
        area = window.area
        union = {str(c): u.intersection(window).area / area for c, u in unions.items() if u.intersects(window)}
        summed = {}
        for p, c in zip(polys, classes):
            if p.intersects(window):
                summed[str(c)] = summed.get(str(c), 0.0) + p.intersection(window).area / area
        out[w["key"]] = {"union": union, "sum": summed}
        if req.get("pixels") is False:
            continue
        # Candidates by bounding box (Debian's shapely 1.8 STRtree returns geometries, not indexes).
        wx0, wy0, wx1, wy1 = x0, y1 - n * px, x0 + n * px, y1
        near = [i for i, b in enumerate(bounds) if b[0] < wx1 and b[2] > wx0 and b[1] < wy1 and b[3] > wy0]
        for r in range(n):
            for c in range(n):
                b = box(x0 + c * px, y1 - (r + 1) * px, x0 + (c + 1) * px, y1 - r * px)
                best, best_cls, winner = 0.0, req["background"], -1
                claims, full = 0, False
                for i in near:
                    a = polys[i].intersection(b).area / (px * px)
                    if a > 1e-12:
                        claims += 1
                        full = full or a >= 1 - 1e-9
                    if a > best + 1e-12:
                        best, best_cls, winner = a, classes[i], i
                labels.append(best_cls)
                coverage.append(best)
                winners.append(winner)
                # DeepSatData's double mask: 1 = claimed by 2+ polygons, 2 = and fully inside one.
                doubles.append(0 if claims < 2 else (2 if full else 1))
        out[w["key"]].update(labels=labels, coverage=coverage, winners=winners, double=doubles)
    json.dump(out, sys.stdout)


main(sys.argv[1])
