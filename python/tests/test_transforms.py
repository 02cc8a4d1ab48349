"""Scale/offset, resampling and batching against independent answers: the formula written out per
pixel, np.repeat / reshape-mean / a per-block Counter, and torch's own interpolate and avg_pool."""
import collections
import unittest

import numpy as np

import satfactory_data as sd

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the vitest runner requires torch, so CI never takes this path
    torch = None


def make_sample(T=3, per_date=False, seed=0):
    rng = np.random.default_rng(seed)
    scale = [0.0001 * (t + 1) for t in range(T)] if per_date else 0.0001
    offset = [(-0.1 if t % 2 == 0 else 0.05) for t in range(T)] if per_date else -0.1
    meta = {
        "id": "s%d" % seed,
        "doy": [100 + 10 * t for t in range(T)],
        "groups": {
            "10m": {"bands": ["red", "nir"], "resolution": 10, "shape": [T, 2, 6, 6]},
            "20m": {"bands": ["swir16"], "resolution": 20, "shape": [T, 1, 3, 3]},
        },
        "bands": {
            "red": {"scale": scale, "offset": offset, "nodata": 0, "resolution": 10},
            "nir": {"scale": 0.0002, "offset": 0, "nodata": 0, "resolution": 10},
            "swir16": {"scale": scale, "offset": offset, "nodata": 0, "resolution": 20},
        },
    }
    return {
        "__key__": meta["id"],
        "json": meta,
        "10m": rng.integers(0, 10000, (T, 2, 6, 6)).astype(np.uint16),
        "20m": rng.integers(1, 10000, (T, 1, 3, 3)).astype(np.uint16),
        "scl": rng.integers(0, 12, (T, 3, 3)).astype(np.uint8),
        "labels": rng.integers(0, 4, (12, 12)).astype(np.uint16),
        "coverage": rng.random((12, 12)).astype(np.float32),
        "multilabel": np.array([0, 1, 1], dtype=np.uint8),
    }


class ToFloatTest(unittest.TestCase):
    def check_formula(self, sample):
        out = sd.to_float32(sample)
        meta = sample["json"]
        for group, spec in meta["groups"].items():
            self.assertEqual(out[group].dtype, np.float32)
            raw = sample[group]
            for t in range(raw.shape[0]):
                for c, band in enumerate(spec["bands"]):
                    s = meta["bands"][band]["scale"]
                    o = meta["bands"][band]["offset"]
                    s = s[t] if isinstance(s, list) else s
                    o = o[t] if isinstance(o, list) else o
                    want = raw[t, c].astype(np.float64) * s + o
                    np.testing.assert_allclose(out[group][t, c], want, rtol=1e-6, atol=1e-6)
        # The raw arrays are not touched.
        self.assertEqual(sample["10m"].dtype, np.uint16)

    def test_one_number_for_every_date(self):
        self.check_formula(make_sample(per_date=False))

    def test_one_value_per_date(self):
        sample = make_sample(T=4, per_date=True)
        self.check_formula(sample)
        out = sd.to_float32(sample)
        # Different dates really got different factors.
        r = sample["10m"][:, 0].astype(np.float64)
        self.assertAlmostEqual(float(out["10m"][1, 0, 0, 0]), r[1, 0, 0] * 0.0002 + 0.05, places=5)
        self.assertAlmostEqual(float(out["10m"][2, 0, 0, 0]), r[2, 0, 0] * 0.0003 - 0.1, places=5)

    def test_nodata_is_replaced_when_asked(self):
        sample = make_sample()
        sample["10m"][0, 1, 2, 3] = 0
        self.assertAlmostEqual(float(sd.to_float32(sample)["10m"][0, 1, 2, 3]), 0.0)
        self.assertTrue(np.isnan(sd.to_float32(sample, nodata=float("nan"))["10m"][0, 1, 2, 3]))

    def test_a_per_date_list_of_the_wrong_length_is_refused(self):
        sample = make_sample(T=3, per_date=True)
        sample["json"]["bands"]["red"]["scale"] = [1, 2]
        with self.assertRaisesRegex(ValueError, r"bands.red.scale has 2 values for 3 dates"):
            sd.to_float32(sample)


class ResizeTest(unittest.TestCase):
    def setUp(self):
        self.arr = np.random.default_rng(1).integers(0, 5000, (3, 2, 6, 6)).astype(np.uint16)

    def test_nearest_upsampling_is_np_repeat(self):
        for k in (2, 3, 6):
            want = np.repeat(np.repeat(self.arr, k, axis=-2), k, axis=-1)
            got = sd.resize(self.arr, 6 * k, "nearest")
            self.assertEqual(got.dtype, np.uint16)
            np.testing.assert_array_equal(got, want)

    @unittest.skipIf(torch is None, "torch")
    def test_bilinear_matches_torch_interpolate(self):
        for size in (12, 18, 9, 4, 7):
            got = sd.resize(self.arr, size, "bilinear")
            want = F.interpolate(torch.from_numpy(self.arr.astype(np.float32)), size=(size, size), mode="bilinear", align_corners=False).numpy()
            self.assertEqual(got.dtype, np.float32)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-2)

    def test_bilinear_against_np_interp_per_row_and_column(self):
        img = self.arr[0, 0].astype(np.float64)
        got = sd.resize(img, 12, "bilinear")
        centres = (np.arange(12) + 0.5) / 2 - 0.5  # target centres in source pixel units
        rows = np.array([np.interp(centres, np.arange(6), img[y]) for y in range(6)])  # [6, 12]
        want = np.array([np.interp(centres, np.arange(6), rows[:, x]) for x in range(12)]).T
        np.testing.assert_allclose(got, want, rtol=1e-5)

    def test_area_is_the_block_mean(self):
        got = sd.resize(self.arr, 3, "area")
        want = self.arr.reshape(3, 2, 3, 2, 3, 2).astype(np.float64).mean(axis=(3, 5))
        np.testing.assert_allclose(got, want, rtol=1e-6)
        if torch is not None:
            pooled = F.avg_pool2d(torch.from_numpy(self.arr.astype(np.float32)), 2).numpy()
            np.testing.assert_allclose(got, pooled, rtol=1e-6)
        with self.assertRaisesRegex(ValueError, "integer factor"):
            sd.resize(self.arr, 4, "area")

    def test_mode_is_the_most_frequent_class_of_each_block(self):
        labels = np.random.default_rng(2).integers(0, 3, (12, 12)).astype(np.uint16)
        got = sd.resize(labels, 4, "mode")
        self.assertEqual(got.dtype, np.uint16)
        for y in range(4):
            for x in range(4):
                counts = collections.Counter(labels[3 * y: 3 * y + 3, 3 * x: 3 * x + 3].ravel().tolist())
                best = max(counts.values())
                self.assertEqual(int(got[y, x]), min(v for v, n in counts.items() if n == best))


class ResampleTest(unittest.TestCase):
    def test_every_group_and_label_on_the_10m_grid(self):
        sample = make_sample()
        out = sd.resample(sample, 10, method="bilinear", label_method="nearest")
        self.assertEqual(out["10m"].shape, (3, 2, 6, 6))
        np.testing.assert_array_equal(out["10m"], sample["10m"])  # already on the grid: untouched
        self.assertEqual(out["20m"].shape, (3, 1, 6, 6))
        self.assertEqual(out["20m"].dtype, np.float32)
        self.assertEqual(out["scl"].shape, (3, 6, 6))
        np.testing.assert_array_equal(out["scl"], np.repeat(np.repeat(sample["scl"], 2, -2), 2, -1))
        # Labels 5 m -> 10 m with nearest: the pixel whose centre is nearest, [1::2] of each axis.
        np.testing.assert_array_equal(out["labels"], sample["labels"][1::2, 1::2])
        np.testing.assert_allclose(out["coverage"], sample["coverage"].reshape(6, 2, 6, 2).mean(axis=(1, 3)), rtol=1e-6)
        np.testing.assert_array_equal(out["multilabel"], sample["multilabel"])

    def test_to_the_label_grid(self):
        sample = sd.to_float32(make_sample())
        out = sd.resample(sample, 5, method="nearest")
        self.assertEqual(out["10m"].shape, (3, 2, 12, 12))
        np.testing.assert_array_equal(out["20m"], np.repeat(np.repeat(sample["20m"], 4, -2), 4, -1))
        np.testing.assert_array_equal(out["labels"], sample["labels"])

    def test_mode_for_labels(self):
        sample = make_sample()
        out = sd.resample(sample, 10, label_method="mode")
        np.testing.assert_array_equal(out["labels"], sd.resize(sample["labels"], 6, "mode"))

    def test_a_resolution_that_does_not_divide_the_window_is_refused(self):
        with self.assertRaisesRegex(ValueError, "not a whole number"):
            sd.resample(make_sample(), 7)


class StackTest(unittest.TestCase):
    def test_pads_variable_dates_with_a_mask(self):
        samples = [make_sample(T=3, seed=0), make_sample(T=1, seed=1), make_sample(T=4, seed=2)]
        batch = sd.stack(samples)
        self.assertEqual(batch["10m"].shape, (3, 4, 2, 6, 6))
        self.assertEqual(batch["scl"].shape, (3, 4, 3, 3))
        np.testing.assert_array_equal(
            batch["time_mask"], [[True, True, True, False], [True, False, False, False], [True] * 4]
        )
        np.testing.assert_array_equal(batch["doy"], [[100, 110, 120, 0], [100, 0, 0, 0], [100, 110, 120, 130]])
        np.testing.assert_array_equal(batch["10m"][1, :1], samples[1]["10m"])
        self.assertEqual(int(np.abs(batch["10m"][1, 1:]).sum()), 0)
        self.assertEqual(batch["labels"].shape, (3, 12, 12))
        self.assertEqual(batch["__key__"], ["s0", "s1", "s2"])
        self.assertEqual(len(batch["json"]), 3)

    def test_a_second_source_pads_its_own_dates_with_nan_and_its_own_mask(self):
        samples = [make_sample(T=3, seed=0), make_sample(T=1, seed=1)]
        for s, T1, doy in ((samples[0], 1, [101]), (samples[1], 2, [99, 111])):
            s["s1"] = np.arange(T1 * 2 * 6 * 6, dtype=np.float32).reshape(T1, 2, 6, 6)
            s["json"] = dict(s["json"], sources={"s1": {"dates": [], "doy": doy, "bands": ["vv", "vh"]}})
        batch = sd.stack(samples)
        self.assertEqual(batch["10m"].shape, (2, 3, 2, 6, 6))
        self.assertEqual(batch["s1"].shape, (2, 2, 2, 6, 6))
        np.testing.assert_array_equal(batch["s1_time_mask"], [[True, False], [True, True]])
        np.testing.assert_array_equal(batch["s1_doy"], [[101, 0], [99, 111]])
        self.assertTrue(np.isnan(batch["s1"][0, 1]).all())
        np.testing.assert_array_equal(batch["s1"][1], samples[1]["s1"])
        np.testing.assert_array_equal(batch["time_mask"], [[True, True, True], [True, False, False]])

    def test_refuses_members_of_different_sizes(self):
        a, b = make_sample(seed=0), make_sample(seed=1)
        b["labels"] = b["labels"][:6, :6]
        with self.assertRaisesRegex(ValueError, "labels has shapes"):
            sd.stack([a, b])

    @unittest.skipIf(torch is None, "torch")
    def test_collate_makes_tensors_torch_accepts(self):
        samples = [make_sample(T=2, seed=0), make_sample(T=3, seed=1)]
        samples[0]["instances"] = np.full((12, 12), 4_000_000_000, dtype=np.uint32)
        samples[1]["instances"] = np.zeros((12, 12), dtype=np.uint32)
        batch = sd.collate(samples)
        self.assertEqual(batch["10m"].dtype, torch.int32)
        self.assertEqual(tuple(batch["10m"].shape), (2, 3, 2, 6, 6))
        self.assertEqual(batch["labels"].dtype, torch.int32)
        self.assertEqual(batch["instances"].dtype, torch.int64)
        self.assertEqual(int(batch["instances"][0, 0, 0]), 4_000_000_000)
        self.assertEqual(batch["scl"].dtype, torch.uint8)
        self.assertEqual(batch["coverage"].dtype, torch.float32)
        self.assertEqual(batch["time_mask"].dtype, torch.bool)
        self.assertEqual(batch["time_mask"].tolist(), [[True, True, False], [True, True, True]])
        # The values survive the widening.
        np.testing.assert_array_equal(batch["10m"][1].numpy(), samples[1]["10m"].astype(np.int32))
        # torch's default collate refuses what we fix.
        from torch.utils.data import default_collate

        with self.assertRaises(TypeError):
            default_collate([{"x": np.zeros(2, dtype=np.uint16)}, {"x": np.zeros(2, dtype=np.uint16)}])


class LoadNpyTest(unittest.TestCase):
    def test_equals_np_load_for_every_layout(self):
        import io

        from satfactory_data.dataset import load_npy

        arrays = [
            np.arange(24, dtype=np.uint16).reshape(2, 3, 4),
            np.arange(6, dtype=">u2").reshape(2, 3),  # big-endian
            np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),  # numpy's own path
            np.array(7, dtype=np.uint32),  # 0-d
            np.array([1.5, -2.0], dtype=np.float64),
            np.array([True, False]),
            np.zeros((0, 5), dtype=np.uint8),
            np.array(["a", "bc"]),  # not a number: np.load
        ]
        for arr in arrays:
            buf = io.BytesIO()
            np.save(buf, arr)
            raw = buf.getvalue()
            got = load_npy(raw)
            want = np.load(io.BytesIO(raw), allow_pickle=False)
            self.assertEqual((got.dtype, got.shape), (want.dtype, want.shape), arr)
            np.testing.assert_array_equal(got, want)
            self.assertTrue(got.flags.writeable)
        # A truncated array is refused, as np.load refuses it.
        buf = io.BytesIO()
        np.save(buf, np.arange(10, dtype=np.uint16))
        with self.assertRaises(ValueError):
            load_npy(buf.getvalue()[:-2])


if __name__ == "__main__":
    unittest.main()
