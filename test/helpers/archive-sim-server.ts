// A simulated CDSE for tests, speaking the HTTP shape of shared/adapters/cdse-archive.ts: an OAuth
// token endpoint, the OData catalogue's Products with `Online`, and ODP production orders. It keeps
// the quota (429 for an order sooner than the interval or beyond the in-flight limit, 429 for a 5th
// concurrent connection), brings ordered products online after a delay on an injected clock, and
// counts everything a test may want to assert on (orders per product, order times, connections).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../shared/ports.ts';

export type ArchiveSimOptions = {
  readonly clock: Clock;
  /** Product ids (without .SAFE) the archive holds; `online: false` ones need an order. */
  readonly products: ReadonlyArray<{ id: string; online: boolean }>;
  readonly minIntervalSeconds?: number;
  readonly maxInFlight?: number;
  /** Seconds from an order to its product being online. */
  readonly restoreSeconds?: number;
  /** Seconds an access token lives (CDSE: 600). */
  readonly tokenSeconds?: number;
  readonly maxConnections?: number;
  /** Real milliseconds every answer takes: lets requests overlap in concurrency tests. */
  readonly latencyMs?: number;
  readonly credentials?: { username: string; password: string };
  /** Orders to answer with this status (e.g. 400, 503) instead of placing them, by product id. */
  readonly failOrders?: Readonly<Record<string, number>>;
};

export type SimOrder = { id: string; productId: string; orderedAt: number; readyAt: number };

export type ArchiveSim = {
  readonly url: string;
  readonly endpoints: { catalogueUrl: string; odpUrl: string; tokenUrl: string };
  readonly orders: SimOrder[];
  /** Orders placed per product id: above 1 is a duplicate order. */
  ordersOf(productId: string): number;
  readonly stats: {
    tokenGrants: { password: number; refresh: number };
    rejected429: number;
    connectionsRefused: number;
    maxConnections: number;
    requests: number;
  };
  /** Makes every token issued so far invalid (as a server restart or revocation would). */
  revokeTokens(): void;
  close(): Promise<void>;
};

export async function startArchiveSim(options: ArchiveSimOptions): Promise<ArchiveSim> {
  const clock = options.clock;
  const interval = (options.minIntervalSeconds ?? 1800) * 1000;
  const maxInFlight = options.maxInFlight ?? 1;
  const restore = (options.restoreSeconds ?? 3600) * 1000;
  const tokenLife = (options.tokenSeconds ?? 600) * 1000;
  const maxConnections = options.maxConnections ?? 4;
  const credentials = options.credentials ?? { username: 'user', password: 'secret' };
  const products = new Map(options.products.map((p) => [p.id, { ...p }]));
  const orders: SimOrder[] = [];
  const tokens = new Map<string, { expiresAt: number; kind: 'access' | 'refresh' }>();
  const stats = {
    tokenGrants: { password: 0, refresh: 0 },
    rejected429: 0,
    connectionsRefused: 0,
    maxConnections: 0,
    requests: 0,
  };
  let active = 0;
  let nextToken = 0;

  const now = () => clock.now().getTime();
  const online = (id: string): boolean => {
    const product = products.get(id);
    if (!product) return false;
    return product.online || orders.some((o) => o.productId === id && o.readyAt <= now());
  };
  const orderJson = (o: SimOrder) => ({
    Id: o.id,
    Status: o.readyAt <= now() ? 'completed' : o.orderedAt + 1000 <= now() ? 'in_progress' : 'queued',
    InputProductReference: { Reference: `${o.productId}.SAFE` },
    SubmissionDate: new Date(o.orderedAt).toISOString(),
  });
  const issue = (): Record<string, unknown> => {
    const access = `access-${++nextToken}`;
    const refresh = `refresh-${nextToken}`;
    tokens.set(access, { expiresAt: now() + tokenLife, kind: 'access' });
    tokens.set(refresh, { expiresAt: now() + 6 * tokenLife, kind: 'refresh' });
    return {
      access_token: access,
      expires_in: tokenLife / 1000,
      refresh_token: refresh,
      refresh_expires_in: (6 * tokenLife) / 1000,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') === 'password') {
        if (form.get('username') !== credentials.username || form.get('password') !== credentials.password) {
          return send(401, { error: 'invalid_grant' });
        }
        stats.tokenGrants.password += 1;
        return send(200, issue());
      }
      const refresh = tokens.get(form.get('refresh_token') ?? '');
      if (
        form.get('grant_type') !== 'refresh_token' ||
        refresh?.kind !== 'refresh' ||
        refresh.expiresAt <= now()
      ) {
        return send(400, { error: 'invalid_grant' });
      }
      stats.tokenGrants.refresh += 1;
      return send(200, issue());
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ? tokens.get(bearer) : undefined;
    if (token?.kind !== 'access' || token.expiresAt <= now())
      return send(401, { error: 'token expired or unknown' });

    // Product names come quoted in $filter: Name eq 'X' or Name eq 'X.SAFE'.
    const named = [...(url.searchParams.get('$filter') ?? '').matchAll(/eq '((?:[^']|'')*)'/g)].map((m) =>
      (m[1] ?? '').replaceAll("''", "'").replace(/\.SAFE$/, ''),
    );
    if (url.pathname === '/odata/v1/Products' && req.method === 'GET') {
      const id = named.find((n) => products.has(n));
      return send(200, { value: id ? [{ Id: `uuid-${id}`, Name: `${id}.SAFE`, Online: online(id) }] : [] });
    }
    if (url.pathname === '/odp/odata/v1/ProductionOrder/OData.CSC.Order' && req.method === 'POST') {
      const reference = (JSON.parse(body) as { InputProductReference?: { Reference?: string } })
        .InputProductReference?.Reference;
      const id = reference?.replace(/\.SAFE$/, '') ?? '';
      if (!products.has(id)) return send(404, { error: `no product ${reference}` });
      const forced = options.failOrders?.[id];
      if (forced) return send(forced, { error: 'forced by the test' });
      const last = orders.at(-1);
      const inFlight = orders.filter((o) => o.readyAt > now()).length;
      if (last && now() - last.orderedAt < interval) {
        stats.rejected429 += 1;
        return send(
          429,
          { error: 'order interval' },
          { 'retry-after': String(Math.ceil((last.orderedAt + interval - now()) / 1000)) },
        );
      }
      if (inFlight >= maxInFlight) {
        stats.rejected429 += 1;
        return send(429, { error: 'too many orders in flight' }, { 'retry-after': '60' });
      }
      const order = {
        id: `order-${orders.length + 1}`,
        productId: id,
        orderedAt: now(),
        readyAt: now() + restore,
      };
      orders.push(order);
      return send(201, orderJson(order));
    }
    const byId = /^\/odp\/odata\/v1\/ProductionOrders\(([^)]+)\)$/.exec(url.pathname);
    if (byId && req.method === 'GET') {
      const order = orders.find((o) => o.id === byId[1]);
      return order ? send(200, orderJson(order)) : send(404, { error: 'no such order' });
    }
    if (url.pathname === '/odp/odata/v1/ProductionOrders' && req.method === 'GET') {
      const mine = orders.filter((o) => named.includes(o.productId)).reverse();
      return send(200, { value: mine.slice(0, 1).map(orderJson) });
    }
    return send(404, { error: `no route ${req.method} ${url.pathname}` });
  };

  const server: Server = createServer((req, res) => {
    stats.requests += 1;
    active += 1;
    stats.maxConnections = Math.max(stats.maxConnections, active);
    const done = () => {
      active -= 1;
    };
    res.on('close', done);
    if (active > maxConnections && req.url !== '/token') {
      stats.connectionsRefused += 1;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'too many connections' }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const run = () =>
        handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
      if (options.latencyMs) setTimeout(run, options.latencyMs);
      else void run();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    endpoints: { catalogueUrl: `${url}/odata/v1`, odpUrl: `${url}/odp/odata/v1`, tokenUrl: `${url}/token` },
    orders,
    ordersOf: (productId) => orders.filter((o) => o.productId === productId).length,
    stats,
    revokeTokens: () => tokens.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
