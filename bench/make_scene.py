# Writes a bench scene as Earth Search serves Sentinel-2 L2A COGs (tiled GeoTIFF, DEFLATE + predictor 2,
# 10 m bands in 1024 px tiles, 20 m in 512, 60 m in 256) with pixel content from a real fixture scene:
# the fixture band is mirrored (numpy 'symmetric' padding) out to the target size, shifted per date so
# that dates differ. Input: a JSON spec on stdin; writes <out>/<item id>/<band>.tif.
import json, os, sys
import numpy as np
import rasterio
from rasterio.transform import from_origin

spec = json.load(sys.stdin)
src_dir, out, size10 = spec['fixture'], spec['out'], spec['size10']
ox, oy, epsg = spec['originX'], spec['originY'], spec['epsg']
TILE = {10: 1024, 20: 512, 60: 256}

def mirrored(a, n, shift):
    # Mirror-tile a 2-D array to n x n starting at (shift, shift): content stays real, seams are mirrors.
    reps = n // a.shape[0] + 3
    big = np.pad(a, ((0, a.shape[0] * reps), (0, a.shape[1] * reps)), mode='symmetric')
    return np.ascontiguousarray(big[shift:shift + n, shift:shift + n])

for d, item in enumerate(spec['items']):
    folder = os.path.join(out, item)
    os.makedirs(folder, exist_ok=True)
    for band in spec['bands']:
        res, n = band['res'], size10 * 10 // band['res']
        dst = os.path.join(folder, band['file'] + '.tif')
        if os.path.exists(dst):
            continue
        with rasterio.open(os.path.join(src_dir, band['source'])) as src:
            a = src.read(1)
        data = mirrored(a, n, (d * 37) % a.shape[0])
        tile = min(TILE[res], 1 << (max(n, 16) - 1).bit_length())
        profile = dict(driver='GTiff', width=n, height=n, count=1, dtype=data.dtype.name, crs=f'EPSG:{epsg}',
                       transform=from_origin(ox, oy, res, res), tiled=True, blockxsize=tile, blockysize=tile,
                       compress='deflate', predictor=2, nodata=0)
        tmp = dst + '.part'
        with rasterio.open(tmp, 'w', **profile) as ds:
            ds.write(data, 1)
        os.replace(tmp, dst)
