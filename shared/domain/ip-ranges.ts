// IP addresses and CIDR ranges, and the ranges a deployed run must not reach: loopback, link-local
// (the instance metadata endpoint included), private and other non-public space. IPv6 forms that
// carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.

/** An address as 128 bits: IPv4 a.b.c.d is stored as ::ffff:a.b.c.d, so one comparison serves both. */
type Bits = bigint;

const V4_MAPPED = 0xffff_0000_0000n;

export type ParsedIp = { readonly bits: Bits; readonly v4: boolean };

/** Parses a literal IPv4 (dotted quad) or IPv6 address (brackets allowed); undefined otherwise. */
export function parseIp(text: string): ParsedIp | undefined {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseV4(s);
  if (v4 !== undefined) return { bits: V4_MAPPED | BigInt(v4), v4: true };
  const v6 = parseV6(s);
  return v6 === undefined ? undefined : { bits: v6, v4: false };
}

function parseV4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out = out * 256 + Number(p);
  }
  return out;
}

function parseV6(input: string): Bits | undefined {
  const s = input.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) does not change the address
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split('::').length > 2) return undefined;
  const words: number[] = [];
  const side = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseV4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(Number.parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const [head, tail] = s.split('::');
  const left = side(head ?? '');
  const right = tail === undefined ? [] : side(tail);
  if (left === undefined || right === undefined) return undefined;
  if (tail === undefined) {
    if (left.length !== 8) return undefined;
    words.push(...left);
  } else {
    if (left.length + right.length > 7) return undefined;
    words.push(...left, ...new Array(8 - left.length - right.length).fill(0), ...right);
  }
  return words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export type IpRange = { readonly base: Bits; readonly prefix: number; readonly text: string };

/** Parses `a.b.c.d/n`, `x::/n` or a single address; undefined when it is neither. */
export function parseCidr(text: string): IpRange | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.v4 ? 32 : 128;
  const n = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : Number.NaN;
  if (!(n >= 0 && n <= max)) return undefined;
  const prefix = ip.v4 ? 96 + n : n;
  return { base: ip.bits & mask(prefix), prefix, text: text.trim() };
}

function mask(prefix: number): Bits {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

export function inRange(ip: ParsedIp, range: IpRange): boolean {
  return (ip.bits & mask(range.prefix)) === range.base;
}

const named = (what: string, cidrs: string[], note?: string) =>
  cidrs.map((c) => ({ what, range: parseCidr(c) as IpRange, ...(note ? { note } : {}) }));

/** Address space a deployed run may not reach unless the stage config allows it, with what it is. */
export const NON_PUBLIC_RANGES: ReadonlyArray<{ what: string; range: IpRange; note?: string }> = [
  ...named('loopback', ['127.0.0.0/8', '::1/128']),
  ...named('link-local', ['169.254.0.0/16'], 'the instance metadata endpoint'),
  ...named('link-local', ['fe80::/10']),
  ...named('private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  ...named('private', ['fc00::/7'], 'fd00:ec2::254 is the instance metadata endpoint'),
  ...named('unspecified ("this host")', ['0.0.0.0/8', '::/128']),
  ...named('shared (carrier-grade NAT)', ['100.64.0.0/10']),
  ...named('reserved', ['192.0.0.0/24', '198.18.0.0/15', '240.0.0.0/4', '::/96']),
  ...named('multicast', ['224.0.0.0/4', 'ff00::/8']),
];

/** IPv6 ranges whose addresses carry an IPv4 address: judged by it. */
const EMBEDS_V4: ReadonlyArray<{ range: IpRange; shift: bigint }> = [
  { range: parseCidr('64:ff9b::/96') as IpRange, shift: 0n }, // NAT64
  { range: parseCidr('2002::/16') as IpRange, shift: 80n }, // 6to4
];

/** The IPv4 address an IPv6 address carries (NAT64, 6to4), if any; mapped addresses are IPv4 already. */
function embeddedV4(ip: ParsedIp): ParsedIp | undefined {
  if (ip.v4) return undefined;
  for (const { range, shift } of EMBEDS_V4) {
    if (inRange(ip, range)) return { bits: V4_MAPPED | ((ip.bits >> shift) & 0xffff_ffffn), v4: true };
  }
  return undefined;
}

/**
 * What kind of non-public address `address` is ("loopback (127.0.0.0/8)"), or undefined when it is
 * public or inside one of the `allowed` ranges.
 */
export function nonPublicKind(address: string, allowed: readonly IpRange[] = []): string | undefined {
  const parsed = parseIp(address);
  if (!parsed) return `not an IP address (${address})`;
  const ip = embeddedV4(parsed) ?? parsed;
  if (allowed.some((r) => inRange(ip, r) || inRange(parsed, r))) return undefined;
  const hit = NON_PUBLIC_RANGES.find((r) => inRange(ip, r.range));
  return hit ? `${hit.what} (${hit.range.text}${hit.note ? `: ${hit.note}` : ''})` : undefined;
}
