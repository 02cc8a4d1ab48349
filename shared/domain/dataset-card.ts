// The dataset card: README.md in the dataset root, with the YAML front matter the Hugging Face Hub
// reads (configs with data_files per split, licence, task categories, tags), then the class table,
// the bands, the splits with counts and the provenance. Pure, built from the manifest alone, so a
// manifest with more fields (class names and colours, band wavelengths) only adds columns.
import type { Manifest } from './manifest.ts';
import { SPLITS, type Split } from './splits.ts';

const yamlString = (s: string) => JSON.stringify(s); // a JSON string is a YAML double-quoted scalar
const cell = (v: unknown) =>
  v === undefined || v === null ? '–' : String(v).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * The data_files of a split: the glob `<folder>/*.tar` when the split's shards are exactly the tar
 * files of one folder that no other split uses, else the shard paths one by one.
 */
export function splitDataFiles(manifest: Manifest, split: Split): string[] {
  const shards = manifest.shards.filter((s) => s.split === split).map((s) => s.path);
  if (shards.length === 0) return [];
  const folder = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
  const dirs = new Set(shards.map(folder));
  const [dir] = dirs;
  const othersThere = manifest.shards.some((s) => s.split !== split && folder(s.path) === dir);
  if (dirs.size === 1 && dir !== '' && !othersThere && shards.every((p) => p.endsWith('.tar'))) {
    return [`${dir}/*.tar`];
  }
  return shards;
}

function sizeCategory(n: number): string {
  if (n < 1_000) return 'n<1K';
  if (n < 10_000) return '1K<n<10K';
  if (n < 100_000) return '10K<n<100K';
  if (n < 1_000_000) return '100K<n<1M';
  if (n < 10_000_000) return '1M<n<10M';
  return '10M<n<100M';
}

/** The YAML front matter (without the --- lines). */
export function cardFrontMatter(manifest: Manifest): string {
  const splits = SPLITS.filter((s) => splitDataFiles(manifest, s).length > 0);
  const lines = [
    'license: other',
    `license_name: ${yamlString('copernicus-sentinel-data-and-label-source-terms')}`,
    `pretty_name: ${yamlString(manifest.name)}`,
    'task_categories:',
    ...(manifest.classes
      ? ['- image-segmentation']
      : manifest.regression
        ? ['- image-to-image']
        : ['- image-feature-extraction']),
    'tags:',
    ...[
      'satellite-imagery',
      'sentinel-2',
      'earth-observation',
      'remote-sensing',
      'time-series',
      'webdataset',
      'satfactory',
    ].map((t) => `- ${t}`),
    'size_categories:',
    `- ${yamlString(sizeCategory(manifest.totals.written))}`,
  ];
  if (splits.length > 0) {
    lines.push('configs:', `- config_name: default`, '  data_files:');
    for (const s of splits) {
      const files = splitDataFiles(manifest, s);
      lines.push(`  - split: ${s}`, '    path:', ...files.map((f) => `    - ${yamlString(f)}`));
    }
  }
  return lines.join('\n');
}

function classTable(manifest: Manifest): string[] {
  const classes = manifest.classes;
  const regression = manifest.regression;
  if (regression) {
    const v = regression.values.all;
    return [
      `A regression target, no classes: \`<key>.regression.npy\` (float32) holds per label pixel the coverage-weighted mean of the label property \`${regression.property}\`${regression.unit ? ` (${regression.unit})` : ''} over the features meeting it, NaN where none; \`<key>.coverage.npy\` the share of the pixel it is taken over.`,
      '',
      `Over the ${v.samples} samples: ${v.pixels} pixels with a value, from ${cell(v.min)} to ${cell(v.max)}, mean ${cell(v.mean)}.`,
    ];
  }
  if (!classes) return ['This dataset has no labels.'];
  const rows = classes.table.map((c) => {
    return `| ${cell(c.id)} | ${cell(c.index)} | ${cell(JSON.stringify(c.value))} | ${cell(c.name)} | ${cell(c.color)} | ${cell(c.pixels)} | ${cell(c.samples)} |`;
  });
  return [
    `Class ids as written in \`<key>.labels.npy\` (uint16), from the label property \`${classes.property}\`${classes.nomenclature ? ` through the built-in nomenclature \`${classes.nomenclature}\`` : ''}; the background is id ${classes.background}.`,
    '',
    '| id | training index | value in the label data | name | colour | pixels | samples |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

function bandTable(manifest: Manifest): string[] {
  const rows = manifest.bands.flatMap((g) =>
    g.bands.map((b) => {
      return `| \`${g.group}\` | ${cell(b.name)} | ${cell(b.commonName)} | ${cell(b.centerWavelength)} | ${cell(b.fullWidthHalfMax)} | ${g.resolution} | ${cell(b.scale ?? 'per date')} | ${cell(b.offset ?? 'per date')} | ${cell(b.nodata)} | ${cell(b.dataType)} |`;
    }),
  );
  return [
    'Pixel values are the source values; `value * scale + offset` is the reflectance (per date in each sample `.json` when the items differ).',
    '',
    '| member | band | common name | centre wavelength (µm) | FWHM (µm) | resolution (m) | scale | offset | nodata | type |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

/** README.md of the dataset: front matter, then what a user needs before reading a sample. */
export function datasetCard(manifest: Manifest): string {
  const job = manifest.job as { period?: { start?: string; end?: string } };
  const splitRows = SPLITS.map(
    (s) =>
      `| ${s} | ${manifest.splits[s].samples} | ${manifest.splits[s].shards} | ${
        splitDataFiles(manifest, s)
          .map((f) => `\`${f}\``)
          .join(', ') || '–'
      } |`,
  );
  const sources = manifest.sources.map((s) => `\`${s.id}\``);
  const perDate = manifest.job['samples'] === 'per-date';
  return [
    '---',
    cardFrontMatter(manifest),
    '---',
    '',
    `# ${manifest.name}`,
    '',
    `${perDate ? 'Single-date Sentinel-2 patches (one sample per window and acquisition, key `<tile>_<row>_<col>_<yyyymmdd>`)' : manifest.catalog.description.startsWith('files ') ? 'Image time series' : 'Sentinel-2 time series'} of ${manifest.grid.windowSize} × ${manifest.grid.windowSize} px windows (stride ${manifest.grid.stride}) in WebDataset shards, ` +
      `${manifest.totals.written} samples, made by ${manifest.software}. Each sample is a group of tar members with one key: ` +
      `\`<key>.json\` (where, when, which items, scale/offset), one \`<key>.<res>m.npy\` [${perDate ? '1' : 'T'}, C, H, W] uint16 per band resolution` +
      `${manifest.scl ? ', `<key>.scl.npy`' : ''}${secondaryMembers(manifest)}${manifest.quicklooks ? ', `<key>.png` (true-colour quicklook)' : ''}${manifest.classes ? ' and the label members' : ''}. ` +
      '`manifest.json` describes every field; `collection.json` and `items.ndjson` describe the dataset and each sample in STAC.',
    ...outputGridLines(manifest),
    '',
    '## Splits',
    '',
    '| split | samples | shards | data files |',
    '|---|---|---|---|',
    ...splitRows,
    '',
    '## Classes',
    '',
    ...classTable(manifest),
    '',
    '## Bands',
    '',
    ...bandTable(manifest),
    '',
    '## Provenance',
    '',
    `- job: \`${manifest.name}\` (sha256 of the job spec \`${manifest.jobSha256}\`, in \`manifest.json\` under \`job\`)`,
    `- run: \`${manifest.runId}\`, committed ${manifest.createdAt}`,
    `- catalog: ${manifest.catalog.description}${manifest.catalog.collection ? `, collection \`${manifest.catalog.collection}\`` : ''}`,
    ...(job.period?.start ? [`- period: ${job.period.start} to ${job.period.end ?? '?'}`] : []),
    `- sources: ${manifest.sources.length} products${sources.length ? `: ${sources.join(', ')}` : ''}`,
    `- software: ${manifest.software}`,
    '',
    '## License',
    '',
    'The imagery is Copernicus Sentinel data (free, full and open access under the Copernicus Sentinel ' +
      'data terms; credit "contains modified Copernicus Sentinel data"). Labels, when present, are under the ' +
      "terms of their source (the label file named in the manifest's `classes.validation.source`).",
    '',
    '## Loading',
    '',
    '```python',
    'import satfactory_data as sd   # python/ in the satfactory repository',
    'ds = sd.open_dataset(".")',
    'for sample in ds.samples("train"):',
    '    sample["json"], sample["10m"]',
    '```',
    '',
    '```python',
    'from datasets import load_dataset   # Hugging Face: the webdataset builder reads the configs above',
    'ds = load_dataset("path/to/this/folder", split="train")',
    '```',
    '',
  ].join('\n');
}

/** On a non-native output grid: which grid, and how the bands were warped onto it. */
function outputGridLines(manifest: Manifest): string[] {
  const o = manifest.grid.output;
  if (!o) return [];
  const grid =
    o.kind === 'webmercator'
      ? `the web-mercator zoom-${o.zoom} tile grid (EPSG:3857, keys \`<zoom>_<x>_<y>\`)`
      : `an EPSG:${o.epsg} grid from (${o.originX}, ${o.originY}) (keys \`epsg${o.epsg}_<row>_<col>\`)`;
  const how = [...new Set(Object.values(o.resampling))]
    .map(
      (r) =>
        `${r} (${Object.keys(o.resampling)
          .filter((b) => o.resampling[b] === r)
          .join(', ')})`,
    )
    .join('; ');
  return [
    '',
    `Samples lie on ${grid}, every band warped onto its ${Math.round(o.resolution * 1000) / 1000} m pixels as GDAL warps: ${how}.`,
  ];
}

/** The members of the job's second sources (e.g. Sentinel-1), named from the manifest's sources. */
function secondaryMembers(manifest: Manifest): string {
  const names = [...new Set(manifest.sources.flatMap((s) => (s.source ? [s.source] : [])))];
  return names
    .map(
      (n) =>
        `, \`<key>.${n}.npy\` [T1, C, h, w] float32 of the second source ${n} (its own dates, NaN = no value)`,
    )
    .join('');
}
