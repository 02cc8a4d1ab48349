// A local HTTP server with Range support for tests and the bench: serves a folder and/or in-memory
// files, counts requests and body bytes per path, and misbehaves on demand (fault injection).
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export type Fault =
  /** 200 with the whole file, ignoring Range. */
  | { kind: 'full-body' }
  /** 206 with correct headers but only half the bytes, ended cleanly (chunked). */
  | { kind: 'short-body' }
  /** 206 promising the full Content-Length, then the socket is destroyed halfway. */
  | { kind: 'cut-connection' }
  /** 206 whose Content-Range names other bytes than asked (shifted by `shift`, default 1). */
  | { kind: 'wrong-content-range'; shift?: number }
  /** Any status, e.g. 503, or 429 with Retry-After (seconds or an HTTP date). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** 200 text/html, as a login page or a CDN error page would be. */
  | { kind: 'html' }
  /** Never answers (the connection stays open until the server closes): a hung host. */
  | { kind: 'stall' };

export type FaultRule = {
  fault: Fault;
  /** Only requests for this path (as in the URL, e.g. '/B02.tif'); all paths if absent. */
  path?: string;
  /** How many matching requests misbehave; forever if absent. */
  times?: number;
};

export type PathStats = { requests: number; bytes: number };

export type RequestRecord = {
  path: string;
  range: string | null;
  status: number;
  bytes: number;
  /** The query string as asked ("?st=...&sig=..." for a signed href), "" when none. */
  query: string;
};

export type RangeServer = {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** URL of a served path ('a/b.tif' or '/a/b.tif'). */
  urlFor(filePath: string): string;
  /** Per-path counters of requests and body bytes sent. */
  readonly stats: Map<string, PathStats>;
  /** Every request in order. */
  readonly log: RequestRecord[];
  totals(): PathStats;
  statsFor(filePath: string): PathStats;
  inject(rule: FaultRule): void;
  clearFaults(): void;
  resetStats(): void;
  /** Adds or replaces an in-memory file. */
  put(filePath: string, bytes: Uint8Array): void;
  close(): Promise<void>;
};

export type RangeServerOptions = {
  /** Folder to serve (read-only, never outside it). */
  root?: string;
  /** In-memory files by path ('/x.tif'); they win over files in root. */
  files?: Record<string, Uint8Array>;
};

export async function startRangeServer(options: RangeServerOptions = {}): Promise<RangeServer> {
  const memory = new Map<string, Uint8Array>();
  for (const [p, bytes] of Object.entries(options.files ?? {})) memory.set(normalise(p), bytes);
  const root = options.root === undefined ? undefined : path.resolve(options.root);
  const stats = new Map<string, PathStats>();
  const log: RequestRecord[] = [];
  let rules: Array<FaultRule & { left: number }> = [];

  const count = (p: string, bytes: number, requests = 0) => {
    const s = stats.get(p) ?? { requests: 0, bytes: 0 };
    s.requests += requests;
    s.bytes += bytes;
    stats.set(p, s);
  };

  const takeFault = (p: string): Fault | undefined => {
    for (const rule of rules) {
      if (rule.path !== undefined && normalise(rule.path) !== p) continue;
      if (rule.left <= 0) continue;
      rule.left--;
      return rule.fault;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const asked = new URL(req.url ?? '/', 'http://x');
    const p = normalise(decodeURIComponent(asked.pathname));
    const range = req.headers.range ?? null;
    count(p, 0, 1);
    const record: RequestRecord = { path: p, range, status: 0, bytes: 0, query: asked.search };
    log.push(record);
    const send = (
      status: number,
      headers: Record<string, string | number>,
      body?: Uint8Array,
      end = true,
    ) => {
      record.status = status;
      res.writeHead(status, headers);
      if (body !== undefined && body.byteLength > 0) {
        res.write(body);
        record.bytes += body.byteLength;
        count(p, body.byteLength);
      }
      if (end) res.end();
    };

    const fault = takeFault(p);
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      send(fault.status, headers, Buffer.from(fault.body ?? `injected ${fault.status}`));
      return;
    }
    if (fault?.kind === 'html') {
      const page = Buffer.from('<!doctype html><html><body>Sign in</body></html>');
      send(200, { 'content-type': 'text/html', 'content-length': page.byteLength }, page);
      return;
    }

    const file = await load(p);
    if (file === undefined) {
      send(404, { 'content-type': 'text/plain' }, Buffer.from(`no such file: ${p}`));
      return;
    }
    const size = file.size;
    if (range === null || fault?.kind === 'full-body') {
      // Stream in chunks so an aborting client really stops the transfer (and the count shows it).
      record.status = 200;
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      await streamBody(res, file, 0, size, (n) => {
        record.bytes += n;
        count(p, n);
      });
      return;
    }
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      send(416, { 'content-range': `bytes */${size}` });
      return;
    }
    let start: number;
    let end: number;
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || end < start) {
      send(416, { 'content-range': `bytes */${size}` });
      return;
    }
    const body = await file.read(start, end - start + 1);
    if (fault?.kind === 'wrong-content-range') {
      const shift = fault.shift ?? 1;
      send(
        206,
        {
          'content-range': `bytes ${start + shift}-${end + shift}/${size}`,
          'content-length': body.byteLength,
        },
        body,
      );
      return;
    }
    if (fault?.kind === 'short-body') {
      // No Content-Length: chunked, so the client sees a clean end after half the bytes.
      send(206, { 'content-range': `bytes ${start}-${end}/${size}` }, body.subarray(0, body.byteLength >> 1));
      return;
    }
    if (fault?.kind === 'cut-connection') {
      send(
        206,
        { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': body.byteLength },
        body.subarray(0, body.byteLength >> 1),
        false,
      );
      // Give the half body a moment to leave, then drop the connection mid-answer.
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    }
    send(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': body.byteLength }, body);
  };

  type Source = { size: number; read(offset: number, length: number): Promise<Uint8Array> };
  const load = async (p: string): Promise<Source | undefined> => {
    const bytes = memory.get(p);
    if (bytes !== undefined) {
      return { size: bytes.byteLength, read: async (o, l) => bytes.subarray(o, o + l) };
    }
    if (root === undefined) return undefined;
    const full = path.resolve(root, `.${p}`);
    if (full !== root && !full.startsWith(`${root}${path.sep}`)) return undefined;
    try {
      const handle = await open(full, 'r');
      const { size } = await handle.stat();
      await handle.close();
      if (!Number.isFinite(size)) return undefined;
      return {
        size,
        read: async (o, l) => {
          const h = await open(full, 'r');
          try {
            const out = Buffer.alloc(l);
            const { bytesRead } = await h.read(out, 0, l, o);
            return out.subarray(0, bytesRead);
          } finally {
            await h.close();
          }
        },
      };
    } catch {
      return undefined;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    urlFor: (filePath) => `${base}${encodeURI(normalise(filePath))}`,
    stats,
    log,
    totals: () => {
      const t = { requests: 0, bytes: 0 };
      for (const s of stats.values()) {
        t.requests += s.requests;
        t.bytes += s.bytes;
      }
      return t;
    },
    statsFor: (filePath) => ({ ...(stats.get(normalise(filePath)) ?? { requests: 0, bytes: 0 }) }),
    inject: (rule) => {
      rules.push({ ...rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      rules = [];
    },
    resetStats: () => {
      stats.clear();
      log.length = 0;
    },
    put: (filePath, bytes) => {
      memory.set(normalise(filePath), bytes);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

function normalise(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

const CHUNK = 64 * 1024;

/** Writes [offset, offset+length) in chunks, waiting for drain; stops when the client goes away. */
async function streamBody(
  res: ServerResponse,
  file: { read(offset: number, length: number): Promise<Uint8Array> },
  offset: number,
  length: number,
  sent: (n: number) => void,
): Promise<void> {
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  for (let at = offset; at < offset + length && !closed; at += CHUNK) {
    const chunk = await file.read(at, Math.min(CHUNK, offset + length - at));
    if (closed) break;
    const ok = res.write(chunk);
    sent(chunk.byteLength);
    if (!ok)
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        res.once('drain', done);
        res.once('close', done);
      });
  }
  if (!closed) res.end();
}

/**
 * Writes `<dir>/items.json`, an ItemCollection of a Sentinel-2 fixture folder's items (one folder
 * per item, S2*), with the given assets pointed at the range server (asset key -> file name).
 */
export async function writeFixtureItems(
  fixture: string,
  server: RangeServer,
  dir: string,
  assets: Readonly<Record<string, string>>,
): Promise<string> {
  const items = [];
  for (const id of (await readdir(fixture)).filter((d) => d.startsWith('S2')).sort()) {
    const item = JSON.parse(await readFile(path.join(fixture, id, `${id}.json`), 'utf8'));
    for (const [key, file] of Object.entries(assets))
      item.assets[key].href = server.urlFor(`${id}/${file}.tif`);
    items.push(item);
  }
  const file = path.join(dir, 'items.json');
  await writeFile(file, JSON.stringify({ type: 'FeatureCollection', features: items }));
  return file;
}
