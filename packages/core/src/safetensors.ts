// The safetensors weights format (Hugging Face): an 8-byte little-endian u64 header length N,
// N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"? }`,
// then the byte buffer, with offsets relative to its start. Parsing validates every field
// the way the reference Rust implementation does, so a truncated or lying file fails with
// one CheckpointError line instead of a crash or a huge allocation.

import { CheckpointError, ConfigError, ShapeError } from './errors.js';

export type SafetensorsDType =
  | 'F32'
  | 'F16'
  | 'I32'
  | 'I64'
  | 'U8'
  | 'I8'
  | 'BF16'
  | 'F64'
  | 'BOOL'
  | 'I16'
  | 'U16'
  | 'U32'
  | 'U64';

/** Bytes per element of each dtype. */
export const DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  F32: 4,
  I32: 4,
  U32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

export interface NamedTensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** Raw little-endian element bytes, row-major; length = product(shape) × DTYPE_SIZES[dtype]. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** The reference implementation's header bound (100 MB); real headers are kilobytes. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface ParseSafetensorsOptions {
  /** Names the file in error messages. Default 'safetensors'. */
  source?: string;
  /** Largest header (JSON) accepted, in bytes. Default MAX_HEADER_BYTES (100 MB). */
  maxHeaderBytes?: number;
}

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------
// Reading

/**
 * Parses a safetensors file held in memory. Each tensor's `data` is a subarray view into
 * `bytes` (no copy): it shares memory with the input and is not aligned to its element
 * size, so decode it with `toFloat32` / `toInt32` (which copy) rather than viewing it as a
 * typed array, and `.slice()` it if the input buffer will be reused.
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): SafetensorsFile {
  const { source = 'safetensors', maxHeaderBytes = MAX_HEADER_BYTES } = options;
  if (!Number.isSafeInteger(maxHeaderBytes) || maxHeaderBytes < 0) {
    throw new ConfigError('maxHeaderBytes', `must be a non-negative integer, got ${maxHeaderBytes}`);
  }
  const fail = (problem: string): CheckpointError => new CheckpointError(`${source}: ${problem}`);

  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw fail(`header length ${headerLength} exceeds the limit of ${maxHeaderBytes} bytes`);
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    throw fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw fail('header is not valid JSON');
  }
  if (!isPlainObject(header)) throw fail(`header is ${describe(header)}, expected a JSON object`);

  const dataStart = 8 + n;
  const bufferLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];

  for (const name of Object.keys(header)) {
    const entry = header[name];
    if (name === METADATA_KEY) {
      if (!isPlainObject(entry)) throw fail(`${METADATA_KEY} is ${describe(entry)}, expected an object of strings`);
      for (const key of Object.keys(entry)) {
        const value = entry[key];
        if (typeof value !== 'string') {
          throw fail(`${METADATA_KEY} ${JSON.stringify(key)} is ${describe(value)}, expected a string`);
        }
        setOwn(metadata, key, value);
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(entry)) throw fail(`${what} is ${describe(entry)}, expected an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!isDType(dtype)) {
      throw fail(`${what} has dtype ${describeShort(dtype)}, expected one of ${Object.keys(DTYPE_SIZES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw fail(`${what} has shape ${describeShort(shape)}, expected a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0]! > offsets[1]!) {
      throw fail(`${what} has data_offsets ${describeShort(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > bufferLength) {
      throw fail(`${what} has data_offsets [${begin}, ${end}] past the end of the ${bufferLength}-byte data buffer`);
    }
    const needed = byteLength(shape, DTYPE_SIZES[dtype]);
    if (needed !== end - begin) {
      const amount = Number.isFinite(needed) ? `${needed} bytes` : 'more than 2^53 bytes';
      throw fail(`${what} of ${dtype} shape [${shape.join(', ')}] needs ${amount} but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape.slice(), begin, end });
  }

  // The tensors must tile the buffer exactly: no overlap, no hole, nothing left over.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const e of byOffset) {
    if (e.begin < cursor) {
      throw fail(`tensor ${JSON.stringify(e.name)} at [${e.begin}, ${e.end}] overlaps tensor ${JSON.stringify(previous)} ending at ${cursor}`);
    }
    if (e.begin > cursor) throw fail(`bytes [${cursor}, ${e.begin}) of the data buffer belong to no tensor`);
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== bufferLength) {
    throw fail(`data buffer has ${bufferLength} bytes but the tensors cover only ${cursor}`);
  }

  const tensors: Record<string, NamedTensor> = {};
  for (const e of entries) {
    const data = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------
// Writing

/**
 * Serialises tensors to safetensors bytes. Deterministic: tensors are laid out in sorted
 * name order (JavaScript string order), metadata keys sorted, the JSON written compactly
 * and padded with spaces so the data buffer starts at a multiple of 8 bytes.
 */
export function serializeSafetensors(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Uint8Array {
  return concatBytes(safetensorsParts(tensors, metadata));
}

/**
 * The same bytes as `serializeSafetensors`, as consecutive parts: the header, then each
 * tensor's data as a view of the tensor itself (no copy) — for writing a large file without
 * holding a second copy of every weight in memory.
 */
export function safetensorsParts(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Uint8Array[] {
  const fields: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    for (const key of keys) {
      const value = metadata[key];
      if (typeof value !== 'string') {
        throw new CheckpointError(`serializeSafetensors: metadata ${JSON.stringify(key)} is ${describe(value)}, expected a string`);
      }
    }
    if (keys.length > 0) {
      const pairs = keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
      fields.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
    }
  }

  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) throw new CheckpointError(`serializeSafetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    const tensor = tensors[name]!;
    checkTensor(tensor, `serializeSafetensors: tensor ${JSON.stringify(name)}`);
    const end = offset + tensor.data.length;
    fields.push(
      `${JSON.stringify(name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }

  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + headerLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(headerLength), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return [header, ...names.map((name) => tensors[name]!.data)];
}

/** `parts` joined into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let cursor = 0;
  for (const part of parts) {
    out.set(part, cursor);
    cursor += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Building tensors

/** An F32 tensor holding a copy of `values` (bit-exact, NaN payloads included). */
export function f32Tensor(shape: number[], values: Float32Array | readonly number[]): NamedTensor {
  const src = values instanceof Float32Array ? values : Float32Array.from(values);
  return fromTypedArray('F32', shape, src, (v, i) => v.setFloat32(i * 4, src[i]!, true));
}

/** An F64 tensor holding a copy of `values`. */
export function f64Tensor(shape: number[], values: Float64Array | readonly number[]): NamedTensor {
  const src = values instanceof Float64Array ? values : Float64Array.from(values);
  return fromTypedArray('F64', shape, src, (v, i) => v.setFloat64(i * 8, src[i]!, true));
}

/** An F16 tensor: values rounded to float32, then to float16 (round to nearest even). */
export function f16Tensor(shape: number[], values: Float32Array | readonly number[]): NamedTensor {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  const half = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) half[i] = f32BitsToF16Bits(bits[i]!);
  return fromTypedArray('F16', shape, half, (v, i) => v.setUint16(i * 2, half[i]!, true));
}

/** A BF16 tensor: values rounded to float32, then to bfloat16 (round to nearest even). */
export function bf16Tensor(shape: number[], values: Float32Array | readonly number[]): NamedTensor {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  const half = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) half[i] = f32BitsToBf16Bits(bits[i]!);
  return fromTypedArray('BF16', shape, half, (v, i) => v.setUint16(i * 2, half[i]!, true));
}

/** An I32 tensor holding a copy of `values` (integers in int32 range). */
export function i32Tensor(shape: number[], values: Int32Array | readonly number[]): NamedTensor {
  const src = values instanceof Int32Array ? values : Int32Array.from(values, (x, i) => checkInt('I32', x, i, -(2 ** 31), 2 ** 31 - 1));
  return fromTypedArray('I32', shape, src, (v, i) => v.setInt32(i * 4, src[i]!, true));
}

/** An I64 tensor from bigints or safe integers. */
export function i64Tensor(shape: number[], values: BigInt64Array | readonly number[]): NamedTensor {
  const src =
    values instanceof BigInt64Array
      ? values
      : BigInt64Array.from(values, (x, i) => BigInt(checkInt('I64', x, i, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)));
  return fromTypedArray('I64', shape, src, (v, i) => v.setBigInt64(i * 8, src[i]!, true));
}

/** A U8 tensor holding a copy of `values`. */
export function u8Tensor(shape: number[], values: Uint8Array | readonly number[]): NamedTensor {
  const src = values instanceof Uint8Array ? values : Uint8Array.from(values, (x, i) => checkInt('U8', x, i, 0, 255));
  return fromTypedArray('U8', shape, src, (v, i) => v.setUint8(i, src[i]!));
}

// ---------------------------------------------------------------------------------------
// Decoding tensors

/**
 * An F32 tensor's values as a Float32Array over its own bytes (no copy) when they are 4-byte
 * aligned on a little-endian host, as a safetensors file's tensors normally are; otherwise, and
 * for other dtypes, `toFloat32`'s new array. The view shares the tensor's bytes: read it only.
 */
export function float32View(tensor: NamedTensor, name = 'tensor'): Float32Array {
  const { dtype, data } = tensor;
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST && data.byteOffset % 4 === 0) {
    const count = checkTensor(tensor, name);
    return new Float32Array(data.buffer, data.byteOffset, count);
  }
  return toFloat32(tensor, name);
}

/**
 * Decodes an F32, F16, BF16 or F64 tensor into a new Float32Array. F32, F16 and BF16 decode
 * exactly (NaN payloads kept); F64 rounds to the nearest float32. `name` labels errors.
 */
export function toFloat32(tensor: NamedTensor, name = 'tensor'): Float32Array {
  const count = checkTensor(tensor, name);
  const { dtype, data } = tensor;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(data);
      else for (let i = 0; i < count; i++) outBits[i] = view.getUint32(i * 4, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) {
        const h = view.getUint16(i * 2, true);
        if ((h & 0x7c00) === 0) out[i] = ((h & 0x8000) !== 0 ? -1 : 1) * (h & 0x3ff) * 2 ** -24;
        else outBits[i] = f16BitsToF32Bits(h);
      }
      return out;
    case 'BF16':
      for (let i = 0; i < count; i++) outBits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    default:
      throw new CheckpointError(`${name}: dtype ${dtype} cannot be decoded as float32 (expected F32, F16, BF16 or F64)`);
  }
}

/**
 * Decodes an integer tensor (I32, I64, I16, U16, I8, U8, BOOL) into a new Int32Array.
 * An I64 value outside the int32 range is an error rather than a silent wrap.
 */
export function toInt32(tensor: NamedTensor, name = 'tensor'): Int32Array {
  const count = checkTensor(tensor, name);
  const { dtype, data } = tensor;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(count);
  switch (dtype) {
    case 'I32':
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(data);
      else for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    case 'I64':
      for (let i = 0; i < count; i++) {
        const lo = view.getInt32(i * 8, true);
        const hi = view.getInt32(i * 8 + 4, true);
        if (hi !== lo >> 31) {
          throw new CheckpointError(`${name}: I64 value ${view.getBigInt64(i * 8, true)} at index ${i} does not fit in int32`);
        }
        out[i] = lo;
      }
      return out;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    case 'U16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
      return out;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      out.set(data);
      return out;
    default:
      throw new CheckpointError(`${name}: dtype ${dtype} cannot be decoded as int32 (expected I32, I64, I16, U16, I8, U8 or BOOL)`);
  }
}

// ---------------------------------------------------------------------------------------
// Half-precision bit conversions

/** float32 bits → float16 bits, round to nearest even; NaN stays NaN (top payload bits kept). */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = m × 2^-24 with m = (1.mant) × 2^(e + 9), i.e. shift right by 14 − e.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is correct, up to infinity
  return sign | h;
}

/** float16 bits (normal, infinite or NaN; not zero/subnormal) → float32 bits. */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

/** float32 bits → bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------
// Helpers

type ElementArray = Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

/** Copies `values` into little-endian bytes; `write` stores element i on a big-endian host. */
function fromTypedArray(
  dtype: SafetensorsDType,
  shape: number[],
  values: ElementArray,
  write: (view: DataView, i: number) => void,
): NamedTensor {
  const count = elementCount(shape, `${dtype} tensor`);
  if (values.length !== count) {
    throw new ShapeError(`${dtype} tensor: shape [${shape.join(', ')}] has ${count} elements but ${values.length} values were given`);
  }
  const data = new Uint8Array(values.byteLength);
  if (LITTLE_ENDIAN_HOST) {
    data.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    const view = new DataView(data.buffer);
    for (let i = 0; i < count; i++) write(view, i);
  }
  return { dtype, shape: shape.slice(), data };
}

/** Validates dtype, shape and byte length; returns the element count. */
function checkTensor(tensor: NamedTensor, what: string): number {
  if (!isDType(tensor.dtype)) throw new CheckpointError(`${what}: unknown dtype ${describeShort(tensor.dtype)}`);
  const count = elementCount(tensor.shape, what);
  const expected = count * DTYPE_SIZES[tensor.dtype];
  if (!(tensor.data instanceof Uint8Array) || tensor.data.length !== expected) {
    const got = tensor.data instanceof Uint8Array ? `${tensor.data.length} bytes` : describe(tensor.data);
    throw new ShapeError(`${what}: ${tensor.dtype} shape [${tensor.shape.join(', ')}] needs ${expected} bytes of data, got ${got}`);
  }
  return count;
}

function elementCount(shape: unknown, what: string): number {
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new ShapeError(`${what}: shape ${describeShort(shape)} is not a list of non-negative integers`);
  }
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(count)) throw new ShapeError(`${what}: shape [${shape.join(', ')}] has too many elements`);
  return count;
}

/** product(shape) × itemSize, exact; Infinity once it passes 2^53 (so a lying shape cannot overflow). */
function byteLength(shape: readonly number[], itemSize: number): number {
  if (shape.includes(0)) return 0;
  let total = itemSize;
  for (const dim of shape) {
    total *= dim;
    if (total > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return total;
}

function checkInt(dtype: string, x: number, i: number, min: number, max: number): number {
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new ShapeError(`${dtype} tensor: value ${x} at index ${i} is not an integer in [${min}, ${max}]`);
  }
  return x;
}

function isDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && Object.hasOwn(DTYPE_SIZES, x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Own-property assignment that also works for the key "__proto__". */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return `a ${typeof x}`;
}

/** A JSON value shown in an error message: one line, at most 60 characters. */
function describeShort(x: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(x) ?? String(x);
  } catch {
    text = String(x);
  }
  if (x === undefined) text = 'missing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
