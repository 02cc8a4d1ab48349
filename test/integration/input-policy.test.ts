// What a deployed run may read, against real sockets on 127.0.0.1: host names judged by the addresses
// each connection resolves to (DNS rebinding gains nothing), redirects checked hop by hop, refusals
// final and never retried, and the Lambda context's ports (blob stores, range reader, catalogs)
// refusing local files and private hosts before any read. One test per rule.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../shared/adapters/aws/lambda-handler.ts';
import type { Powertools } from '../../shared/adapters/aws/powertools.ts';
import { fetchJson } from '../../shared/adapters/http-json.ts';
import {
  deployedInputPolicy,
  guardedFetch,
  type InputPolicy,
  inputPolicyEnvironment,
  type Resolved,
} from '../../shared/adapters/input-policy.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { HttpRangeReader } from '../../shared/adapters/local/http-range-reader.ts';
import { InputRefusedError, TransientError } from '../../shared/domain/errors.ts';
import { parseJobSpec } from '../../shared/domain/job-spec.ts';
import { noMetrics, silentLog, systemClock } from '../../shared/ports.ts';
import { ingestLabels } from '../../shared/work/labels-store.ts';
import { MemoryBlobStore } from '../helpers/memory-blob-store.ts';

let server: Server;
let base: string;
let port: number;
let requests: string[] = [];
let connections = 0;
const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 255);

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = req.url ?? '/';
    if (url === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (url === '/echo') {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => res.writeHead(200).end(JSON.stringify({ method: req.method, body })));
      return;
    }
    if (url === '/redirect-ok') {
      res.writeHead(302, { location: '/ok' }).end();
      return;
    }
    if (url === '/redirect-private') {
      res.writeHead(302, { location: `http://127.0.0.2:${port}/ok` }).end();
      return;
    }
    if (url === '/empty') {
      res.writeHead(204).end();
      return;
    }
    if (url === '/hang') return; // never answers
    if (url === '/cog.tif') {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      const [a, b] = m ? [Number(m[1]), Number(m[2])] : [0, bytes.length - 1];
      res
        .writeHead(206, { 'content-range': `bytes ${a}-${b}/${bytes.length}`, 'content-length': b - a + 1 })
        .end(bytes.subarray(a, b + 1));
      return;
    }
    if (url === '/catalog.json') {
      // A remote catalog whose item points its asset at a file on the function's machine.
      const item = {
        type: 'Feature',
        stac_version: '1.0.0',
        id: 'S2_local_href',
        properties: { datetime: '2023-05-04T10:00:00Z' },
        geometry: null,
        assets: { red: { href: 'file:///proc/self/environ' } },
        links: [],
      };
      res.writeHead(200).end(JSON.stringify({ type: 'FeatureCollection', features: [item] }));
      return;
    }
    res.writeHead(404).end('not here');
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const reset = () => {
  requests = [];
  connections = 0;
};

/** Deployed rules with plain http allowed (the test server speaks http) and the given ranges. */
const policy = (allowNetworks: string[], resolve?: InputPolicy['resolve']): InputPolicy => ({
  ...deployedInputPolicy({ allowHttp: true, allowNetworks }),
  ...(resolve ? { resolve } : {}),
});

const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe('guardedFetch', () => {
  it('refuses a host name that resolves to loopback; the server sees no connection', async () => {
    reset();
    const error = await fail(guardedFetch(policy([]))(`http://localhost:${port}/ok`, {}));
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toMatch(
      new RegExp(
        `^input http://localhost:${port}/ok: localhost resolves to (127\\.0\\.0\\.1|::1), a loopback`,
      ),
    );
    expect(connections).toBe(0);
  });

  it('refuses a name if any of its addresses is private', async () => {
    const resolve = async (): Promise<Resolved[]> => [
      { address: '52.92.1.1', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const error = await fail(guardedFetch(policy([], resolve))('https://mixed.example/x', {}));
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toContain('mixed.example resolves to 10.0.0.7, a private (10.0.0.0/8) address');
  });

  it('checks the address each connection resolves to: a name that turns private later is refused then', async () => {
    reset();
    const answers = ['127.0.0.1', '127.0.0.2'];
    let lookups = 0;
    const resolve = async (): Promise<Resolved[]> => [
      { address: answers[lookups++] ?? '127.0.0.2', family: 4 },
    ];
    const fetch = guardedFetch(policy(['127.0.0.1/32'], resolve));
    const first = await fetch(`http://rebind.test:${port}/ok`, { headers: { connection: 'close' } });
    expect(await first.json()).toEqual({ ok: true });
    // The next connection resolves again, gets the private answer, and never opens.
    const error = await fail(fetch(`http://rebind.test:${port}/ok`, {}));
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toContain('rebind.test resolves to 127.0.0.2, a loopback');
    expect(lookups).toBe(2);
    expect(requests).toEqual(['GET /ok']);
  });

  it('follows a redirect to an allowed host and refuses one to a host that is not', async () => {
    reset();
    const fetch = guardedFetch(policy(['127.0.0.1/32']));
    expect(await (await fetch(`${base}/redirect-ok`, {})).json()).toEqual({ ok: true });
    const error = await fail(fetch(`${base}/redirect-private`, {}));
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toContain(
      `redirect from ${base}/redirect-private to http://127.0.0.2:${port}/ok: 127.0.0.2 is a loopback`,
    );
    expect(requests).toEqual(['GET /redirect-ok', 'GET /ok', 'GET /redirect-private']);
  });

  it('serves what satfactory sends: JSON GET and POST, an empty answer, range reads', async () => {
    const fetch = guardedFetch(policy(['127.0.0.0/8']));
    const options = { clock: systemClock, fetch, maxAttempts: 1 };
    expect((await fetchJson({ method: 'GET', url: `${base}/ok` }, options)).body).toEqual({ ok: true });
    const echoed = await fetchJson({ method: 'POST', url: `${base}/echo`, body: { a: [1, 'é'] } }, options);
    expect(echoed.body).toEqual({ method: 'POST', body: '{"a":[1,"é"]}' });
    expect((await fetch(`${base}/empty`, {})).status).toBe(204);
    const reader = new HttpRangeReader({ fetch });
    expect(await reader.read(`${base}/cog.tif`, 1000, 700)).toEqual(bytes.subarray(1000, 1700));
    expect(reader.stats).toEqual({ requests: 1, bytes: 700 });
  });

  it('is final: a refused input is not retried', async () => {
    let lookups = 0;
    const resolve = async (): Promise<Resolved[]> => {
      lookups++;
      return [{ address: '169.254.169.254', family: 4 }];
    };
    const fetch = guardedFetch(policy([], resolve));
    const error = await fail(
      fetchJson({ method: 'GET', url: 'https://metadata.example/latest' }, { clock: systemClock, fetch }),
    );
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toContain(
      '169.254.169.254, a link-local (169.254.0.0/16: the instance metadata endpoint)',
    );
    expect(lookups).toBe(1);
    const reader = new HttpRangeReader({ fetch, sleep: async () => {} });
    await expect(reader.read('https://metadata.example/cog.tif', 0, 10)).rejects.toThrow(InputRefusedError);
    expect(lookups).toBe(2);
  });

  it('turns its own timeout into the usual retryable timeout', async () => {
    const fetch = guardedFetch(policy(['127.0.0.1/32']));
    const error = await fail(
      fetchJson(
        { method: 'GET', url: `${base}/hang` },
        { clock: systemClock, fetch, maxAttempts: 1, timeoutMs: 300 },
      ),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error?.message).toContain('timed out after 300 ms');
  });
});

describe('the Lambda context', () => {
  const tools = { log: silentLog, metricsPort: noMetrics } as unknown as Powertools;
  const env = (allowNetworks: string[] = []) => ({
    WORK_BUCKET: 'work-bucket',
    ...inputPolicyEnvironment({ allowHttp: true, allowNetworks }),
  });

  it('refuses a labels.source on the local disk before reading it', async () => {
    const get = vi.spyOn(FsBlobStore.prototype, 'get');
    const ctx = { ...lambdaContext(tools, env()), work: new MemoryBlobStore('memory://work') };
    const job = parseJobSpec(
      {
        name: 'steal',
        catalog: {
          kind: 'stac',
          url: 'https://earth-search.aws.element84.com/v1',
          collection: 'sentinel-2-l2a',
        },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [15, 45],
              [15.1, 45],
              [15.1, 45.1],
              [15, 45.1],
              [15, 45],
            ],
          ],
        },
        period: { start: '2023-05-01', end: '2023-05-31' },
        bands: ['red'],
        windows: { size: 24 },
        labels: { source: '/proc/self/environ', format: 'csv', classProperty: 'x' },
        output: { uri: 's3://datasets/steal' },
      },
      'job.json',
    );
    const error = await fail(ingestLabels(ctx, 'steal-000000000000', job));
    expect(error).toBeInstanceOf(InputRefusedError);
    expect(error?.message).toBe(
      'labels.source /proc/self/environ: a deployed run does not read local files or paths; put the file on S3 and give its s3:// URI',
    );
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
    // Nor a dataset on the local disk.
    expect(() => ctx.openStore('/srv/datasets/x')).toThrow(InputRefusedError);
    expect(() => ctx.openStore('file:///srv/datasets/x')).toThrow(InputRefusedError);
  });

  it("refuses a catalog's own hrefs when they point at local files, before any read", async () => {
    const ctx = lambdaContext(tools, env(['127.0.0.1/32']));
    // The catalog is a public-looking remote document (allowed here: the test server).
    const found = await ctx.openCatalog({ kind: 'static', source: `${base}/catalog.json` }).search({
      collection: '',
      intersects: {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
      start: '2023-05-01',
      end: '2023-05-31',
    });
    const href = found.items[0]?.assets['red']?.href as string;
    expect(href).toBe('file:///proc/self/environ');
    await expect(ctx.ranges.read(href, 0, 16)).rejects.toThrow(
      'imagery file:///proc/self/environ: a deployed run does not read local files or paths',
    );
    expect(ctx.ranges.stats).toEqual({ requests: 0, bytes: 0 });
    // A static catalog on the function's disk is refused the same way.
    const local = ctx.openCatalog({ kind: 'static', source: '/var/task/catalog' });
    await expect(
      local.search({
        collection: '',
        intersects: { type: 'Point', coordinates: [0, 0] },
        start: '2023-01-01',
        end: '2023-01-02',
      }),
    ).rejects.toThrow(InputRefusedError);
  });

  it('refuses COGs and catalogs on loopback, link-local and private hosts unless the stage allows them', async () => {
    const strict = lambdaContext(tools, env());
    await expect(strict.ranges.read(`${base}/cog.tif`, 0, 10)).rejects.toThrow(/127\.0\.0\.1 is a loopback/);
    const stac = strict.openCatalog({
      kind: 'stac',
      url: 'https://169.254.169.254/latest',
      collection: 'x',
      limit: 100,
      maxPages: 5,
      maxItems: 100,
    });
    await expect(
      stac.search({
        collection: 'x',
        intersects: { type: 'Point', coordinates: [0, 0] },
        start: '2023-01-01',
        end: '2023-01-02',
      }),
    ).rejects.toThrow(InputRefusedError);
    const allowed = lambdaContext(tools, env(['127.0.0.1/32']));
    expect(await allowed.ranges.read(`${base}/cog.tif`, 10, 5)).toEqual(bytes.subarray(10, 15));
  });
});
