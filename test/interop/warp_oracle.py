"""GDAL's answer for warping a raster band onto a grid: rasterio.warp.reproject (GDAL's warper,
its default approximate transformer with 0.125 px error), source nodata honoured, destination
initialised to nodata. Reads a JSON spec on stdin:
  {"path": file, "band": 1, "out": dir, "resamplings": ["nearest", ...],
   "dst": {"width": w, "height": h, "transform": [gdal geotransform], "epsg": code},
   "tolerance": optional error threshold of the approximate transformer (source pixels; 0 = exact)}
Writes <out>/src.bin (the whole band, little-endian) and <out>/<resampling>.bin (the warped band,
the source dtype), and prints the source profile as JSON."""
import json
import os
import sys

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject

spec = json.load(sys.stdin)
with rasterio.Env(GDAL_NUM_THREADS=1):
    with rasterio.open(spec['path']) as ds:
        band = spec['band']
        src = ds.read(band)
        nodata = ds.nodata
        src_profile = {'width': ds.width, 'height': ds.height, 'transform': list(ds.transform.to_gdal()),
                       'epsg': ds.crs.to_epsg(), 'nodata': nodata, 'dtype': ds.dtypes[band - 1]}
        src_crs = ds.crs
        src_transform = ds.transform
    src.astype(src.dtype.newbyteorder('<')).tofile(os.path.join(spec['out'], 'src.bin'))
    d = spec['dst']
    for name in spec['resamplings']:
        dst = np.full((d['height'], d['width']), nodata if nodata is not None else 0, dtype=src.dtype)
        reproject(src, dst, src_transform=src_transform, src_crs=src_crs, src_nodata=nodata,
                  dst_transform=Affine.from_gdal(*d['transform']), dst_crs=CRS.from_epsg(d['epsg']),
                  dst_nodata=nodata, resampling=getattr(Resampling, name),
                  **({'tolerance': spec['tolerance']} if 'tolerance' in spec else {}))
        dst.astype(dst.dtype.newbyteorder('<')).tofile(os.path.join(spec['out'], name + '.bin'))
print(json.dumps(src_profile))
