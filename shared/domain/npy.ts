// NumPy .npy encoding (format 1.0, little-endian, C order) for the arrays of a sample, and a strict
// decoder for tests and verification. numpy reads what we write with np.load(allow_pickle=False).
import { InvalidInputError } from './errors.ts';

export type NpyTypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** NumPy dtype strings: '|' for one byte (no byte order), '<' little-endian. */
export type NpyDtype = '|u1' | '|i1' | '<u2' | '<i2' | '<u4' | '<i4' | '<f4' | '<f8';

export type NpyArray = { dtype: NpyDtype; shape: number[]; data: NpyTypedArray };

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Magic (6) + version (2) + header length (2). */
const PREAMBLE = 10;
/** numpy aligns the data start to 64 bytes so that memory-mapped arrays are aligned. */
const ALIGN = 64;

type DtypeInfo = { ctor: new (buffer: ArrayBuffer) => NpyTypedArray; bytes: number };

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  '|u1': { ctor: Uint8Array, bytes: 1 },
  '|i1': { ctor: Int8Array, bytes: 1 },
  '<u2': { ctor: Uint16Array, bytes: 2 },
  '<i2': { ctor: Int16Array, bytes: 2 },
  '<u4': { ctor: Uint32Array, bytes: 4 },
  '<i4': { ctor: Int32Array, bytes: 4 },
  '<f4': { ctor: Float32Array, bytes: 4 },
  '<f8': { ctor: Float64Array, bytes: 8 },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The dtype numpy should see for a typed array. */
export function npyDtypeOf(data: NpyTypedArray): NpyDtype {
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  throw new InvalidInputError('encodeNpy: unsupported array type');
}

function checkShape(shape: readonly number[], length: number, where: string): void {
  let product = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new InvalidInputError(
        `${where}: shape [${shape.join(', ')}] has a dimension that is not a count`,
      );
    }
    product *= dim;
  }
  if (product !== length) {
    throw new InvalidInputError(
      `${where}: shape [${shape.join(', ')}] holds ${product} values but the data has ${length}`,
    );
  }
}

function headerText(dtype: NpyDtype, shape: readonly number[]): string {
  // Python tuple syntax: a 1-tuple needs its trailing comma, a scalar is ().
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const unpadded = PREAMBLE + dict.length + 1; // + the closing '\n'
  const padding = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  return `${dict}${' '.repeat(padding)}\n`;
}

const DTYPE_OF = new Map<unknown, NpyDtype>([
  [Uint8Array, '|u1'],
  [Int8Array, '|i1'],
  [Uint16Array, '<u2'],
  [Int16Array, '<i2'],
  [Uint32Array, '<u4'],
  [Int32Array, '<i4'],
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
]);

/**
 * Buffers laid out by allocateManyForNpy (slots of `slot` bytes: room for the header, then the array
 * from `start`), with the header of the shape they were made for: only that one is written in place,
 * so two encodings of one array never share bytes that differ.
 */
const withHeaderRoom = new WeakMap<ArrayBufferLike, { header: string; start: number; slot: number }>();

type NpyConstructor<A extends NpyTypedArray> = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => A;

/**
 * A zeroed array of this shape that sits in its buffer behind room for its own .npy header, so that
 * encodeNpy(array, shape) writes the header there and returns those bytes instead of a copy.
 * The encoded bytes then share memory with the array: it must not change while they are in use.
 */
export function allocateForNpy<A extends NpyTypedArray>(
  ctor: NpyConstructor<A>,
  shape: readonly number[],
): A {
  return allocateManyForNpy(ctor, shape, 1)[0] as A;
}

/**
 * `count` arrays as allocateForNpy makes them, in one buffer (slot after slot, each its header room
 * then its data): one large allocation, which the system maps and takes back whole, instead of
 * thousands of small ones that fragment a long-lived worker's heap.
 */
export function allocateManyForNpy<A extends NpyTypedArray>(
  ctor: NpyConstructor<A>,
  shape: readonly number[],
  count: number,
): A[] {
  const dtype = DTYPE_OF.get(ctor);
  if (dtype === undefined) throw new InvalidInputError('allocateForNpy: unsupported array type');
  const length = shape.reduce((n, d) => n * d, 1);
  checkShape(shape, length, 'allocateForNpy');
  const header = headerText(dtype, shape);
  // The header is padded to a multiple of 64 bytes, so every slot's data stays aligned to its type.
  const start = PREAMBLE + header.length;
  const slot = start + length * DTYPES[dtype].bytes;
  const buffer = new ArrayBuffer(slot * count);
  withHeaderRoom.set(buffer, { header, start, slot });
  return Array.from({ length: count }, (_, k) => new ctor(buffer, k * slot + start, length));
}

const headerBytes = new Map<string, Uint8Array>();

/** The bytes before the data: magic, version, header length, header. Samples repeat a few shapes. */
function preambleAndHeader(header: string): Uint8Array {
  let bytes = headerBytes.get(header);
  if (bytes === undefined) {
    bytes = new Uint8Array(PREAMBLE + header.length);
    bytes.set(MAGIC, 0);
    bytes[6] = 1;
    bytes[7] = 0;
    bytes[8] = header.length & 0xff;
    bytes[9] = header.length >> 8;
    for (let i = 0; i < header.length; i++) bytes[PREAMBLE + i] = header.charCodeAt(i);
    if (headerBytes.size >= 1024) headerBytes.clear();
    headerBytes.set(header, bytes);
  }
  return bytes;
}

/** Encodes an array in C order as .npy 1.0. The typed array's type gives the dtype. */
export function encodeNpy(data: NpyTypedArray, shape: readonly number[]): Uint8Array {
  checkShape(shape, data.length, 'encodeNpy');
  const dtype = npyDtypeOf(data);
  const header = headerText(dtype, shape);
  if (header.length > 0xffff) throw new InvalidInputError('encodeNpy: header too long for format 1.0');
  const start = PREAMBLE + header.length;
  // An array from allocateForNpy (the whole of it, not a view of part), with the shape it was made
  // for: the header goes in front.
  const room = withHeaderRoom.get(data.buffer);
  const inPlace =
    HOST_LITTLE_ENDIAN &&
    room !== undefined &&
    room.header === header &&
    data.byteOffset >= start &&
    (data.byteOffset - start) % room.slot === 0 &&
    data.byteLength === room.slot - start;
  const out = inPlace
    ? new Uint8Array(data.buffer, data.byteOffset - start, room.slot)
    : new Uint8Array(start + data.byteLength);
  out.set(preambleAndHeader(header), 0);
  if (inPlace) return out;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(bytes, start);
  if (!HOST_LITTLE_ENDIAN) swapInPlace(out.subarray(start), DTYPES[dtype].bytes);
  return out;
}

function swapInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

function fail(message: string): never {
  throw new InvalidInputError(`decodeNpy: ${message}`);
}

export type NpyHeader = { dtype: NpyDtype; shape: number[]; dataOffset: number };

/**
 * Parses and checks the header of .npy 1.0 bytes (magic, version, dtype, C order, and that the data
 * length fits the shape) without touching the data: verify runs this over every member.
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < PREAMBLE || MAGIC.some((b, i) => bytes[i] !== b)) fail('not an .npy file (bad magic)');
  if (bytes[6] !== 1 || bytes[7] !== 0) fail(`format version ${bytes[6]}.${bytes[7]} is not 1.0`);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  const dataOffset = PREAMBLE + headerLength;
  if (bytes.length < dataOffset) fail('truncated header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(PREAMBLE, dataOffset));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(`bad header ${header.trim()}`);
  if (fortran !== 'False') fail('fortran_order arrays are not supported');
  if (!(descr in DTYPES)) fail(`dtype ${descr} is not supported (little-endian only)`);
  const dtype = descr as NpyDtype;
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) fail(`bad shape (${shapeText})`);
    count *= dim;
  }
  const byteLength = count * DTYPES[dtype].bytes;
  if (bytes.length - dataOffset !== byteLength) {
    fail(
      `data has ${bytes.length - dataOffset} bytes, shape [${shape.join(', ')}] ${dtype} needs ${byteLength}`,
    );
  }
  return { dtype, shape, dataOffset };
}

/** Decodes .npy 1.0 little-endian C-order arrays of the dtypes above; anything else is refused. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  const { dtype, shape, dataOffset } = readNpyHeader(bytes);
  const info = DTYPES[dtype];
  // Copy into a fresh buffer: the data start is aligned in the file, not necessarily in `bytes`.
  const copy = bytes.slice(dataOffset);
  if (!HOST_LITTLE_ENDIAN) swapInPlace(copy, info.bytes);
  return { dtype, shape, data: new info.ctor(copy.buffer) };
}
