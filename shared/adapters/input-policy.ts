// What a run may read. The local CLI reads anything its user names. A deployed run (Lambda) reads only
// s3:// and https:// inputs, the hrefs of catalogs and items included: a local file or path is
// refused before any read (/proc/self/environ holds the function's credentials), and so is plain http
// and any host in loopback, link-local (the metadata endpoint) or private space, unless the stage
// config allows a range. Host names are judged by the addresses they resolve to, at the moment the
// socket connects (the lookup of the connection itself is checked), so a name that answers a public
// address first and a private one later (DNS rebinding) gains nothing; every redirect hop is checked
// the same way.
import { lookup as dnsLookup } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { InputRefusedError, InvalidInputError } from '../domain/errors.ts';
import { type IpRange, nonPublicKind, parseCidr, parseIp } from '../domain/ip-ranges.ts';
import type { FetchLike } from './http-json.ts';

export type Resolved = { readonly address: string; readonly family: number };

export type InputPolicy = {
  /** Where the rules come from, for messages ("the local CLI", "this stage"). */
  readonly name: string;
  /** file:// URIs and plain paths. */
  readonly localFiles: boolean;
  /** http:// (https:// and s3:// are always allowed). */
  readonly plainHttp: boolean;
  /** Any address at all (the local CLI); otherwise public ones and `allowed` ranges only. */
  readonly anyAddress: boolean;
  readonly allowed: readonly IpRange[];
  /** Resolves a host name to every address (dns.lookup with all: true); tests pass their own. */
  readonly resolve?: (host: string, family: number) => Promise<Resolved[]>;
};

/** The local CLI: the user's machine, the user's files. */
export const LOCAL_INPUT_POLICY: InputPolicy = {
  name: 'the local CLI',
  localFiles: true,
  plainHttp: true,
  anyAddress: true,
  allowed: [],
};

/** The settings a stage gives its functions (infra/stage-config.ts `inputs`). */
export type InputSettings = { readonly allowHttp: boolean; readonly allowNetworks: readonly string[] };

/** The environment variables that carry InputSettings to a function. */
export const INPUT_POLICY_ENV = {
  allowHttp: 'SATFACTORY_INPUTS_ALLOW_HTTP',
  allowNetworks: 'SATFACTORY_INPUTS_ALLOW_NETWORKS',
} as const;

export function inputPolicyEnvironment(settings: InputSettings): Record<string, string> {
  return {
    [INPUT_POLICY_ENV.allowHttp]: String(settings.allowHttp),
    [INPUT_POLICY_ENV.allowNetworks]: settings.allowNetworks.join(','),
  };
}

/** The deployed policy from the function's environment; unset variables mean the strict default. */
export function inputPolicyFromEnv(env: Readonly<Record<string, string | undefined>>): InputPolicy {
  const http = env[INPUT_POLICY_ENV.allowHttp] ?? 'false';
  if (http !== 'true' && http !== 'false') {
    throw new InvalidInputError(
      `environment variable ${INPUT_POLICY_ENV.allowHttp} is "${http.slice(0, 20)}", not true or false`,
      { variable: INPUT_POLICY_ENV.allowHttp },
    );
  }
  const networks = (env[INPUT_POLICY_ENV.allowNetworks] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return deployedInputPolicy(
    { allowHttp: http === 'true', allowNetworks: networks },
    INPUT_POLICY_ENV.allowNetworks,
  );
}

export function deployedInputPolicy(settings: InputSettings, source = 'inputs.allowNetworks'): InputPolicy {
  const allowed = settings.allowNetworks.map((text) => {
    const range = parseCidr(text);
    if (!range) {
      throw new InvalidInputError(`${source}: "${text.slice(0, 50)}" is not an IP address or CIDR range`, {
        variable: source,
      });
    }
    return range;
  });
  return {
    name: 'a deployed run',
    localFiles: false,
    plainHttp: settings.allowHttp,
    anyAddress: false,
    allowed,
  };
}

const ADVICE_FILE = 'put the file on S3 and give its s3:// URI';
const ADVICE_NETWORK = 'allow the range in the stage config (inputs.allowNetworks) if it is meant';

/**
 * Checks what can be known from the URI alone: its scheme, and a host written as an IP address.
 * `what` names the input in the message ("labels.source", "COG", "catalog").
 */
export function checkInputUri(policy: InputPolicy, uri: string, what: string): void {
  // Every range read passes here: the local CLI's policy allows all, at no cost.
  if (policy.localFiles && policy.plainHttp && policy.anyAddress) return;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  const local = scheme === undefined || scheme.length === 1 || scheme === 'file';
  if (local) {
    if (policy.localFiles) return;
    throw new InputRefusedError(
      `${what} ${uri}: ${policy.name} does not read local files or paths; ${ADVICE_FILE}`,
      { source: uri },
    );
  }
  if (scheme === 's3') return;
  if (scheme === 'http' && !policy.plainHttp) {
    throw new InputRefusedError(
      `${what} ${uri}: ${policy.name} reads only https:// and s3:// inputs; use https, or set inputs.allowHttp in the stage config`,
      { source: uri },
    );
  }
  if (scheme !== 'http' && scheme !== 'https') return; // other schemes: the adapters name them
  let host: string;
  try {
    host = new URL(uri).hostname;
  } catch {
    return; // an unparsable URL fails in the adapter, with its own message
  }
  if (parseIp(host)) refuseAddress(policy, `${what} ${uri}: `, host, host);
}

function refuseAddress(policy: InputPolicy, subject: string, host: string, address: string): void {
  if (policy.anyAddress) return;
  const kind = nonPublicKind(address, policy.allowed);
  if (kind === undefined) return;
  const via = host === address ? `${address} is` : `${host} resolves to ${address},`;
  throw new InputRefusedError(
    `${subject}${via} a ${kind} address, which ${policy.name} does not reach; ${ADVICE_NETWORK}`,
    { address },
  );
}

/** A socket lookup that refuses a host if any address it resolves to is not allowed. */
export function guardedLookup(policy: InputPolicy): LookupFunction {
  const resolve =
    policy.resolve ??
    ((host: string, family: number) =>
      new Promise<Resolved[]>((ok, fail) =>
        dnsLookup(host, { all: true, family }, (error, addresses) => (error ? fail(error) : ok(addresses))),
      ));
  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : 0;
    resolve(hostname, family).then(
      (addresses) => {
        try {
          for (const a of addresses) refuseAddress(policy, '', hostname, a.address);
        } catch (refused) {
          callback(refused as NodeJS.ErrnoException, '', 4);
          return;
        }
        if (options.all) callback(null, addresses as never);
        else if (addresses[0]) callback(null, addresses[0].address, addresses[0].family);
        else
          callback(
            Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND', hostname }),
            '',
            4,
          );
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A fetch for the policy: node:http(s) with the guarded lookup, each redirect checked like the first
 * request. Enough of fetch for what satfactory sends (GET/POST with a string body, headers, a signal).
 */
export function guardedFetch(policy: InputPolicy): FetchLike {
  const lookup = guardedLookup(policy);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, lookup }),
    'https:': new https.Agent({ keepAlive: true, lookup }),
  };
  return async (input, init) => {
    let url = new URL(input);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = bodyBytes(init.body);
    const headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      checkInputUri(policy, url.href, hop === 0 ? 'input' : `redirect from ${input} to`);
      const agent = agents[url.protocol as keyof typeof agents];
      if (!agent)
        throw new InvalidInputError(`cannot fetch ${url.href}: only http(s) URLs`, { source: url.href });
      let res: IncomingMessage;
      try {
        res = await send(url, method, headers, body, init.signal ?? undefined, agent);
      } catch (error) {
        // The lookup knows the host only: name the URL (and the redirect that led there).
        if (!(error instanceof InputRefusedError)) throw error;
        const what = hop === 0 ? 'input' : `redirect from ${input} to`;
        throw new InputRefusedError(`${what} ${url.href}: ${error.message}`, {
          ...error.context,
          source: url.href,
        });
      }
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode ?? 0) || !location || init.redirect === 'manual') {
        return toResponse(res, method);
      }
      res.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new InvalidInputError(`${input} redirects more than ${MAX_REDIRECTS} times`, { source: input });
      }
      const next = new URL(location, url);
      if (
        res.statusCode === 303 ||
        ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
      }
      // As fetch does: credentials stay with the origin they were meant for.
      if (next.origin !== url.origin) headers.delete('authorization');
      url = next;
    }
  };
}

function bodyBytes(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new TypeError('guardedFetch sends string or byte bodies only');
}

function send(
  url: URL,
  method: string,
  headers: Headers,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
  agent: http.Agent,
): Promise<IncomingMessage> {
  const h: Record<string, string> = Object.fromEntries(headers);
  if (body !== undefined) h['content-length'] = String(body.byteLength);
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: h, agent, ...(signal ? { signal } : {}) }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

function toResponse(res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  if (NULL_BODY.has(status) || method === 'HEAD') {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage ?? '', headers });
  }
  const body = Readable.toWeb(res) as ReadableStream<Uint8Array>;
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
}
