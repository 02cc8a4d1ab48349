// Bring your own imagery: STAC items made from GeoTIFFs alone (catalog kind "files"). Each file says
// its CRS, grid and band count; the job (or the TIFF's DateTime tag) says when; files on one extent
// form one tile, and the files of a tile taken at one time form one product (pan + multispectral).
import type { StacAsset, StacItem } from './catalog.ts';
import { FILE_BAND } from './catalog.ts';
import type { CogInfo } from './cog-types.ts';
import { proj4Definition, toWgs84 } from './crs.ts';
import { InvalidInputError, SatfactoryError } from './errors.ts';
import type { CatalogFile } from './job-spec.ts';

/** What the adapter read from one file of `catalog.files`. */
export type FileFacts = {
  /** Position in catalog.files (for JSON pointers). */
  readonly index: number;
  readonly href: string;
  readonly info: CogInfo;
  readonly bands: number;
  /** TIFFTAG_DATETIME as written, or null. */
  readonly tiffDatetime: string | null;
};

export const FILES_COLLECTION = 'files';

/** The path or URI of one entry of catalog.files. */
export function filePath(entry: CatalogFile): string {
  return typeof entry === 'string' ? entry : entry.path;
}

/** "2020:01:02 03:04:05" (TIFF 6.0, no zone: read as UTC) → ISO 8601; null when it is not one. */
export function parseTiffDatetime(text: string): string | null {
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return back.toISOString();
}

const stemOf = (href: string) =>
  decodeURIComponent(href.split(/[/\\]/).pop() ?? href).replace(/\.[a-z0-9]+$/i, '');

/** A tile id from a file name: lowercase letters and digits only (sample keys split on `_`). */
function tileName(href: string): string {
  return (
    stemOf(href)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '') || 'file'
  );
}

type Placed = {
  facts: FileFacts;
  entry: CatalogFile;
  epsg: number;
  datetime: string;
  tile: string;
  names: string[];
  bounds: [number, number, number, number];
};

function boundsOf(info: CogInfo): [number, number, number, number] {
  return [
    info.originX,
    info.originY - info.height * info.resY,
    info.originX + info.width * info.resX,
    info.originY,
  ];
}

/** A footprint in lon/lat: the grid's outline, each side cut in 8 so a projected edge stays close. */
function footprintOf(epsg: number, b: [number, number, number, number]): GeoJSON.Polygon {
  const steps = 8;
  const ring: [number, number][] = [];
  const corners: [number, number][] = [
    [b[0], b[1]],
    [b[2], b[1]],
    [b[2], b[3]],
    [b[0], b[3]],
  ];
  for (let c = 0; c < 4; c++) {
    const [x0, y0] = corners[c] as [number, number];
    const [x1, y1] = corners[(c + 1) % 4] as [number, number];
    for (let i = 0; i < steps; i++) {
      const p = toWgs84(epsg, [x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps]);
      ring.push([Math.round(p[0] * 1e9) / 1e9, Math.round(p[1] * 1e9) / 1e9]);
    }
  }
  ring.push(ring[0] as [number, number]);
  return { type: 'Polygon', coordinates: [ring] };
}

/**
 * STAC items for the files of a files catalog. Throws InvalidInputError naming the file and its JSON
 * pointer when a file has no usable CRS or date, or names more bands than it has.
 */
export function itemsFromFiles(
  entries: readonly CatalogFile[],
  facts: readonly FileFacts[],
  defaultDatetime: string | undefined,
): StacItem[] {
  const placed: Placed[] = [];
  for (const f of facts) {
    const entry = entries[f.index] as CatalogFile;
    const pointer = `/catalog/files/${f.index}`;
    const where = { source: f.href, pointer };
    const epsg = f.info.epsg;
    if (epsg === null) {
      throw new InvalidInputError(
        `${f.href} declares no EPSG code (its GeoKeys hold a user-defined CRS or none); reproject it to an EPSG CRS, e.g. gdalwarp -t_srs EPSG:32633`,
        where,
      );
    }
    try {
      proj4Definition(epsg);
    } catch (cause) {
      const reason = cause instanceof SatfactoryError ? cause.message : String(cause);
      throw new InvalidInputError(`${f.href}: unknown CRS: ${reason}`, where, { cause });
    }
    const own = typeof entry === 'string' ? undefined : entry;
    let datetime: string;
    if (own?.datetime ?? defaultDatetime) {
      datetime = new Date(own?.datetime ?? (defaultDatetime as string)).toISOString();
    } else if (f.tiffDatetime !== null) {
      const parsed = parseTiffDatetime(f.tiffDatetime);
      if (parsed === null) {
        throw new InvalidInputError(
          `${f.href}: its TIFFTAG_DATETIME "${f.tiffDatetime.slice(0, 40)}" is not "YYYY:MM:DD HH:MM:SS"; set catalog.datetime or ${pointer}/datetime`,
          where,
        );
      }
      datetime = parsed;
    } else {
      throw new InvalidInputError(
        `${f.href} has no acquisition time: it has no TIFFTAG_DATETIME, and the job gives none; set catalog.datetime (every file) or ${pointer}/datetime`,
        where,
      );
    }
    const names = own?.bands ?? Array.from({ length: f.bands }, (_, k) => `b${k + 1}`);
    if (names.length > f.bands) {
      throw new InvalidInputError(
        `${f.href} has ${f.bands} band(s), but ${pointer}/bands names ${names.length}`,
        { ...where, pointer: `${pointer}/bands` },
      );
    }
    const bounds = boundsOf(f.info);
    // Same CRS and extent (within the coarser pixel): one tile, whatever the resolution.
    const near = placed.find(
      (p) =>
        p.epsg === epsg &&
        (own?.tile === undefined || own.tile === p.tile) &&
        p.bounds.every(
          (v, k) => Math.abs(v - (bounds[k] as number)) <= Math.max(f.info.resX, p.facts.info.resX) + 1e-9,
        ),
    );
    let tile = own?.tile ?? near?.tile;
    if (tile === undefined) {
      const base = tileName(f.href);
      const taken = new Set(placed.map((p) => p.tile));
      tile = base;
      for (let k = 2; taken.has(tile); k++) tile = `${base}${k}`;
    }
    placed.push({ facts: f, entry, epsg, datetime, tile, names, bounds });
  }

  const products = new Map<string, Placed[]>();
  for (const p of placed) {
    const key = `${p.tile}\u0000${p.datetime}`;
    const list = products.get(key);
    if (list) list.push(p);
    else products.set(key, [p]);
  }
  const items: StacItem[] = [];
  for (const files of products.values()) {
    const first = files[0] as Placed;
    const assets: Record<string, StacAsset> = {};
    const from: Record<string, string> = {};
    for (const p of files) {
      if (p.epsg !== first.epsg) {
        throw new InvalidInputError(
          `${p.facts.href} (EPSG:${p.epsg}) and ${first.facts.href} (EPSG:${first.epsg}) are given one tile "${first.tile}" but not one CRS`,
          { source: p.facts.href, pointer: `/catalog/files/${p.facts.index}/tile` },
        );
      }
      p.names.forEach((name, k) => {
        if (from[name] !== undefined) {
          throw new InvalidInputError(
            `band name "${name}" is given twice on ${first.tile} at ${first.datetime}: by ${from[name]} and ${p.facts.href}; name the bands of each file (catalog.files[].bands)`,
            { source: p.facts.href, pointer: `/catalog/files/${p.facts.index}/bands` },
          );
        }
        from[name] = p.facts.href;
        assets[name] = { href: p.facts.href, type: 'image/tiff; application=geotiff', [FILE_BAND]: k + 1 };
      });
    }
    const minX = Math.min(...files.map((p) => p.bounds[0]));
    const minY = Math.min(...files.map((p) => p.bounds[1]));
    const maxX = Math.max(...files.map((p) => p.bounds[2]));
    const maxY = Math.max(...files.map((p) => p.bounds[3]));
    const geometry = footprintOf(first.epsg, [minX, minY, maxX, maxY]);
    const compact = first.datetime
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'z')
      .toLowerCase();
    items.push({
      type: 'Feature',
      stac_version: '1.0.0',
      id: `${first.tile}-${compact}`,
      collection: FILES_COLLECTION,
      geometry,
      properties: { datetime: first.datetime, 'proj:epsg': first.epsg, 'grid:code': first.tile },
      assets,
    });
  }
  return items;
}
