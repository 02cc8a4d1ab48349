// TIFF predictor 2 for uint16 rows as a WebAssembly SIMD kernel: a prefix sum of 8 samples per
// instruction sequence instead of one sample per add. The module is a few dozen bytes assembled
// below from named opcodes (no binary blob, no toolchain); when WebAssembly or its SIMD is missing,
// or a row is not a whole number of 8-sample vectors, the caller's JavaScript loop does the work.

const SIMD = 0xfd;
const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128, as the binary format writes counts, sizes and indices. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const name = (s: string): number[] => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const simd = (op: number, ...immediates: number[]): number[] => [SIMD, ...leb(op), ...immediates];

const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32const = (v: number) => [0x41, v]; // v < 64: one signed LEB byte
const zero = simd(0x0c, ...new Array(16).fill(0)); // v128.const 0
const load = simd(0x00, 0, 0); // v128.load align=1 offset=0
const store = simd(0x0b, 0, 0); // v128.store
const shuffle = (lanes: number[]) => simd(0x0d, ...lanes); // i8x16.shuffle a b: 0-15 from a, 16-31 from b
const add16 = simd(0x8e); // i16x8.add (wraps: the TIFF spec's modular sum)
const shl64 = simd(0xcb); // i64x2.shl

/**
 * u16(ptr, rowBytes, rows): in place, each row of rowBytes (a multiple of 16) at ptr, ptr + rowBytes,
 * ... becomes its running sum. Per vector of 8 samples: running sums within each 64-bit half (two
 * shifts and adds), the low half's last sum added to the high half, then the previous vector's last
 * sum (the carry) added to all eight.
 */
function kernelBytes(): Uint8Array {
  const [ptr, rowBytes, rows, end, v, carry] = [0, 1, 2, 3, 4, 5];
  const body = [
    ...[0x02, 0x40, 0x03, 0x40], // block, loop: per row
    ...get(rows),
    0x45, // i32.eqz
    ...[0x0d, 1], // br_if out of the block
    ...get(ptr),
    ...get(rowBytes),
    0x6a, // i32.add
    ...set(end),
    ...zero,
    ...set(carry),
    ...[0x03, 0x40], // loop: per vector
    ...get(ptr),
    ...load,
    ...set(v),
    ...[16, 32].flatMap((bits) => [...get(v), ...get(v), ...i32const(bits), ...shl64, ...add16, ...set(v)]),
    // Lanes 4-7 += lane 3 (bytes 6-7 of v, indices 22-23 of the pair (zero, v)).
    ...get(v),
    ...zero,
    ...get(v),
    ...shuffle([0, 0, 0, 0, 0, 0, 0, 0, 22, 23, 22, 23, 22, 23, 22, 23]),
    ...add16,
    ...get(carry),
    ...add16,
    ...set(v),
    ...get(ptr),
    ...get(v),
    ...store,
    // carry = lane 7 in every lane.
    ...get(v),
    ...get(v),
    ...shuffle([14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15]),
    ...set(carry),
    ...get(ptr),
    ...i32const(16),
    0x6a,
    ...tee(ptr),
    ...get(end),
    0x49, // i32.lt_u
    ...[0x0d, 0], // br_if: next vector
    0x0b, // end of the vector loop
    ...get(rows),
    ...i32const(1),
    0x6b, // i32.sub
    ...set(rows),
    ...[0x0c, 0], // br: next row
    ...[0x0b, 0x0b], // end loop, end block
    0x0b, // end of the function
  ];
  const code = [
    ...vec([
      [1, I32],
      [2, V128],
    ]),
    ...body,
  ];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([])]])), // type: (i32 i32 i32) -> ()
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, 0]])), // memory: min 0 pages, grown on demand
    ...section(
      7,
      vec([
        [...name('m'), 0x02, 0],
        [...name('u16'), 0x00, 0],
      ]),
    ), // exports
    ...section(10, vec([[...leb(code.length), ...code]])),
  ]);
}

// The few WebAssembly members used, typed here: the project's lib (ES2023, no DOM) does not declare them.
type WasmMemory = { readonly buffer: ArrayBuffer; grow(pages: number): number };
type WasmApi = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};
type Kernel = { memory: WasmMemory; u16: (ptr: number, rowBytes: number, rows: number) => void };

let kernel: Kernel | null | undefined;

function instantiate(): Kernel | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return null;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(kernelBytes()));
    return { memory: exports['m'] as WasmMemory, u16: exports['u16'] as Kernel['u16'] };
  } catch {
    // No WebAssembly SIMD here (the module does not compile): the JavaScript loop does the work.
    return null;
  }
}

/** Tiles up to this size go through the kernel (its memory stays as large as the largest one). */
const MAX_BYTES = 16 * 1024 * 1024;

/**
 * Undoes predictor 2 in place on rows of uint16 samples (one sample per pixel) when the kernel
 * applies: rows a whole number of 8-sample vectors, at most MAX_BYTES in all. False: not done.
 */
export function undoRowsU16Simd(a: Uint16Array, rowLength: number, height: number): boolean {
  const bytes = rowLength * height * 2;
  if (rowLength % 8 !== 0 || rowLength === 0 || height === 0 || bytes > MAX_BYTES) return false;
  if (kernel === undefined) kernel = instantiate();
  if (kernel === null) return false;
  const { memory, u16 } = kernel;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65_536));
  const work = new Uint8Array(memory.buffer, 0, bytes);
  const pixels = new Uint8Array(a.buffer, a.byteOffset, bytes);
  work.set(pixels);
  u16(0, rowLength * 2, height);
  pixels.set(work);
  return true;
}
