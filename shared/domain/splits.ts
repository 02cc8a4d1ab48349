// Train/validate/test assignment: a seeded hash of a block (region) or sample key, so a rerun or a
// different machine assigns the same split, and spatial blocks keep neighbours in one split.
import { createHash } from 'node:crypto';

export const SPLITS = ['train', 'validate', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export type SplitFractions = { train: number; validate: number; test: number; seed: number };

/** Uniform number in [0, 1) from a seeded sha256 of the key. */
export function hashUnit(seed: number, key: string): number {
  const digest = createHash('sha256').update(`${seed}:${key}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function splitOf(fractions: SplitFractions, key: string): Split {
  const u = hashUnit(fractions.seed, key);
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.validate) return 'validate';
  return fractions.test > 0 ? 'test' : fractions.validate > 0 ? 'validate' : 'train';
}
