"""Regression and classification targets as the loader reads them from shards our writer wrote
(test/integration/label-targets.test.ts runs this on the datasets it makes):
SATFACTORY_TEST_REGRESSION  a regression dataset (regression.npy + coverage.npy, manifest regression)
SATFACTORY_TEST_CLS         a dataset with labels.outputs "cls" and "multilabel"
Without them the tests that need them fail with a message (never skip silently)."""
import math
import os
import unittest

import numpy as np

import satfactory_data as sd
from satfactory_data.dataset import ShardIntegrityError, decode_sample


def need(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest("%s is not set (test/integration/label-targets.test.ts sets it)" % name)
    return value


class DecodeTest(unittest.TestCase):
    def test_cls_is_an_int_and_garbage_is_refused(self):
        self.assertEqual(decode_sample("k", {"cls": b"17"})["cls"], 17)
        with self.assertRaises(ShardIntegrityError):
            decode_sample("k", {"cls": b"x1"})


class RegressionDatasetTest(unittest.TestCase):
    def test_regression_arrays_and_manifest_values(self):
        ds = sd.open_dataset(need("SATFACTORY_TEST_REGRESSION"))
        self.assertIsNone(ds.classes)
        reg = ds.regression
        self.assertIsNotNone(reg)
        values = []
        samples = 0
        for split in ds.splits:
            for s in ds.samples(split):
                samples += 1
                r, c = s["regression"], s["coverage"]
                self.assertEqual(r.dtype, np.float32)
                self.assertEqual(r.shape, c.shape)
                self.assertNotIn("labels", s)
                # NaN exactly where nothing covers the pixel.
                self.assertTrue(np.array_equal(np.isnan(r), c == 0))
                self.assertEqual(int((~np.isnan(r)).sum()), s["json"]["labels"]["regression"]["pixels"])
                values.extend(r[~np.isnan(r)].tolist())
        self.assertEqual(samples, reg["values"]["all"]["samples"])
        self.assertEqual(len(values), reg["values"]["all"]["pixels"])
        self.assertEqual(min(values), reg["values"]["all"]["min"])
        self.assertEqual(max(values), reg["values"]["all"]["max"])
        self.assertTrue(math.isclose(float(np.mean(values)), reg["values"]["all"]["mean"], rel_tol=1e-9))


class ClsDatasetTest(unittest.TestCase):
    def test_cls_is_the_training_index_of_a_present_class(self):
        ds = sd.open_dataset(need("SATFACTORY_TEST_CLS"))
        names = ds.class_names
        seen = 0
        for split in ds.splits:
            for s in ds.samples(split):
                self.assertEqual(s["cls"], s["json"]["labels"]["cls"])
                self.assertLess(s["cls"], len(names))
                # The class of largest area passes any threshold another class passes.
                self.assertEqual(s["multilabel"].shape, (len(names),))
                if s["multilabel"].any():
                    self.assertEqual(int(s["multilabel"][s["cls"]]), 1)
                seen += 1
        self.assertGreater(seen, 0)


if __name__ == "__main__":
    unittest.main()
