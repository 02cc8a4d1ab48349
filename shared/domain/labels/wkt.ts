// A small Well-Known Text reader for the geometry column of label CSVs (DeepSatData's canonical
// form). Returns GeoJSON; Z/M ordinates are read and dropped; an optional EWKT "SRID=n;" is returned.
import { quoteSnippet } from '../snippet.ts';

export type WktResult = { readonly geometry: GeoJSON.Geometry; readonly srid: number | undefined };

/** Characters of the WKT quoted where parsing stopped. */
const NEAR_CHARS = 16;

/** Parses one WKT (or EWKT) geometry; throws a plain Error with the offending position on bad input. */
export function parseWkt(text: string): WktResult {
  let srid: number | undefined;
  let src = text.trim();
  const ewkt = /^SRID=(\d+);/i.exec(src);
  if (ewkt) {
    srid = Number(ewkt[1]);
    src = src.slice(ewkt[0].length);
  }
  const p = new Parser(src);
  const geometry = p.geometry();
  p.end();
  return { geometry, srid };
}

type Coords = number[];

/** GEOMETRYCOLLECTIONs nested deeper than this are refused (the parser recurses into them). */
const MAX_DEPTH = 32;

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  geometry(): GeoJSON.Geometry {
    if (++this.depth > MAX_DEPTH) throw this.error(`geometries nested deeper than ${MAX_DEPTH} levels`);
    try {
      return this.geometryHere();
    } finally {
      this.depth--;
    }
  }

  private geometryHere(): GeoJSON.Geometry {
    const type = this.word().toUpperCase();
    const dims = this.dimensions();
    if (this.emptyKeyword()) return emptyOf(type);
    switch (type) {
      case 'POINT':
        return { type: 'Point', coordinates: this.list(() => this.position(dims))[0] ?? [] };
      case 'LINESTRING':
        return { type: 'LineString', coordinates: this.positions(dims) };
      case 'POLYGON':
        return { type: 'Polygon', coordinates: this.list(() => this.positions(dims)) };
      case 'MULTIPOINT':
        // Both MULTIPOINT ((1 2), (3 4)) and MULTIPOINT (1 2, 3 4) occur in the wild.
        return {
          type: 'MultiPoint',
          coordinates: this.list(() =>
            this.peek() === '(' ? (this.positions(dims)[0] ?? []) : this.position(dims),
          ),
        };
      case 'MULTILINESTRING':
        return { type: 'MultiLineString', coordinates: this.list(() => this.positions(dims)) };
      case 'MULTIPOLYGON':
        return { type: 'MultiPolygon', coordinates: this.list(() => this.list(() => this.positions(dims))) };
      case 'GEOMETRYCOLLECTION':
        return { type: 'GeometryCollection', geometries: this.list(() => this.geometry()) };
      default:
        throw this.error(`unknown geometry type ${quoteSnippet(type)}`);
    }
  }

  end(): void {
    this.skip();
    if (this.pos < this.s.length) throw this.error('unexpected text after the geometry');
  }

  private dimensions(): number {
    this.skip();
    const m = /^(ZM|Z|M)\b/i.exec(this.s.slice(this.pos));
    if (!m) return 0;
    this.pos += m[0].length;
    return m[0].length === 2 ? 4 : 3;
  }

  private emptyKeyword(): boolean {
    this.skip();
    if (/^EMPTY\b/i.test(this.s.slice(this.pos))) {
      this.pos += 5;
      return true;
    }
    return false;
  }

  /** "(" item ("," item)* ")" */
  private list<T>(item: () => T): T[] {
    this.expect('(');
    const out: T[] = [item()];
    while (this.peek() === ',') {
      this.pos++;
      out.push(item());
    }
    this.expect(')');
    return out;
  }

  private positions(dims: number): Coords[] {
    return this.list(() => this.position(dims));
  }

  private position(dims: number): Coords {
    const values: number[] = [];
    for (;;) {
      this.skip();
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|^(NaN|[-+]?Infinity)/.exec(this.s.slice(this.pos));
      if (!m) break;
      values.push(Number(m[0]));
      this.pos += m[0].length;
    }
    const ok = dims > 0 ? values.length === dims : values.length >= 2 && values.length <= 4;
    if (!ok) throw this.error(`expected ${dims || 2} ordinates, found ${values.length}`);
    return values.slice(0, 2);
  }

  private word(): string {
    this.skip();
    const m = /^[A-Za-z]+/.exec(this.s.slice(this.pos));
    if (!m) throw this.error('expected a geometry type');
    this.pos += m[0].length;
    return m[0];
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw this.error(`expected "${ch}"`);
    this.pos++;
  }

  private peek(): string | undefined {
    this.skip();
    return this.s[this.pos];
  }

  private skip(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos] as string)) this.pos++;
  }

  private error(what: string): Error {
    // A glimpse of the text where parsing stopped, short and escaped (domain/snippet.ts).
    const near = this.s.slice(this.pos, this.pos + NEAR_CHARS + 1);
    return new Error(
      `${what} at character ${this.pos}${near ? ` (near ${quoteSnippet(near, NEAR_CHARS)})` : ''}`,
    );
  }
}

function emptyOf(type: string): GeoJSON.Geometry {
  switch (type) {
    case 'POINT':
      return { type: 'Point', coordinates: [] };
    case 'LINESTRING':
      return { type: 'LineString', coordinates: [] };
    case 'POLYGON':
      return { type: 'Polygon', coordinates: [] };
    case 'MULTIPOINT':
      return { type: 'MultiPoint', coordinates: [] };
    case 'MULTILINESTRING':
      return { type: 'MultiLineString', coordinates: [] };
    case 'MULTIPOLYGON':
      return { type: 'MultiPolygon', coordinates: [] };
    case 'GEOMETRYCOLLECTION':
      return { type: 'GeometryCollection', geometries: [] };
    default:
      throw new Error(`unknown geometry type ${quoteSnippet(type)}`);
  }
}
