// Content hashes and canonical JSON: the manifest records sha256 of shards and of the job spec, so
// a hash must not depend on key order or on how a document happened to be formatted.
import { createHash } from 'node:crypto';

/** Lowercase hex sha256 of bytes, or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * JSON with object keys sorted at every depth and no whitespace. Otherwise JSON.stringify's rules
 * (undefined members dropped, toJSON honoured); non-finite numbers are refused rather than silently
 * becoming null, because two different documents must not share a hash.
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new TypeError(`canonicalJson: ${v} has no JSON form`);
    }
    if (!isPlainObject(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = v[k];
    return sorted;
  });
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return text;
}
