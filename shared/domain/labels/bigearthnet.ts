// The BigEarthNet v1 nomenclatures: the 43 CORINE Land Cover (CLC) level-3 classes BigEarthNet
// labels with, and the official 19-class nomenclature they merge into (11 of the 43 have no
// 19-class label). Facts only, transcribed from:
//  - the official RSiM (TU Berlin) label_indices.json (`original_labels`, `BigEarthNet-19_labels`,
//    `label_conversion`), as carried by kai-tub/bigearthnet_common src/bigearthnet_common/constants.py
//    (OLD2NEW_LABELS_DICT, NEW_LABELS_ORIGINAL_ORDER) and cross-checked with microsoft/torchgeo
//    torchgeo/datasets/bigearthnet.py (class_sets, label_converter);
//  - the CLC level-3 codes from the EEA CORINE Land Cover legend (© EEA / Copernicus Land Monitoring
//    Service); BigEarthNet's 43 labels are the 44 CLC classes minus 335 (glaciers), in code order.
// test/unit/domain/labels/bigearthnet.test.ts compares this table with the shared fixture
// bigearthnet/bigearthnet_v1_nomenclature_43_to_19.json (see its PROVENANCE.md).

/** The 19 BigEarthNet classes in the official order: position = the official 19-class index. */
export const BIGEARTHNET19_LABELS: readonly string[] = [
  'Urban fabric',
  'Industrial or commercial units',
  'Arable land',
  'Permanent crops',
  'Pastures',
  'Complex cultivation patterns',
  'Land principally occupied by agriculture, with significant areas of natural vegetation',
  'Agro-forestry areas',
  'Broad-leaved forest',
  'Coniferous forest',
  'Mixed forest',
  'Natural grassland and sparsely vegetated areas',
  'Moors, heathland and sclerophyllous vegetation',
  'Transitional woodland, shrub',
  'Beaches, dunes, sands',
  'Inland wetlands',
  'Coastal wetlands',
  'Inland waters',
  'Marine waters',
];

/** One of the 43 BigEarthNet (CLC level-3) classes: code, label as BigEarthNet spells it, 19-class index. */
export type Clc43Class = {
  readonly code: number;
  readonly label: string;
  /** The official 19-class index, null for the 11 classes the 19-class nomenclature drops. */
  readonly index19: number | null;
};

/** The 43 classes in the official BigEarthNet order (= CLC code order). */
export const BIGEARTHNET43: readonly Clc43Class[] = [
  { code: 111, label: 'Continuous urban fabric', index19: 0 },
  { code: 112, label: 'Discontinuous urban fabric', index19: 0 },
  { code: 121, label: 'Industrial or commercial units', index19: 1 },
  { code: 122, label: 'Road and rail networks and associated land', index19: null },
  { code: 123, label: 'Port areas', index19: null },
  { code: 124, label: 'Airports', index19: null },
  { code: 131, label: 'Mineral extraction sites', index19: null },
  { code: 132, label: 'Dump sites', index19: null },
  { code: 133, label: 'Construction sites', index19: null },
  { code: 141, label: 'Green urban areas', index19: null },
  { code: 142, label: 'Sport and leisure facilities', index19: null },
  { code: 211, label: 'Non-irrigated arable land', index19: 2 },
  { code: 212, label: 'Permanently irrigated land', index19: 2 },
  { code: 213, label: 'Rice fields', index19: 2 },
  { code: 221, label: 'Vineyards', index19: 3 },
  { code: 222, label: 'Fruit trees and berry plantations', index19: 3 },
  { code: 223, label: 'Olive groves', index19: 3 },
  { code: 231, label: 'Pastures', index19: 4 },
  { code: 241, label: 'Annual crops associated with permanent crops', index19: 3 },
  { code: 242, label: 'Complex cultivation patterns', index19: 5 },
  {
    code: 243,
    label: 'Land principally occupied by agriculture, with significant areas of natural vegetation',
    index19: 6,
  },
  { code: 244, label: 'Agro-forestry areas', index19: 7 },
  { code: 311, label: 'Broad-leaved forest', index19: 8 },
  { code: 312, label: 'Coniferous forest', index19: 9 },
  { code: 313, label: 'Mixed forest', index19: 10 },
  { code: 321, label: 'Natural grassland', index19: 11 },
  { code: 322, label: 'Moors and heathland', index19: 12 },
  { code: 323, label: 'Sclerophyllous vegetation', index19: 12 },
  { code: 324, label: 'Transitional woodland/shrub', index19: 13 },
  { code: 331, label: 'Beaches, dunes, sands', index19: 14 },
  { code: 332, label: 'Bare rock', index19: null },
  { code: 333, label: 'Sparsely vegetated areas', index19: 11 },
  { code: 334, label: 'Burnt areas', index19: null },
  { code: 411, label: 'Inland marshes', index19: 15 },
  { code: 412, label: 'Peatbogs', index19: 15 },
  { code: 421, label: 'Salt marshes', index19: 16 },
  { code: 422, label: 'Salines', index19: 16 },
  { code: 423, label: 'Intertidal flats', index19: null },
  { code: 511, label: 'Water courses', index19: 17 },
  { code: 512, label: 'Water bodies', index19: 17 },
  { code: 521, label: 'Coastal lagoons', index19: 18 },
  { code: 522, label: 'Estuaries', index19: 18 },
  { code: 523, label: 'Sea and ocean', index19: 18 },
];

/** CLC 335 "Glaciers and perpetual snow": a CLC level-3 class that is never a BigEarthNet label. */
export const CLC_NOT_IN_BIGEARTHNET: readonly number[] = [335];

const byCode = new Map(BIGEARTHNET43.map((c) => [String(c.code), c]));
const byLabel = new Map(BIGEARTHNET43.map((c) => [c.label, c]));

/**
 * Where a CLC level-3 code (211 or "211") goes in the 19-class nomenclature: its index, or why it
 * has none ("dropped": one of the 11 classes without a 19-class label; "not-bigearthnet": CLC 335;
 * "not-clc": no CLC level-3 code at all).
 */
export function clcToBigEarthNet19(
  value: string | number,
):
  | { index: number; clc: Clc43Class }
  | { index: null; reason: 'dropped'; clc: Clc43Class }
  | { index: null; reason: 'not-bigearthnet' | 'not-clc' } {
  const key = String(value).trim();
  const clc = byCode.get(key);
  if (clc)
    return clc.index19 === null ? { index: null, reason: 'dropped', clc } : { index: clc.index19, clc };
  if (CLC_NOT_IN_BIGEARTHNET.map(String).includes(key)) return { index: null, reason: 'not-bigearthnet' };
  return { index: null, reason: 'not-clc' };
}

/**
 * A BigEarthNet patch's 43-class labels (as spelled in its labels_metadata.json) in the 19-class
 * nomenclature: the official indices, ascending, each once. A label that is not one of the 43 is an error.
 */
export function bigEarthNet19OfLabels(labels43: readonly string[]): number[] {
  const out = new Set<number>();
  for (const label of labels43) {
    const clc = byLabel.get(label);
    if (!clc) throw new Error(`${JSON.stringify(label)} is not one of the 43 BigEarthNet labels`);
    if (clc.index19 !== null) out.add(clc.index19);
  }
  return [...out].sort((a, b) => a - b);
}
