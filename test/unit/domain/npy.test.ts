// .npy encoding: the header layout numpy expects (magic, 1.0, 64-byte alignment, tuple syntax) and
// round trips for every dtype a sample uses. Python reading them is proven in test/interop.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import {
  allocateForNpy,
  allocateManyForNpy,
  decodeNpy,
  encodeNpy,
  readNpyHeader,
} from '../../../shared/domain/npy.ts';

function headerOf(bytes: Uint8Array): string {
  const length = bytes[8]! | (bytes[9]! << 8);
  return Buffer.from(bytes.subarray(10, 10 + length)).toString('latin1');
}

describe('encodeNpy', () => {
  it('writes magic, version 1.0 and a space-padded header ending in \\n on a 64-byte boundary', () => {
    const bytes = encodeNpy(new Uint16Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const header = headerOf(bytes);
    expect((10 + header.length) % 64).toBe(0);
    expect(header.endsWith(' \n')).toBe(true);
    expect(header.trimEnd()).toBe("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }");
    expect(bytes.length).toBe(10 + header.length + 12);
    // Little-endian values right after the header.
    expect([...bytes.subarray(10 + header.length, 10 + header.length + 4)]).toEqual([1, 0, 2, 0]);
  });

  it('writes 1-d shapes with the trailing comma and scalars as ()', () => {
    expect(headerOf(encodeNpy(new Float32Array(5), [5]))).toContain("'shape': (5,)");
    expect(headerOf(encodeNpy(new Float64Array([1.5]), []))).toContain("'shape': ()");
  });

  it('names each dtype as numpy does', () => {
    const cases: Array<[Parameters<typeof encodeNpy>[0], string]> = [
      [new Uint8Array(1), '|u1'],
      [new Int8Array(1), '|i1'],
      [new Uint16Array(1), '<u2'],
      [new Int16Array(1), '<i2'],
      [new Uint32Array(1), '<u4'],
      [new Int32Array(1), '<i4'],
      [new Float32Array(1), '<f4'],
      [new Float64Array(1), '<f8'],
    ];
    for (const [data, descr] of cases) {
      expect(headerOf(encodeNpy(data, [1]))).toContain(`'descr': '${descr}'`);
      expect(decodeNpy(encodeNpy(data, [1])).dtype).toBe(descr);
    }
  });

  it('round-trips values and shape, including a view into a larger buffer', () => {
    const backing = new Uint16Array([9, 9, 10, 65535, 0, 300, 9]);
    const view = backing.subarray(2, 6);
    const decoded = decodeNpy(encodeNpy(view, [1, 2, 2]));
    expect(decoded.shape).toEqual([1, 2, 2]);
    expect([...decoded.data]).toEqual([10, 65535, 0, 300]);
    expect(decoded.data).toBeInstanceOf(Uint16Array);

    const f = decodeNpy(encodeNpy(new Float32Array([0.25, -1, Number.NaN]), [3]));
    expect([...f.data]).toEqual([0.25, -1, Number.NaN]);
  });

  it('refuses a shape that does not hold the data', () => {
    expect(() => encodeNpy(new Uint8Array(6), [2, 2])).toThrow(InvalidInputError);
    expect(() => encodeNpy(new Uint8Array(6), [2, 2])).toThrow(/holds 4 values but the data has 6/);
    expect(() => encodeNpy(new Uint8Array(0), [-1])).toThrow(/not a count/);
    expect(() => encodeNpy(new Uint8Array(2), [1.5, 2])).toThrow(InvalidInputError);
  });

  it('encodes empty arrays', () => {
    const decoded = decodeNpy(encodeNpy(new Uint16Array(0), [0, 3, 24, 24]));
    expect(decoded.shape).toEqual([0, 3, 24, 24]);
    expect(decoded.data.length).toBe(0);
  });
});

describe('allocateForNpy', () => {
  // The oracle: encodeNpy of a plain array holding the same values (the copying path).
  const plain = (a: Uint16Array | Uint8Array) => encodeNpy(a.slice(), [...shapeOf(a)]);
  const shapes = new Map<unknown, number[]>();
  const shapeOf = (a: unknown) => shapes.get(a) as number[];
  const filled = <A extends Uint16Array | Uint8Array>(a: A, shape: number[]): A => {
    for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % (a instanceof Uint8Array ? 256 : 65536);
    shapes.set(a, shape);
    return a;
  };

  it('gives bytes equal to a copy, written in front of the array in its own buffer', () => {
    for (const shape of [[3, 4, 24, 24], [1, 2, 12, 12], [6, 2, 2], [0, 5], [7]]) {
      for (const a of [allocateForNpy(Uint16Array, shape), allocateForNpy(Uint8Array, shape)]) {
        filled(a, shape);
        const expected = plain(a);
        const bytes = encodeNpy(a, shape);
        expect(Buffer.compare(Buffer.from(bytes), Buffer.from(expected))).toBe(0);
        // No copy: the encoded bytes are the array's buffer, which holds nothing else.
        expect(bytes.buffer).toBe(a.buffer);
        expect(bytes.byteLength).toBe(a.buffer.byteLength);
        expect(Array.from(decodeNpy(bytes).data)).toEqual(Array.from(a));
      }
    }
  });

  it('copies a view of part of such an array, and a shape other than the one it was made for', () => {
    const shape = [3, 2, 4, 4];
    const a = filled(allocateForNpy(Uint16Array, shape), shape);
    const before = Buffer.from(a.buffer).toString('hex');
    // One date of three, as per-date samples cut them: the first starts where the whole array does.
    for (let t = 0; t < 3; t++) {
      const date = a.subarray(t * 32, (t + 1) * 32);
      const bytes = encodeNpy(date, [2, 4, 4]);
      expect(bytes.buffer).not.toBe(a.buffer);
      expect(Array.from(decodeNpy(bytes).data)).toEqual(Array.from(date));
    }
    // Nothing written into the shared buffer by those.
    expect(Buffer.from(a.buffer).toString('hex')).toBe(before);
    // The same values as [6, 16]: a header of another length, so a copy.
    const other = encodeNpy(a, [6, 16]);
    expect(other.buffer).not.toBe(a.buffer);
    expect(decodeNpy(other).shape).toEqual([6, 16]);
    expect(Array.from(decodeNpy(other).data)).toEqual(Array.from(a));
  });

  it('refuses a shape with a dimension that is not a count', () => {
    expect(() => allocateForNpy(Uint16Array, [2, -1])).toThrow(InvalidInputError);
  });

  it('lays many arrays in one buffer: each encodes in place, to its own slot, equal to a copy', () => {
    for (const shape of [[3, 4, 24, 24], [3, 12, 12], [7]]) {
      for (const many of [
        allocateManyForNpy(Uint16Array, shape, 5),
        allocateManyForNpy(Uint8Array, shape, 5),
      ]) {
        expect(new Set(many.map((a) => a.buffer)).size).toBe(1);
        many.forEach((a, k) => {
          filled(a, shape);
          a[0] = k + 1; // each slot its own values
        });
        const encoded = many.map((a) => encodeNpy(a, shape));
        const slot = (encoded[0] as Uint8Array).byteLength;
        encoded.forEach((bytes, k) => {
          const a = many[k] as Uint16Array | Uint8Array;
          expect(Buffer.compare(Buffer.from(bytes), Buffer.from(plain(a)))).toBe(0);
          // No copy: slot k of the shared buffer, and only it.
          expect(bytes.buffer).toBe(a.buffer);
          expect(bytes.byteOffset).toBe(k * slot);
          expect(bytes.byteLength).toBe(slot);
          expect(a.byteOffset % a.BYTES_PER_ELEMENT).toBe(0);
        });
        // Encoding one slot wrote nothing into a neighbour: every slot still decodes to its own array.
        encoded.forEach((bytes, k) => {
          expect(Array.from(decodeNpy(bytes).data)).toEqual(Array.from(many[k] as Uint16Array));
        });
      }
    }
  });
});

describe('decodeNpy', () => {
  const valid = encodeNpy(new Uint16Array([1, 2]), [2]);

  it('reads the header alone, with the data offset on a 64-byte boundary', () => {
    expect(readNpyHeader(encodeNpy(new Uint8Array(24), [2, 3, 4]))).toEqual({
      dtype: '|u1',
      shape: [2, 3, 4],
      dataOffset: 128,
    });
  });

  it('refuses other files, versions, byte orders and layouts', () => {
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]))).toThrow(/bad magic/);
    const v2 = valid.slice();
    v2[6] = 2;
    expect(() => decodeNpy(v2)).toThrow(/version 2.0/);
    const swap = (from: string, to: string) => {
      const copy = valid.slice();
      const text = Buffer.from(copy).toString('latin1').replace(from, to);
      return new Uint8Array(Buffer.from(text, 'latin1'));
    };
    expect(() => decodeNpy(swap("'<u2'", "'>u2'"))).toThrow(/not supported/);
    expect(() => decodeNpy(swap('False', 'True '))).toThrow(/fortran_order/);
    expect(() => decodeNpy(valid.subarray(0, valid.length - 1))).toThrow(/needs 4/);
  });
});
