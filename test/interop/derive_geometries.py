"""Derives a mixed label file from a real polygon file (the test inputs of issue 13): feature i keeps
its polygon when i % 3 == 0, becomes its centroid (shapely) when i % 3 == 1, and the boundary of its
polygon(s) as a LineString/MultiLineString when i % 3 == 2; every fifth point feature is a MultiPoint
(centroid and representative point). Properties and the legacy `crs` member are kept as they are.
usage: derive_geometries.py in.geojson out.geojson"""
import json
import sys

from shapely.geometry import MultiPoint, mapping, shape


def main(src, dst):
    doc = json.load(open(src))
    out = []
    for i, f in enumerate(doc["features"]):
        g = shape(f["geometry"])
        if i % 3 == 1:
            c = g.centroid
            geom = mapping(MultiPoint([c, g.representative_point()])) if i % 5 == 1 else mapping(c)
        elif i % 3 == 2:
            geom = mapping(g.boundary)
        else:
            geom = f["geometry"]
        out.append({"type": "Feature", "properties": f["properties"], "geometry": json.loads(json.dumps(geom))})
    doc["features"] = out
    json.dump(doc, open(dst, "w"))


main(sys.argv[1], sys.argv[2])
