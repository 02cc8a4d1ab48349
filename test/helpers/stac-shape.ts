// The required fields of a STAC 1.1 Collection and Item (and of the extension fields satfactory
// writes), as zod schemas written from the specification's text: the official JSON Schemas are
// fetched from the web by validators, and tests run offline.
import { z } from 'zod';

const bbox = z.array(z.number()).refine((b) => b.length === 4 || b.length === 6, 'a bbox has 4 or 6 numbers');
const datetime = z.iso.datetime({ offset: true });
const link = z.looseObject({ href: z.string().min(1), rel: z.string().min(1), type: z.string().optional() });
const asset = z.looseObject({
  href: z.string().min(1),
  type: z.string().optional(),
  roles: z.array(z.string()).optional(),
});
const position = z.array(z.number()).min(2);
const ring = z
  .array(position)
  .min(4)
  .refine((r) => r[0]?.join() === r[r.length - 1]?.join(), 'a closed ring');
const geometry = z.union([
  z.object({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1) }),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(ring).min(1)).min(1) }),
]);
const mlAoiSplit = z.enum(['train', 'validate', 'test']);
const eoBand = z.looseObject({
  name: z.string().min(1),
  common_name: z.string().optional(),
  center_wavelength: z.number().optional(),
  full_width_half_max: z.number().optional(),
});

export const StacCollectionShape = z.looseObject({
  type: z.literal('Collection'),
  stac_version: z.literal('1.1.0'),
  stac_extensions: z.array(z.url()),
  id: z.string().min(1),
  description: z.string().min(1),
  license: z.string().min(1),
  extent: z.object({
    spatial: z.object({ bbox: z.array(bbox).min(1) }),
    temporal: z.object({ interval: z.array(z.tuple([datetime.nullable(), datetime.nullable()])).min(1) }),
  }),
  links: z.array(link),
  summaries: z.looseObject({
    'eo:bands': z.array(eoBand).min(1),
    bands: z.array(z.looseObject({ name: z.string().min(1) })).min(1),
    'ml-aoi:split': z.array(mlAoiSplit),
  }),
  assets: z.record(z.string(), asset).optional(),
});

/** label:classes (label extension v1.0.1) and classification:classes (classification v2.0.0). */
export const LabelSummariesShape = z.looseObject({
  'label:type': z.array(z.enum(['raster', 'vector'])),
  'label:properties': z.array(z.string()),
  'label:tasks': z.array(z.string()),
  'label:description': z.array(z.string().min(1)),
  'label:classes': z.array(
    z.object({ name: z.string().nullable(), classes: z.array(z.union([z.string(), z.number()])).min(1) }),
  ),
  'classification:classes': z.array(
    z.looseObject({
      value: z.int(),
      name: z.string().regex(/^[0-9A-Za-z-_]+$/),
      color_hint: z
        .string()
        .regex(/^[0-9A-F]{6}$/)
        .optional(),
    }),
  ),
});

export const StacItemShape = z.looseObject({
  type: z.literal('Feature'),
  stac_version: z.literal('1.1.0'),
  stac_extensions: z.array(z.url()),
  id: z.string().min(1),
  collection: z.string().min(1),
  geometry,
  bbox,
  properties: z
    .looseObject({
      datetime: datetime.nullable(),
      start_datetime: datetime.optional(),
      end_datetime: datetime.optional(),
      'ml-aoi:split': mlAoiSplit,
      'proj:code': z
        .string()
        .regex(/^EPSG:\d+$/)
        .optional(),
    })
    .refine(
      (p) => p.datetime !== null || (p.start_datetime && p.end_datetime),
      'datetime null needs start and end',
    ),
  links: z.array(link).refine((l) => l.some((x) => x.rel === 'collection'), 'a link to its collection'),
  assets: z.record(z.string(), asset),
});
