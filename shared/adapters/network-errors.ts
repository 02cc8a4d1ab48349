// What went wrong when a request got no answer. Node's fetch (undici) throws `TypeError: fetch failed`
// and keeps the root cause (DNS, refused, reset, TLS) in `.cause.code`; the AWS SDK throws the socket
// error itself. One classification for every adapter: the message names the cause, and the error's
// name says whether trying again can help (Step Functions retries by name).
import {
  DnsLookupError,
  type ErrorContext,
  InvalidInputError,
  type SatfactoryError,
  TlsError,
  TransientError,
} from '../domain/errors.ts';

export type NetworkFailureKind =
  | 'dns'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'unreachable'
  | 'tls'
  | 'bad-url'
  | 'other';

export type NetworkFailure = {
  readonly kind: NetworkFailureKind;
  /** The system, undici or OpenSSL code (ENOTFOUND, ECONNREFUSED, UND_ERR_SOCKET, CERT_HAS_EXPIRED). */
  readonly code: string | undefined;
  /** The root cause in plain words, e.g. `connection refused by 127.0.0.1:8080`. */
  readonly reason: string;
  /**
   * False when waiting cannot help: a name that does not resolve, a refused certificate, a URL that
   * fetch refuses. EAI_AGAIN counts here too: a resolver silent twice in a row means no network, and
   * minutes of Step Functions backoff only hide that.
   */
  readonly retryable: boolean;
};

const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const UNREACHABLE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
/** Certificates a TLS-inspecting proxy re-signs: its CA is missing from Node's store. */
const PROXY_CA = new Set(['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN']);

type Coded = { code?: unknown; message?: unknown; name?: unknown; hostname?: unknown; reason?: unknown };

/**
 * Classifies an error thrown by fetch (or a socket) for `url`. `timeoutMs` is the per-attempt timeout
 * the caller set with AbortSignal.timeout, so its TimeoutError can say how long it waited.
 */
export function classifyNetworkError(error: unknown, url: string, timeoutMs?: number): NetworkFailure {
  const chain = causeChain(error);
  const where = hostOf(url);
  if (chain.some((e) => e.name === 'TimeoutError')) {
    const after = timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`;
    return { kind: 'timeout', code: undefined, reason: `timed out${after}`, retryable: true };
  }
  const root = chain.find((e) => typeof e.code === 'string');
  const code = root?.code as string | undefined;
  const said = typeof root?.message === 'string' ? root.message : '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA') {
    const host = typeof root?.hostname === 'string' ? root.hostname : where.host;
    const hint =
      code === 'EAI_AGAIN' ? 'the resolver did not answer; no network?' : 'no network or wrong host?';
    return { kind: 'dns', code, reason: `DNS lookup of ${host} failed (${code}): ${hint}`, retryable: false };
  }
  if (code === 'ECONNREFUSED') {
    return {
      kind: 'refused',
      code,
      reason: `connection refused by ${addressOf(root, where)}`,
      retryable: true,
    };
  }
  if (code !== undefined && RESET.has(code)) {
    const detail = said && !said.includes(code) ? `: ${said}` : '';
    return {
      kind: 'reset',
      code,
      reason: `connection to ${where.hostPort} reset (${code}${detail})`,
      retryable: true,
    };
  }
  if (code !== undefined && TIMEOUT.has(code)) {
    return { kind: 'timeout', code, reason: `${where.hostPort} timed out (${code})`, retryable: true };
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return {
      kind: 'unreachable',
      code,
      reason: `${where.hostPort} is unreachable (${code}): no network or no route?`,
      retryable: true,
    };
  }
  if (code !== undefined && /CERT|SSL|TLS|SIGNATURE|ISSUER/.test(code)) {
    const detail = typeof root?.reason === 'string' ? root.reason : said.split('\n')[0];
    const what = /CERT|SIGNATURE|ISSUER/.test(code)
      ? `certificate of ${where.hostPort} refused: ${detail}`
      : `handshake with ${where.hostPort} failed: ${detail}`;
    const hint = PROXY_CA.has(code) ? '; behind a TLS-inspecting proxy? set NODE_EXTRA_CA_CERTS' : '';
    return { kind: 'tls', code, reason: `TLS: ${what} (${code})${hint}`, retryable: false };
  }
  // fetch refuses some URLs before any I/O: ports it blocks ("bad port"), unparsable URLs.
  if (code === 'ERR_INVALID_URL' || chain.some((e) => e.message === 'bad port')) {
    const why = code === 'ERR_INVALID_URL' ? 'invalid URL' : 'a port it blocks';
    return { kind: 'bad-url', code, reason: `fetch refuses ${url} (${why})`, retryable: false };
  }
  const messages = chain.map((e) => (typeof e.message === 'string' ? e.message : '')).filter(Boolean);
  const reason = messages.join(': ') || String(error);
  return {
    kind: 'other',
    code,
    reason: code && !reason.includes(code) ? `${reason} (${code})` : reason,
    retryable: true,
  };
}

/**
 * The error to throw for a request that got no answer, under a name that says whether to retry:
 * TransientError when waiting may help; DnsLookupError, TlsError or (a URL fetch refuses)
 * InvalidInputError when it cannot, names that no Retry of the workflow lists.
 */
export function networkError(
  message: string,
  failure: NetworkFailure,
  context: ErrorContext,
  cause: unknown,
): SatfactoryError {
  const full = { ...context, network: failure.kind, ...(failure.code ? { code: failure.code } : {}) };
  const options = { cause };
  if (failure.retryable) return new TransientError(message, full, options);
  if (failure.kind === 'dns') return new DnsLookupError(message, full, options);
  if (failure.kind === 'tls') return new TlsError(message, full, options);
  return new InvalidInputError(message, full, options);
}

/**
 * A failed DNS lookup earns one quick retry (a resolver hiccup looks the same as a wrong name or no
 * network), never the minutes of backoff a throttled server gets.
 */
export function retriesOnce(error: unknown): boolean {
  return error instanceof DnsLookupError;
}

/** The error and its causes, outermost first (undici nests them; happy eyeballs aggregates them). */
function causeChain(error: unknown): Coded[] {
  const out: Coded[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    out.push(current as Coded);
    const next: unknown = (current as { cause?: unknown }).cause;
    const errors: unknown = (current as { errors?: unknown }).errors;
    current = next ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return out;
}

function hostOf(url: string): { host: string; hostPort: string } {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '');
    return { host: u.hostname, hostPort: port ? `${u.hostname}:${port}` : u.hostname };
  } catch {
    return { host: url, hostPort: url };
  }
}

function addressOf(root: Coded | undefined, where: { hostPort: string }): string {
  const r = root as { address?: unknown; port?: unknown } | undefined;
  if (typeof r?.address === 'string' && typeof r.port === 'number') return `${r.address}:${r.port}`;
  return where.hostPort;
}
