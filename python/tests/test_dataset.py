"""The loader on datasets written by satfactory's TypeScript shard writer (test/helpers/loader-dataset.ts,
run through test/interop/python-loader.test.ts, which sets the variables below):

SATFACTORY_TEST_DATA  a dataset folder with expected.json (what each sample holds)
SATFACTORY_TEST_HTTP  the same dataset served over HTTP (the first manifest GET answers 503 once)
SATFACTORY_TEST_S3    the same dataset on an S3 server (AWS_ENDPOINT_URL_S3 set), read through boto3

The oracle is tarfile + numpy reading the shards directly, and the pixel formulas of the writer.
"""
import collections
import json
import os
import pathlib
import shutil
import tarfile
import tempfile
import unittest

import numpy as np

import satfactory_data as sd

DATA = os.environ.get("SATFACTORY_TEST_DATA")


def need(var):
    value = os.environ.get(var)
    if not value:
        raise unittest.SkipTest("%s is not set: run through vitest test/interop/python-loader.test.ts" % var)
    return value


def pixel10m(s, t, c, y, x, H):
    return (1000 * s + 100 * t + 10 * c + y * H + x) % 65536


def tar_keys(root, shard_path):
    """Sample keys of a shard in tar order, read with tarfile alone."""
    keys = []
    with tarfile.open(os.path.join(root, shard_path)) as tar:
        for name in tar.getnames():
            key = name.split(".", 1)[0]
            if not keys or keys[-1] != key:
                keys.append(key)
    return keys


class LocalDatasetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = need("SATFACTORY_TEST_DATA")
        cls.expected = json.loads(pathlib.Path(cls.root, "expected.json").read_text())
        cls.ds = sd.open_dataset(cls.root)

    def split_keys(self, split):
        return [k for s in self.ds.manifest["shards"] if s["split"] == split for k in tar_keys(self.root, s["path"])]

    def test_splits_come_from_the_manifest(self):
        with open(os.path.join(self.root, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(self.ds.manifest, manifest)
        want = []
        for s in manifest["shards"]:
            if s["split"] not in want:
                want.append(s["split"])
        self.assertEqual(self.ds.splits, want)
        self.assertIn("validation", self.ds.splits)
        with self.assertRaisesRegex(KeyError, "no split 'validate'"):
            list(self.ds.samples("validate"))

    def test_file_uri_and_path_read_the_same(self):
        other = sd.open_dataset(pathlib.Path(self.root).resolve().as_uri())
        self.assertEqual(other.manifest, self.ds.manifest)
        self.assertEqual([s["__key__"] for s in other.samples("train")], self.split_keys("train"))

    def test_every_sample_of_every_split_once_with_its_arrays(self):
        H = self.expected["H"]
        HL = self.expected["HL"]
        for split in self.ds.splits:
            samples = list(self.ds.samples(split))
            self.assertEqual([s["__key__"] for s in samples], self.split_keys(split))
            self.assertEqual(len(samples), self.ds.count(split))
            for sample in samples:
                info = self.expected["samples"][sample["__key__"]]
                T = info["dates"]
                self.assertEqual(info["split"], split)
                self.assertEqual(sample["json"]["id"], sample["__key__"])
                self.assertEqual(set(sample), {"__key__", "json", "10m", "20m", "scl", "labels", "instances", "coverage"})
                self.assertEqual((sample["10m"].dtype, sample["10m"].shape), (np.uint16, (T, 2, H, H)))
                self.assertEqual((sample["20m"].dtype, sample["20m"].shape), (np.uint16, (T, 1, H // 2, H // 2)))
                self.assertEqual((sample["scl"].dtype, sample["scl"].shape), (np.uint8, (T, H // 2, H // 2)))
                self.assertEqual((sample["labels"].dtype, sample["labels"].shape), (np.uint16, (HL, HL)))
                self.assertEqual(sample["instances"].dtype, np.uint32)
                self.assertEqual(sample["coverage"].dtype, np.float32)
                t, c, y, x = T - 1, 1, 4, 5
                self.assertEqual(int(sample["10m"][t, c, y, x]), pixel10m(info["s"], t, c, y, x, H))
                self.assertEqual(int(sample["instances"].max()), 4_000_000_000 + info["s"])

    def test_arrays_equal_what_np_load_reads_from_the_tar(self):
        import io

        samples = {s["__key__"]: s for split in self.ds.splits for s in self.ds.samples(split)}
        members = 0
        for shard in self.ds.manifest["shards"]:
            with tarfile.open(os.path.join(self.root, shard["path"])) as tar:
                for info in tar:
                    key, name = info.name.split(".", 1)
                    if not name.endswith(".npy"):
                        continue
                    want = np.load(io.BytesIO(tar.extractfile(info).read()), allow_pickle=False)
                    got = samples[key][name[: -len(".npy")]]
                    self.assertEqual((got.dtype, got.shape), (want.dtype, want.shape))
                    np.testing.assert_array_equal(got, want)
                    members += 1
        self.assertEqual(members, 6 * len(samples))

    def test_scale_and_offset_per_date_as_the_json_says(self):
        per_date = 0
        for sample in self.ds.samples("train"):
            out = sd.to_float32(sample)
            meta = sample["json"]
            red = meta["bands"]["red"]
            for t in range(sample["10m"].shape[0]):
                s = red["scale"][t] if isinstance(red["scale"], list) else red["scale"]
                o = red["offset"][t] if isinstance(red["offset"], list) else red["offset"]
                want = sample["10m"][t, 0].astype(np.float64) * s + o
                np.testing.assert_allclose(out["10m"][t, 0], want, rtol=1e-6, atol=1e-6)
            per_date += isinstance(red["scale"], list)
        self.assertGreater(per_date, 0, "the dataset has samples with per-date scale")

    def test_a_manifest_of_another_version_is_refused_by_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "copy")
            shutil.copytree(self.root, copy)
            path = os.path.join(copy, "manifest.json")
            with open(path) as f:
                manifest = json.load(f)
            manifest["version"] = "1"
            with open(path, "w") as f:
                json.dump(manifest, f)
            with self.assertRaisesRegex(ValueError, r"manifest version '1'; this loader reads version 2"):
                sd.open_dataset(copy)

    def test_a_damaged_shard_is_refused_before_any_of_its_samples(self):
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "copy")
            shutil.copytree(self.root, copy)
            shard = self.ds.shards("train")[0]
            path = os.path.join(copy, shard["path"])
            with tarfile.open(path) as tar:
                npy = tar.getmembers()[1]  # the first sample's 10m.npy
            data = bytearray(pathlib.Path(path).read_bytes())
            data[npy.offset_data + npy.size - 1] ^= 0xFF  # a pixel: the tar and the .npy still parse
            pathlib.Path(path).write_bytes(bytes(data))
            damaged = sd.open_dataset(copy)
            yielded = []
            with self.assertRaisesRegex(sd.ShardIntegrityError, r"sha256 [0-9a-f]{64}, the manifest says " + shard["sha256"]):
                for sample in damaged.samples("train", rank=0, world_size=1):
                    yielded.append(sample["__key__"])
            self.assertEqual(yielded, [])
            # Unverified, the same bytes are read without complaint: the check is what caught it.
            self.assertEqual(len(list(damaged.read_shard(shard, verify=False))), shard["samples"])
            # A truncated shard fails on its size.
            pathlib.Path(path).write_bytes(bytes(data[:1024]))
            with self.assertRaisesRegex(sd.ShardIntegrityError, r"1024 bytes, the manifest says"):
                next(damaged.samples("train"))

    def test_ranks_and_workers_without_torch(self):
        keys = self.split_keys("train")
        got = collections.Counter()
        for rank in range(2):
            for worker in range(3):
                got.update(s["__key__"] for s in self.ds.samples("train", True, 5, rank=rank, world_size=2, worker=worker, num_workers=3))
        self.assertEqual(got, collections.Counter(keys))
        # RANK/WORLD_SIZE as torchrun sets them.
        saved = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE")}
        try:
            os.environ.update(RANK="1", WORLD_SIZE="2")
            rank1 = [s["__key__"] for s in self.ds.samples("train", True, 5)]
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.assertEqual(rank1, [s["__key__"] for s in self.ds.samples("train", True, 5, rank=1, world_size=2)])
        self.assertEqual(len(rank1), len(keys) // 2)


try:
    import torch
    from torch.utils.data import DataLoader
except ImportError:  # the vitest runner requires torch, so CI never takes this path
    torch = None


@unittest.skipIf(torch is None, "torch")
class TorchDataLoaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = need("SATFACTORY_TEST_DATA")
        cls.ds = sd.open_dataset(cls.root)

    def epoch(self, split, rank, world_size, epoch=0, batch_size=3, **kwargs):
        data = sd.SatfactoryIterableDataset(self.ds, split, shuffle_shards=True, seed=11, rank=rank, world_size=world_size, **kwargs)
        data.set_epoch(epoch)
        loader = DataLoader(data, batch_size=batch_size, num_workers=2, collate_fn=sd.collate)
        keys, batches = [], []
        for batch in loader:
            keys.extend(batch["__key__"])
            batches.append(batch)
        return keys, batches, len(data)

    def expected_keys(self, split):
        return [k for s in self.ds.shards(split) for k in tar_keys(self.root, s["path"])]

    def test_two_ranks_two_workers_read_every_sample_exactly_once_per_epoch(self):
        want = self.expected_keys("train")
        self.assertEqual(len(want) % 2, 0)
        orders = []
        for epoch in (0, 1):
            per_rank = [self.epoch("train", rank, 2, epoch) for rank in range(2)]
            counts = [len(keys) for keys, _, _ in per_rank]
            self.assertEqual(counts, [len(want) // 2] * 2)
            self.assertEqual([n for _, _, n in per_rank], counts)  # len(dataset) is the rank's share
            everything = per_rank[0][0] + per_rank[1][0]
            self.assertEqual(collections.Counter(everything), collections.Counter(want))
            orders.append(everything)
        self.assertNotEqual(orders[0], orders[1], "set_epoch reshuffles the shards")

    def test_an_odd_split_gives_both_ranks_the_same_count(self):
        want = self.expected_keys("validation")
        self.assertEqual(len(want) % 2, 1)
        ranks = [self.epoch("validation", rank, 2)[0] for rank in range(2)]
        self.assertEqual([len(k) for k in ranks], [(len(want) + 1) // 2] * 2)
        seen = collections.Counter(ranks[0] + ranks[1])
        self.assertEqual(set(seen), set(want))
        self.assertEqual(sorted(seen.values()), [1] * (len(want) - 1) + [2])
        dropped = [self.epoch("validation", rank, 2, equalize="drop")[0] for rank in range(2)]
        self.assertEqual([len(k) for k in dropped], [len(want) // 2] * 2)
        self.assertEqual(len(set(dropped[0] + dropped[1])), len(want) - 1)

    def test_collated_batches_have_torch_dtypes_and_padded_dates(self):
        H = 6
        keys, batches, _ = self.epoch("train", 0, 1, batch_size=4)
        dates = {b: json.loads(pathlib.Path(self.root, "expected.json").read_text())["samples"][b]["dates"] for b in keys}
        self.assertGreater(len(set(dates.values())), 1, "the split mixes numbers of dates")
        for batch in batches:
            B = len(batch["__key__"])
            T = max(dates[k] for k in batch["__key__"])
            self.assertEqual(batch["10m"].dtype, torch.int32)
            self.assertEqual(tuple(batch["10m"].shape), (B, T, 2, H, H))
            self.assertEqual(tuple(batch["20m"].shape), (B, T, 1, H // 2, H // 2))
            self.assertEqual(batch["scl"].dtype, torch.uint8)
            self.assertEqual(batch["labels"].dtype, torch.int32)
            self.assertEqual(batch["instances"].dtype, torch.int64)
            self.assertEqual(batch["coverage"].dtype, torch.float32)
            self.assertEqual(batch["time_mask"].tolist(), [[t < dates[k] for t in range(T)] for k in batch["__key__"]])
            for i, k in enumerate(batch["__key__"]):
                self.assertEqual(int(batch["10m"][i, dates[k]:].abs().sum()), 0)

    def test_float_and_one_grid_in_the_dataloader(self):
        _, batches, _ = self.epoch("train", 0, 1, batch_size=4, to_float=True, resolution=10, label_method="mode")
        for batch in batches:
            self.assertEqual(batch["10m"].dtype, torch.float32)
            self.assertEqual(tuple(batch["20m"].shape[-2:]), (6, 6))
            self.assertEqual(tuple(batch["labels"].shape[-2:]), (6, 6))
            self.assertEqual(tuple(batch["scl"].shape[-2:]), (6, 6))
            # 20 m -> 10 m bilinear of a float image stays within its value range.
            self.assertTrue(bool(torch.isfinite(batch["20m"]).all()))


class RemoteTest(unittest.TestCase):
    def check_same_as_local(self, uri):
        local = sd.open_dataset(need("SATFACTORY_TEST_DATA"))
        remote = sd.open_dataset(uri)
        self.assertEqual(remote.manifest, local.manifest)
        for split in local.splits:
            a = list(local.samples(split))
            b = list(remote.samples(split))
            self.assertEqual([s["__key__"] for s in b], [s["__key__"] for s in a])
            for x, y in zip(a, b):
                self.assertEqual(x["json"], y["json"])
                for name in ("10m", "20m", "scl", "labels", "instances", "coverage"):
                    np.testing.assert_array_equal(x[name], y[name])
        # A part of a shard: the stream stops early, and unverified reads stream without a spool.
        shard = local.shards("train")[0]
        part = [s["__key__"] for s in remote.read_shard(shard, 1, 3, verify=False)]
        self.assertEqual(part, [s["__key__"] for s in local.read_shard(shard)][1:3])
        with self.assertRaises(sd.DatasetNotFoundError):
            remote.source.read_bytes("train/no-such-shard.tar")

    def test_http(self):
        self.check_same_as_local(need("SATFACTORY_TEST_HTTP"))

    def test_s3(self):
        self.check_same_as_local(need("SATFACTORY_TEST_S3"))


if __name__ == "__main__":
    unittest.main()
