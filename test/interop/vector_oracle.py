"""Oracle for `<key>.vector.json` (issue 13): GDAL/PROJ (rasterio.warp.transform_geom) takes every
source feature into the sample's CRS, the sample's geotransform and label pixel size take it to
pixel coordinates (x = column, y = row), and shapely compares with the objects satfactory wrote:
points and lines vertex by vertex, polygons by their symmetric difference (vertex order may differ:
rings were rewound). Which objects must be there: every feature whose footprint (shapely's buffer
of the point or line, the polygon itself) covers area inside the window; `clipped` must say whether
the written geometry leaves the window. Prints JSON figures, the test asserts on them."""
import json
import sys

from rasterio.warp import transform_geom
from shapely.geometry import box, shape
from shapely.ops import unary_union


def to_pixels(coords, x0, y1, res):
    if isinstance(coords[0], (int, float)):
        return [(coords[0] - x0) / res, (y1 - coords[1]) / res]
    return [to_pixels(c, x0, y1, res) for c in coords]


def flat(coords):
    if isinstance(coords[0], (int, float)):
        return [tuple(coords)]
    return [p for c in coords for p in flat(c)]


def main(path):
    req = json.load(open(path))
    feats = req["features"]
    out = {"objects": 0, "point_diff": 0.0, "line_diff": 0.0, "polygon_symdiff": 0.0, "clipped_wrong": [],
           "missing": [], "extra": [], "class_wrong": [], "props_wrong": []}
    by_crs = {}
    for s in req["samples"]:
        if s["epsg"] not in by_crs:
            by_crs[s["epsg"]] = [shape(transform_geom(req["src_crs"], "EPSG:%d" % s["epsg"], f["geometry"])) for f in feats]
        geoms = by_crs[s["epsg"]]
        x0, y1, res, size = s["x0"], s["y1"], s["res"], s["size"]
        window_world = box(x0, y1 - size * res, x0 + size * res, y1)
        window_px = box(0, 0, size, size)
        seen = set()
        for o in s["objects"]:
            out["objects"] += 1
            i = o["instance"] - 1
            seen.add(i)
            f = feats[i]
            g = geoms[i]
            want = to_pixels(json.loads(json.dumps(g.__geo_interface__))["coordinates"], x0, y1, res)
            got = o["geometry"]
            if o["geometry"]["type"].replace("Multi", "") != g.geom_type.replace("Multi", ""):
                out["extra"].append([s["key"], i, "type %s vs %s" % (got["type"], g.geom_type)])
                continue
            if "Polygon" not in g.geom_type:
                a, b = flat(got["coordinates"]), flat(want)
                d = max(max(abs(p[0] - q[0]), abs(p[1] - q[1])) for p, q in zip(a, b)) if len(a) == len(b) else float("inf")
                key = "point_diff" if "Point" in g.geom_type else "line_diff"
                out[key] = max(out[key], d)
            else:
                mine = shape(got)
                theirs = shape({"type": g.geom_type, "coordinates": want}).buffer(0)
                out["polygon_symdiff"] = max(out["polygon_symdiff"], mine.symmetric_difference(theirs).area / theirs.area)
            if o["clipped"] != (not window_px.covers(shape(got))):
                out["clipped_wrong"].append([s["key"], i])
            if o["value"] != f["cls"]:
                out["class_wrong"].append([s["key"], i])
            if o.get("properties") != {k: f["properties"].get(k) for k in req["properties"] if k in f["properties"]}:
                out["props_wrong"].append([s["key"], i])
        for i, f in enumerate(feats):
            b = f.get("buffer")
            g = geoms[i]
            if b:
                g = unary_union([p.buffer(b["r"], 16, cap_style=3 if b["kind"] == "box" else 1) for p in getattr(g, "geoms", [g])])
            # Clearly inside (a thousandth of a pixel): rounding at the very border is no verdict.
            met = g.intersection(window_world).area / (res * res) > 1e-3
            if met and i not in seen:
                out["missing"].append([s["key"], i])
            if i in seen and g.intersection(window_world).area == 0 and not g.intersects(window_world):
                out["extra"].append([s["key"], i])
    json.dump(out, sys.stdout)


main(sys.argv[1])
