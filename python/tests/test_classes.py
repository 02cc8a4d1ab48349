"""Dataset.classes, class_names, ignore_index and training_labels on manifests shaped as Commit
writes them: a fixed class table with the background ignored, and a derived one (background a class)."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np

import satfactory_data as sd


def manifest(classes):
    return {
        "format": "satfactory-webdataset",
        "version": "2",
        "name": "classes",
        "shards": [],
        "splits": {"train": {"samples": 0, "shards": 0}},
        "classes": classes,
    }


FIXED = {
    "property": "crop",
    "origin": "file",
    "file": {"name": "classes.csv", "sha256": "0" * 64},
    "background": 65535,
    "backgroundIs": "ignore",
    "ignoreIndex": 65535,
    "unknown": "reject",
    "trainingIds": [1, 2, 7],
    "table": [
        {"id": 7, "index": 2, "value": 999, "name": "absent", "pixels": 0, "samples": 0},
        {"id": 1, "index": 0, "value": 200, "name": "arable", "color": "#e0c060", "pixels": 10, "samples": 1},
        {"id": 2, "index": 1, "value": 310, "name": "meadow", "pixels": 5, "samples": 1},
    ],
}

DERIVED = {
    "property": "crop",
    "origin": "derived",
    "background": 0,
    "backgroundIs": "class",
    "ignoreIndex": None,
    "unknown": None,
    "trainingIds": [0, 200, 310],
    "table": [
        {"id": 200, "index": 1, "value": 200, "pixels": 10, "samples": 1},
        {"id": 310, "index": 2, "value": 310, "pixels": 5, "samples": 1},
    ],
}


class ClassTableTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="satfactory-classes-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def open(self, classes):
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump(manifest(classes), f)
        return sd.open_dataset(self.dir)

    def test_fixed_table_in_training_index_order_with_names_and_ignore(self):
        ds = self.open(FIXED)
        self.assertEqual([c["id"] for c in ds.classes], [1, 2, 7])
        self.assertEqual([c["index"] for c in ds.classes], [0, 1, 2])
        self.assertEqual(ds.class_names, ["arable", "meadow", "absent"])
        self.assertEqual(ds.ignore_index, 65535)
        labels = np.array([[1, 2], [7, 65535]], dtype=np.uint16)
        out = ds.training_labels(labels)
        self.assertEqual(out.dtype, np.int64)
        self.assertEqual(out.tolist(), [[0, 1], [2, 65535]])
        # An id the table does not know is ignored, not given a class.
        self.assertEqual(int(ds.label_lut()[3]), 65535)

    def test_derived_table_counts_the_background_as_class_zero(self):
        ds = self.open(DERIVED)
        self.assertEqual(ds.class_names, ["background", "200", "310"])
        self.assertIsNone(ds.ignore_index)
        self.assertEqual(ds.training_labels(np.array([0, 310, 200, 5], dtype=np.uint16)).tolist(), [0, 2, 1, -1])

    def test_without_labels(self):
        ds = self.open(None)
        self.assertIsNone(ds.classes)
        self.assertEqual(ds.class_names, [])
        with self.assertRaises(ValueError):
            ds.label_lut()


if __name__ == "__main__":
    unittest.main()
