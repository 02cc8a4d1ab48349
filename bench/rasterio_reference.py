# The rasterio reference for the end-to-end bench: reads each file of each date once (GDAL, one
# thread), cuts the same windows as satfactory, stacks them [T, C, H, W] per band group (uint16) plus
# SCL [T, 1, H, W] (uint8), and writes each window's .npy members and a small .json into a tar.
# Input: JSON on stdin {dates: [[path per band...]], groups: [{name, files: [i...], res}], scl: i,
# windows: [[col, row]...] (10 m pixels), size, out}.
import io, json, sys, tarfile
import numpy as np
import rasterio

spec = json.load(sys.stdin)
with rasterio.Env(GDAL_NUM_THREADS=1, GDAL_CACHEMAX=64):
    bands = [[rasterio.open(p).read(1) for p in paths] for paths in spec['dates']]
size = spec['size']

def member(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(payload))

def npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()

with tarfile.open(spec['out'], 'w') as tar:
    for col, row in spec['windows']:
        key = f'w{col:06d}_{row:06d}'
        groups = spec['groups'] + [{'name': 'scl', 'files': [spec['scl']], 'res': 20}]
        for g in groups:
            k = g['res'] // 10
            x, y, s = col // k, row // k, size // k
            arr = np.stack([np.stack([d[i][y:y + s, x:x + s] for i in g['files']]) for d in bands])
            member(tar, f'{key}.{g["name"]}.npy', npy(np.ascontiguousarray(arr)))
        meta = {'id': key, 'col': col, 'row': row, 'shape': [len(bands), size, size]}
        member(tar, f'{key}.json', json.dumps(meta).encode())
