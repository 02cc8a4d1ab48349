// How the job's bands are described and grouped: each band's metadata from its product asset and
// COG header, and the groups of bands that share a native resolution (one `.npy` member each).
import type { ProductAsset } from './catalog.ts';
import type { CogInfo } from './cog-types.ts';
import { InvalidInputError } from './errors.ts';
import { type BandGroup, type BandMeta, groupName } from './plan.ts';

/** A band's metadata: the asset's nodata (the header's as fallback); scale/offset are per date. */
export function bandMeta(name: string, cog: CogInfo, asset: ProductAsset | undefined): BandMeta {
  return {
    name,
    resolution: cog.resX,
    nodata: asset?.nodata ?? cog.nodata,
    dataType: `${cog.sampleFormat}${cog.bitsPerSample}`,
  };
}

/** Samples hold uint16 reflectances (uint8 fits too): anything else is refused, naming the file. */
export function checkBandTypes(bands: readonly BandMeta[], hrefOf: (band: string) => string): void {
  for (const b of bands) {
    if (b.dataType !== 'uint16' && b.dataType !== 'uint8') {
      throw new InvalidInputError(`band ${b.name} is ${b.dataType}; samples hold uint16 reflectances`, {
        source: hrefOf(b.name),
      });
    }
  }
}

/** Groups by native resolution, finest first; within a group, bands keep the job's order. */
export function bandGroups(bands: readonly BandMeta[]): BandGroup[] {
  const groups: BandGroup[] = [];
  for (const b of [...bands].sort((x, y) => x.resolution - y.resolution)) {
    const name = groupName(b.resolution);
    if (!groups.some((g) => g.name === name)) groups.push({ name, resolution: b.resolution, bands: [] });
  }
  for (const b of bands) groups.find((g) => g.name === groupName(b.resolution))?.bands.push(b.name);
  return groups;
}
