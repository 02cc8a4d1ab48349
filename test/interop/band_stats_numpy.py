#!/usr/bin/python3
"""numpy's answer for band statistics: for each .npy file named on the command line (1-D uint16),
count, mean, std (ddof 0), min, max and np.percentile at the percentiles of --p (default method,
"linear"). Prints a JSON list, one object per file."""
import json
import sys

import numpy as np


def main(argv):
    ps = [float(p) for p in argv[argv.index("--p") + 1].split(",")]
    files = [a for a in argv[1:argv.index("--p")]]
    out = []
    for f in files:
        x = np.load(f, allow_pickle=False)
        assert x.dtype == np.uint16 and x.ndim == 1
        out.append(dict(count=int(x.size), mean=float(x.mean(dtype=np.float64)), std=float(x.std(dtype=np.float64)),
                        min=int(x.min()), max=int(x.max()), percentiles=[float(v) for v in np.percentile(x, ps)]))
    json.dump(out, sys.stdout)


main(sys.argv)
