"""Which samples each rank and worker reads: over many shard layouts, every sample exactly once
(equalize=None), equal counts per rank with repeat/drop, and whole shards except at run ends."""
import collections
import itertools
import unittest

from satfactory_data import _assign


def read_positions(counts, order, rank, world, worker, workers, equalize):
    """(shard, index) of every sample the pieces cover, in order."""
    out = []
    for shard, start, end in _assign.plan(counts, order, rank, world, worker, workers, equalize):
        assert 0 <= start < end <= counts[shard], (shard, start, end)
        out.extend((shard, i) for i in range(start, end))
    return out


LAYOUTS = [
    [5, 1, 7, 3, 4],
    [1],
    [0, 3, 0],
    [10],
    [2, 2, 2, 2],
    [1, 1, 1],
    [97, 3, 50],
    [],
]


class PlanTest(unittest.TestCase):
    def test_every_sample_once_without_equalizing(self):
        for counts, world, workers, shuffle in itertools.product(LAYOUTS, (1, 2, 3, 6), (1, 2, 4), (False, True)):
            order = _assign.shard_order(len(counts), shuffle, 7, 1)
            seen = collections.Counter()
            per_rank = []
            for rank in range(world):
                n = 0
                for worker in range(workers):
                    got = read_positions(counts, order, rank, world, worker, workers, None)
                    seen.update(got)
                    n += len(got)
                per_rank.append(n)
            everything = {(s, i) for s in range(len(counts)) for i in range(counts[s])}
            self.assertEqual(set(seen), everything, (counts, world, workers))
            self.assertTrue(all(v == 1 for v in seen.values()), (counts, world, workers))
            self.assertLessEqual(max(per_rank) - min(per_rank), 1)

    def test_repeat_and_drop_give_every_rank_the_same_count(self):
        for counts, world, workers in itertools.product(LAYOUTS, (1, 2, 3, 4, 6), (1, 2, 3)):
            total = sum(counts)
            order = _assign.shard_order(len(counts), True, 3, 0)
            for equalize, want in (("repeat", -(-total // world)), ("drop", total // world)):
                seen = collections.Counter()
                for rank in range(world):
                    got = [p for w in range(workers) for p in read_positions(counts, order, rank, world, w, workers, equalize)]
                    self.assertEqual(len(got), want, (counts, world, workers, equalize, rank))
                    seen.update(got)
                if equalize == "repeat" and total:
                    # Every sample at least once, the padding taken from the start of the epoch.
                    self.assertEqual(len(seen), total)
                    self.assertEqual(sum(seen.values()), world * want)
                    self.assertLessEqual(max(seen.values()), -(-world * want // total))
                if equalize == "drop":
                    self.assertTrue(all(v == 1 for v in seen.values()))
                    self.assertEqual(len(seen), world * want)

    def test_a_worker_reads_whole_shards_except_at_its_ends(self):
        counts = [5, 1, 7, 3, 4, 9, 2]
        order = _assign.shard_order(len(counts), True, 0, 0)
        for world, workers in ((2, 2), (3, 1), (1, 4)):
            for rank in range(world):
                for worker in range(workers):
                    pieces = _assign.plan(counts, order, rank, world, worker, workers, "repeat")
                    for shard, start, end in pieces[1:-1]:
                        self.assertEqual((start, end), (0, counts[shard]))

    def test_the_shard_order_is_a_seeded_permutation(self):
        a = _assign.shard_order(20, True, 1, 0)
        self.assertEqual(sorted(a), list(range(20)))
        self.assertEqual(a, _assign.shard_order(20, True, 1, 0))
        self.assertNotEqual(a, _assign.shard_order(20, True, 1, 1))
        self.assertNotEqual(a, _assign.shard_order(20, True, 2, 0))
        self.assertEqual(_assign.shard_order(5, False, 1, 3), [0, 1, 2, 3, 4])

    def test_bad_arguments_are_refused(self):
        with self.assertRaisesRegex(ValueError, "rank 2 is not in"):
            _assign.plan([1], [0], 2, 2)
        with self.assertRaisesRegex(ValueError, "equalize must be"):
            _assign.plan([1], [0], 0, 1, 0, 1, "pad")


if __name__ == "__main__":
    unittest.main()
