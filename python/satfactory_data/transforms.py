"""What every user of a satfactory dataset writes otherwise, on sample dicts (numpy only):

- to_float32: raw uint16 counts to physical values, value = raw * scale + offset, with the scale and
  offset of each band and date from the sample's `.json` (`bands.<name>.scale/offset`: one number
  for every date, or a list with one value per date).
- resample: every band group, the SCL and the label members to one pixel size.
- stack: a batch of samples to arrays, padding variable T (number of dates) with a mask.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

# Members laid out on the window's grid ([..., H, W]) besides the band groups and the SCL.
SPATIAL_MEMBERS = ("labels", "instances", "coverage", "double", "buildings", "distance", "valid", "regression")


def _per_date(value: Any, T: int, default: float, where: str) -> np.ndarray:
    if value is None:
        return np.full(T, default, dtype=np.float64)
    if isinstance(value, (int, float)):
        return np.full(T, float(value), dtype=np.float64)
    values = np.asarray(value, dtype=np.float64)
    if values.shape != (T,):
        raise ValueError("%s has %d values for %d dates" % (where, values.size, T))
    return values


def scale_offset(meta: Dict[str, Any], group: str, T: int):
    """[T, C] scale and offset of a band group, from the sample `.json`."""
    bands = meta["groups"][group]["bands"]
    scale = np.empty((T, len(bands)), dtype=np.float64)
    offset = np.empty((T, len(bands)), dtype=np.float64)
    for c, name in enumerate(bands):
        band = (meta.get("bands") or {}).get(name)
        if band is None:
            raise KeyError("sample %s: band %s has no entry under bands in its .json" % (meta.get("id"), name))
        scale[:, c] = _per_date(band.get("scale"), T, 1.0, "sample %s: bands.%s.scale" % (meta.get("id"), name))
        offset[:, c] = _per_date(band.get("offset"), T, 0.0, "sample %s: bands.%s.offset" % (meta.get("id"), name))
    return scale, offset


def to_float32(sample: Dict[str, Any], nodata: Optional[float] = None) -> Dict[str, Any]:
    """A copy of the sample whose band groups are float32 raw * scale + offset, per band and date.
    nodata: None applies the formula to every pixel; a number (e.g. float('nan') or 0.0) replaces
    the pixels equal to the band's nodata value."""
    meta = sample["json"]
    out = dict(sample)
    for group, spec in meta["groups"].items():
        raw = sample[group]
        T = raw.shape[0]
        scale, offset = scale_offset(meta, group, T)
        values = raw.astype(np.float32) * scale.astype(np.float32)[:, :, None, None]
        values += offset.astype(np.float32)[:, :, None, None]
        if nodata is not None:
            for c, name in enumerate(spec["bands"]):
                nd = (meta.get("bands") or {}).get(name, {}).get("nodata")
                if nd is not None:
                    values[:, c][raw[:, c] == nd] = nodata
        out[group] = values
    return out


# --- resampling -----------------------------------------------------------------------------------


def _integer_factor(n_in: int, n_out: int) -> Optional[int]:
    return n_in // n_out if n_out and n_in % n_out == 0 else None


def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source pixel whose centre is nearest each target pixel centre (np.repeat for k-fold up)."""
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)


def _linear_axis(arr: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """Linear interpolation between pixel centres along one axis, edges clamped (as torch's
    interpolate(mode="bilinear", align_corners=False))."""
    n_in = arr.shape[axis]
    src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (src - i0).astype(np.float32)
    shape = [1] * arr.ndim
    shape[axis] = n_out
    w = w.reshape(shape)
    a = np.take(arr, i0, axis=axis).astype(np.float32)
    b = np.take(arr, i1, axis=axis).astype(np.float32)
    return a * (1 - w) + b * w


def _blocks(arr: np.ndarray, k: int) -> np.ndarray:
    """[..., H, W] as [..., H/k, W/k, k*k]."""
    *lead, h, w = arr.shape
    blocks = arr.reshape(*lead, h // k, k, w // k, k)
    return np.moveaxis(blocks, -3, -2).reshape(*lead, h // k, w // k, k * k)


def _mode(blocks: np.ndarray) -> np.ndarray:
    """Most frequent value along the last axis; ties go to the smallest value."""
    ordered = np.sort(blocks, axis=-1)
    counts = (ordered[..., :, None] == ordered[..., None, :]).sum(axis=-1)
    pick = np.argmax(counts, axis=-1)
    return np.take_along_axis(ordered, pick[..., None], axis=-1)[..., 0]


def resize(arr: np.ndarray, size: int, method: str) -> np.ndarray:
    """The last two axes of `arr` (square) resized to `size` x `size`.

    nearest: the source pixel nearest each target centre (keeps the dtype).
    bilinear: linear between pixel centres, edges clamped (float32).
    area: mean of each k x k block when shrinking by an integer k (float32); nearest when growing.
    mode: most frequent value of each k x k block when shrinking by an integer k (ties: the smallest
    value; keeps the dtype); nearest when growing. For class ids.
    """
    h, w = arr.shape[-2:]
    if (h, w) == (size, size):
        return arr
    if method == "nearest" or (method in ("area", "mode") and size > h):
        return arr[..., _nearest_index(h, size), :][..., _nearest_index(w, size)]
    if method == "bilinear":
        return _linear_axis(_linear_axis(arr, arr.ndim - 2, size), arr.ndim - 1, size)
    if method in ("area", "mode"):
        k = _integer_factor(h, size)
        if k is None or _integer_factor(w, size) != k:
            raise ValueError("%s resampling shrinks by an integer factor only, not %dx%d to %d" % (method, h, w, size))
        blocks = _blocks(arr, k)
        return blocks.mean(axis=-1, dtype=np.float64).astype(np.float32) if method == "area" else _mode(blocks)
    raise ValueError("unknown resampling method %r (nearest, bilinear, area, mode)" % method)


def _extent(meta: Dict[str, Any], sample: Dict[str, Any]) -> float:
    """Side of the window in metres, from a band group (its pixels times its resolution)."""
    for group, spec in meta["groups"].items():
        if group in sample:
            return sample[group].shape[-1] * float(spec["resolution"])
    raise ValueError("sample %s has no band group to take the window's extent from" % meta.get("id"))


def resample(
    sample: Dict[str, Any],
    resolution: Optional[float] = None,
    method: str = "bilinear",
    label_method: str = "nearest",
    keys: Optional[Iterable[str]] = None,
) -> Dict[str, Any]:
    """A copy of the sample with every band group, the SCL and the label members on one grid of
    `resolution` metres (default: the finest band group's).

    Band groups (raw or after to_float32) and float members (coverage, distance, regression: a NaN
    pixel makes the pixels interpolated from it NaN) use `method`;
    integer members (SCL, class ids, instances, masks) use `label_method` ("nearest" or "mode"),
    since averaging class ids makes no sense. Raw uint16 groups come out float32 unless `method` is
    "nearest". `keys` overrides which members are resampled (default:
    the groups of the `.json`, "scl" and SPATIAL_MEMBERS that are present). Non-spatial members
    (multilabel, cls) are left alone."""
    meta = sample["json"]
    extent = _extent(meta, sample)
    if resolution is None:
        resolution = min(float(spec["resolution"]) for spec in meta["groups"].values())
    size = extent / float(resolution)
    if abs(size - round(size)) > 1e-6:
        raise ValueError("a %g m window is not a whole number of %g m pixels" % (extent, resolution))
    size = int(round(size))
    if keys is None:
        keys = [k for k in list(meta["groups"]) + ["scl", *SPATIAL_MEMBERS] if k in sample]
    out = dict(sample)
    for key in keys:
        arr = np.asarray(sample[key])
        if arr.ndim < 2:
            continue
        categorical = key not in meta["groups"] and not np.issubdtype(arr.dtype, np.floating)
        use = label_method if categorical else method
        out[key] = resize(arr, size, use)
    if isinstance(sample.get("vector"), dict):
        out["vector"] = scale_vector(sample["vector"], float(resolution))
    return out


def scale_vector(doc: Dict[str, Any], resolution: float) -> Dict[str, Any]:
    """A copy of a `vector.json` document with its pixel coordinates on a grid of `resolution` metres
    (same window): coordinates times old / new pixel size; `resolution`, `size`, `transform` updated."""
    k = float(doc["resolution"]) / resolution

    def scaled(c):
        return [v * k for v in c] if c and isinstance(c[0], (int, float)) else [scaled(x) for x in c]

    t = doc["transform"]
    out = dict(doc)
    out.update(
        resolution=resolution,
        size=int(round(doc["size"] * k)),
        transform=[t[0], resolution, 0.0, t[3], 0.0, -resolution],
        objects=[dict(o, geometry=dict(o["geometry"], coordinates=scaled(o["geometry"]["coordinates"]))) for o in doc["objects"]],
    )
    return out


# --- batching -------------------------------------------------------------------------------------


def time_keys(sample: Dict[str, Any]) -> List[str]:
    """Members whose first axis is the date: the band groups and the SCL."""
    meta = sample.get("json") or {}
    return [k for k in list((meta.get("groups") or {})) + ["scl"] if k in sample]


def source_keys(sample: Dict[str, Any]) -> List[str]:
    """Second sources of the job (`.json` `sources`, e.g. "s1"): [T1, C, h, w] float32, own dates."""
    meta = sample.get("json") or {}
    return [k for k in (meta.get("sources") or {}) if k in sample]


def stack(samples: Sequence[Dict[str, Any]], keys: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """One batch from sample dicts: arrays stacked on a new first axis; the date axis of the band
    groups and SCL (or `keys`) padded with zeros to the batch's largest T, with `time_mask`
    [B, T] (True where a date is real) and `doy` [B, T] (day of year, 0 where padded); each second
    source (e.g. "s1") padded with NaN to its own largest T1, with `<name>_time_mask` and
    `<name>_doy`; `json`, `__key__` and non-array members as lists."""
    if not samples:
        raise ValueError("stack: no samples")
    temporal = list(keys) if keys is not None else time_keys(samples[0])
    lengths = [int(s[temporal[0]].shape[0]) for s in samples] if temporal else []
    T = max(lengths) if lengths else 0
    sources = [k for k in source_keys(samples[0]) if k not in temporal]
    source_T = {k: max(int(s[k].shape[0]) for s in samples if k in s) for k in sources}
    batch: Dict[str, Any] = {}
    for name in samples[0]:
        values = [s.get(name) for s in samples]
        if any(v is None for v in values):
            missing = [s.get("__key__") for s in samples if name not in s]
            raise ValueError("stack: samples %s have no %s" % (missing, name))
        if not isinstance(values[0], np.ndarray):
            batch[name] = values
            continue
        if name in temporal:
            padded = []
            for s, v in zip(samples, values):
                if v.shape[0] != s[temporal[0]].shape[0]:
                    raise ValueError("stack: sample %s: %s has %d dates, %s has %d" % (s.get("__key__"), name, v.shape[0], temporal[0], s[temporal[0]].shape[0]))
                pad = [(0, T - v.shape[0])] + [(0, 0)] * (v.ndim - 1)
                padded.append(np.pad(v, pad))
            values = padded
        elif name in sources:
            values = [np.pad(v, [(0, source_T[name] - v.shape[0])] + [(0, 0)] * (v.ndim - 1), constant_values=np.nan)
                      for v in values]
        shapes = {v.shape for v in values}
        if len(shapes) > 1:
            raise ValueError("stack: %s has shapes %s in one batch; resample first" % (name, sorted(shapes)))
        batch[name] = np.stack(values)
    if temporal:
        batch["time_mask"] = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
        doy = np.zeros((len(samples), T), dtype=np.int16)
        for i, s in enumerate(samples):
            d = (s.get("json") or {}).get("doy")
            if d is not None:
                doy[i, : len(d)] = d
        batch["doy"] = doy
    for name in sources:
        n = source_T[name]
        lengths1 = [int(s[name].shape[0]) for s in samples]
        batch[name + "_time_mask"] = np.arange(n)[None, :] < np.asarray(lengths1)[:, None]
        doy1 = np.zeros((len(samples), n), dtype=np.int16)
        for i, s in enumerate(samples):
            d = ((s.get("json") or {}).get("sources") or {}).get(name, {}).get("doy")
            if d is not None:
                doy1[i, : len(d)] = d
        batch[name + "_doy"] = doy1
    return batch
