import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckpointError, ShapeError } from './errors.js';
import {
  float32View,
  concatBytes,
  safetensorsParts,
  DTYPE_SIZES,
  bf16Tensor,
  f16Tensor,
  f32Tensor,
  f64Tensor,
  i32Tensor,
  i64Tensor,
  parseSafetensors,
  serializeSafetensors,
  toFloat32,
  toInt32,
  u8Tensor,
  type NamedTensor,
  type SafetensorsDType,
} from './safetensors.js';

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

/** A file from a header string and a data buffer, with the length field written by hand. */
function rawFile(header: string, buffer: ArrayLike<number> = []): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(Array.from(buffer), 8 + json.length);
  return out;
}

function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

function expectCheckpointError(bytes: Uint8Array, message: RegExp, options = {}): void {
  let thrown: unknown;
  try {
    parseSafetensors(bytes, { source: 'model.safetensors', ...options });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CheckpointError);
  const text = (thrown as Error).message;
  expect(text).toMatch(/^model\.safetensors: /);
  expect(text).toMatch(message);
  expect(text).not.toMatch(/\n/);
}

describe('serializeSafetensors', () => {
  it('writes the byte layout of the spec', () => {
    const bytes = serializeSafetensors(
      { b: i32Tensor([2], [1, -2]), a: u8Tensor([3], [7, 8, 9]) },
      { format: 'pt' },
    );
    // Header: 138 bytes of JSON, padded with 6 spaces to 144 = 0x90 (a multiple of 8).
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[3,11]}}';
    expect(header.length).toBe(138);
    const expected = [
      ...[0x90, 0, 0, 0, 0, 0, 0, 0], // u64 LE header length 144
      ...ascii(header),
      ...ascii('      '),
      ...[7, 8, 9], // a: U8 [7, 8, 9] at [0, 3)
      ...[1, 0, 0, 0], // b[0] = 1, I32 little-endian, at [3, 7)
      ...[0xfe, 0xff, 0xff, 0xff], // b[1] = -2 at [7, 11)
    ];
    expect(Array.from(bytes)).toEqual(expected);
    expect(bytes.length).toBe(8 + 144 + 11);
  });

  it('is deterministic: insertion order does not matter and the header is 8-aligned', () => {
    const x = f32Tensor([2, 2], [1, 2, 3, 4]);
    const y = i64Tensor([1], [5]);
    const one = serializeSafetensors({ x, y, 'z.weight': u8Tensor([0], []) }, { b: '2', a: '1' });
    const two = serializeSafetensors({ 'z.weight': u8Tensor([0], []), y, x }, { a: '1', b: '2' });
    expect(one).toEqual(two);
    const headerLength = Number(new DataView(one.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    expect(serializeSafetensors({})).toEqual(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, ...ascii('{}      ')]));
  });

  it('gives the same bytes as parts: the header, then each tensor data itself (a view, not a copy)', () => {
    const x = f32Tensor([2, 2], [1, 2, 3, 4]);
    const y = i64Tensor([1], [5]);
    const parts = safetensorsParts({ y, x }, { a: '1' });
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(x.data);
    expect(parts[2]).toBe(y.data);
    expect(concatBytes(parts)).toEqual(serializeSafetensors({ x, y }, { a: '1' }));
  });

  it('rejects tensors it cannot write', () => {
    const bad: NamedTensor = { dtype: 'F32', shape: [3], data: new Uint8Array(8) };
    expect(() => serializeSafetensors({ w: bad })).toThrow(ShapeError);
    expect(() => serializeSafetensors({ w: bad })).toThrow(/tensor "w": F32 shape \[3\] needs 12 bytes of data, got 8 bytes/);
    expect(() => serializeSafetensors({ w: { ...bad, dtype: 'F8' as SafetensorsDType } })).toThrow(CheckpointError);
    expect(() => serializeSafetensors({ w: { ...bad, shape: [-3] } })).toThrow(ShapeError);
    expect(() => serializeSafetensors({ __metadata__: f32Tensor([1], [0]) })).toThrow(/reserved/);
    expect(() => serializeSafetensors({}, { n: 3 as unknown as string })).toThrow(CheckpointError);
  });
});

describe('parseSafetensors', () => {
  it('reads a hand-built file (unpadded header, any key order)', () => {
    const header =
      '{"w":{"dtype":"F16","shape":[2],"data_offsets":[1,5]},' +
      '"flag":{"shape":[1],"dtype":"BOOL","data_offsets":[0,1]},"__metadata__":{"k":"v"}}';
    // flag = [1]; w = F16 [1.0 (0x3c00), -2.0 (0xc000)] little-endian.
    const bytes = rawFile(header, [1, 0x00, 0x3c, 0x00, 0xc0]);
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ k: 'v' });
    expect(Object.keys(tensors).sort()).toEqual(['flag', 'w']);
    expect(tensors.w!.dtype).toBe('F16');
    expect(tensors.w!.shape).toEqual([2]);
    expect(Array.from(toFloat32(tensors.w!))).toEqual([1, -2]);
    expect(Array.from(toInt32(tensors.flag!))).toEqual([1]);
  });

  it('returns views into the input, decodable at any alignment', () => {
    const bytes = serializeSafetensors({ a: u8Tensor([1], [9]), b: f32Tensor([2], [1.5, -0.25]) });
    // Embed the file at an odd offset of a larger buffer.
    const host = new Uint8Array(bytes.length + 4);
    host.set(bytes, 4);
    const file = host.subarray(4);
    const { tensors } = parseSafetensors(file);
    expect(tensors.b!.data.buffer).toBe(host.buffer);
    expect(tensors.b!.data.byteOffset % 4).not.toBe(0);
    expect(Array.from(toFloat32(tensors.b!))).toEqual([1.5, -0.25]);
  });

  it('keeps a tensor named "__proto__" as an own property', () => {
    const input = { ['__proto__']: f32Tensor([1], [3]) }; // a computed key is an own property
    const { tensors } = parseSafetensors(serializeSafetensors(input));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Array.from(toFloat32(tensors['__proto__']!))).toEqual([3]);
  });
});

describe('round trip', () => {
  it('is bit-exact for F32 NaN payloads, -0, subnormals and infinities', () => {
    const bits = [
      0x7fc00000, // quiet NaN
      0x7fc12345, // quiet NaN with payload
      0x7f800001, // signalling NaN
      0xffbfffff, // negative signalling NaN, full payload
      0x80000000, // -0
      0x00000001, // smallest subnormal
      0x807fffff, // largest negative subnormal
      0x7f800000, // +Inf
      0xff800000, // -Inf
      0x3f800000, // 1
    ];
    const values = f32FromBits(bits);
    const bytes = serializeSafetensors({ w: f32Tensor([2, 5], values) });
    const w = parseSafetensors(bytes).tensors.w!;
    expect(w.shape).toEqual([2, 5]);
    expect(bitsOf(toFloat32(w))).toEqual(bits);
  });

  it('keeps every dtype, shape and metadata', () => {
    const tensors: Record<string, NamedTensor> = {
      'decoder.layers.0.self_attn.q_proj.weight': f32Tensor([2, 3], [1, 2, 3, 4, 5, 6]),
      scalar: f64Tensor([], [Math.PI]),
      empty: f32Tensor([0, 4], []),
      ids: i64Tensor([3], new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n])),
      small: i32Tensor([2], [-(2 ** 31), 2 ** 31 - 1]),
      half: f16Tensor([2], [0.5, -65504]),
      brain: bf16Tensor([2], [1, -3]),
      mask: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) },
      u64: { dtype: 'U64', shape: [1], data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    };
    const metadata = { format: 'pt', 'attend.config': '{"dModel":64}', unicode: 'héllo ✓ \n "quoted"' };
    const bytes = serializeSafetensors(tensors, metadata);
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual(metadata);
    expect(Object.keys(parsed.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const back = parsed.tensors[name]!;
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.data)).toEqual(Array.from(t.data));
    }
    expect(serializeSafetensors(parsed.tensors, parsed.metadata)).toEqual(bytes);
    expect(Array.from(toFloat32(parsed.tensors.half!))).toEqual([0.5, -65504]);
    expect(Array.from(toFloat32(parsed.tensors.brain!))).toEqual([1, -3]);
    expect(toFloat32(parsed.tensors.scalar!)[0]).toBe(Math.fround(Math.PI));
  });

  it('round-trips arbitrary tensors (property)', () => {
    const dtypes = Object.keys(DTYPE_SIZES) as SafetensorsDType[];
    const tensorArb = fc
      .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) })
      .chain(({ dtype, shape }) => {
        const size = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[dtype];
        return fc.uint8Array({ minLength: size, maxLength: size }).map((data): NamedTensor => ({ dtype, shape, data }));
      });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), tensorArb, { maxKeys: 5 }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
        (input, metadata) => {
          delete input['__metadata__'];
          const bytes = serializeSafetensors(input, metadata);
          const parsed = parseSafetensors(bytes);
          expect(Object.keys(parsed.tensors).sort()).toEqual(Object.keys(input).sort());
          for (const [name, t] of Object.entries(input)) {
            expect(parsed.tensors[name]).toEqual({ dtype: t.dtype, shape: t.shape, data: t.data });
          }
          expect(parsed.metadata).toEqual(metadata);
          expect(serializeSafetensors(parsed.tensors, parsed.metadata)).toEqual(bytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('corrupt files', () => {
  const tensor = (dtype: string, shape: unknown, offsets: unknown): string =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });

  it('too short for the length field', () => {
    expectCheckpointError(new Uint8Array(0), /file is 0 bytes, too short/);
    expectCheckpointError(new Uint8Array(7), /file is 7 bytes/);
  });

  it('header length over the bound or past the end of the file', () => {
    const bytes = rawFile('{}');
    expectCheckpointError(bytes, /header length 2 exceeds the limit of 1 bytes/, { maxHeaderBytes: 1 });
    const lying = new Uint8Array(16);
    new DataView(lying.buffer).setUint32(0, 100, true);
    expectCheckpointError(lying, /header length 100 runs past the end of the file \(16 bytes\)/);
    const huge = new Uint8Array(16).fill(0xff);
    expectCheckpointError(huge, /header length 18446744073709551615 exceeds the limit of 100000000 bytes/);
    // Under the default bound but far beyond the file: fails before any allocation.
    const big = new Uint8Array(8);
    new DataView(big.buffer).setUint32(0, 99_999_999, true);
    expectCheckpointError(big, /runs past the end/);
  });

  it('header not UTF-8, not JSON, or not an object', () => {
    const bad = rawFile('{"a":1}');
    bad[10] = 0xff;
    expectCheckpointError(bad, /header is not valid UTF-8/);
    expectCheckpointError(rawFile('\ufeff{}'), /not valid JSON/);
    expectCheckpointError(rawFile(''), /not valid JSON/);
    expectCheckpointError(rawFile('{"a":'), /not valid JSON/);
    expectCheckpointError(rawFile('[]'), /header is an array, expected a JSON object/);
    expectCheckpointError(rawFile('null'), /header is null/);
    expectCheckpointError(rawFile('3'), /header is a number/);
  });

  it('entries with a bad dtype, shape or offsets', () => {
    const one = (entry: string, buffer: number[] = [0, 0, 0, 0]): Uint8Array => rawFile(`{"w":${entry}}`, buffer);
    expectCheckpointError(one('5'), /tensor "w" is a number, expected an object/);
    expectCheckpointError(one(tensor('F8', [1], [0, 4])), /tensor "w" has dtype "F8", expected one of/);
    expectCheckpointError(one(tensor('toString', [1], [0, 4])), /dtype "toString"/);
    expectCheckpointError(one('{"shape":[1],"data_offsets":[0,4]}'), /dtype missing/);
    expectCheckpointError(one(tensor('F32', [-1], [0, 4])), /shape \[-1\], expected a list of non-negative integers/);
    expectCheckpointError(one(tensor('F32', [1.5], [0, 4])), /shape \[1.5\]/);
    expectCheckpointError(one(tensor('F32', ['1'], [0, 4])), /shape \["1"\]/);
    expectCheckpointError(one(tensor('F32', 1, [0, 4])), /shape 1,/);
    expectCheckpointError(one('{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}'), /shape \[9007199254740992\]/);
    expectCheckpointError(one(tensor('F32', [1], [0])), /data_offsets \[0\], expected \[begin, end\]/);
    expectCheckpointError(one(tensor('F32', [1], [0, 4, 8])), /data_offsets \[0,4,8\]/);
    expectCheckpointError(one(tensor('F32', [1], [4, 0])), /data_offsets \[4,0\]/);
    expectCheckpointError(one(tensor('F32', [1], [-4, 0])), /data_offsets \[-4,0\]/);
    expectCheckpointError(one(tensor('F32', [1], [0, 8])), /data_offsets \[0, 8\] past the end of the 4-byte data buffer/);
  });

  it('shape × dtype size different from the byte range', () => {
    const one = (entry: string, n = 4): Uint8Array => rawFile(`{"w":${entry}}`, new Array<number>(n).fill(0));
    expectCheckpointError(one(tensor('F32', [2], [0, 4])), /F32 shape \[2\] needs 8 bytes but data_offsets \[0, 4\] hold 4/);
    expectCheckpointError(one(tensor('F16', [1], [0, 4])), /needs 2 bytes/);
    // Huge shapes are detected without computing an overflowing product.
    const huge = [2 ** 52, 2 ** 52, 2 ** 52];
    expectCheckpointError(one(tensor('F64', huge, [0, 4])), /needs more than 2\^53 bytes but data_offsets \[0, 4\] hold 4/);
    // A zero dimension makes the tensor empty whatever the others are.
    expect(parseSafetensors(one(tensor('F64', [0, 2 ** 52], [0, 0]), 0)).tensors.w!.data.length).toBe(0);
  });

  it('offsets overlapping, leaving holes, or not covering the buffer', () => {
    const two = (a: unknown, b: unknown, n: number): Uint8Array =>
      rawFile(`{"a":${tensor('U8', [4], a)},"b":${tensor('U8', [4], b)}}`, new Array<number>(n).fill(0));
    expectCheckpointError(two([0, 4], [2, 6], 8), /tensor "b" at \[2, 6\] overlaps tensor "a" ending at 4/);
    expectCheckpointError(two([0, 4], [0, 4], 4), /overlaps/);
    expectCheckpointError(two([0, 4], [6, 10], 10), /bytes \[4, 6\) of the data buffer belong to no tensor/);
    expectCheckpointError(two([2, 6], [6, 10], 10), /bytes \[0, 2\)/);
    expectCheckpointError(two([0, 4], [4, 8], 9), /data buffer has 9 bytes but the tensors cover only 8/);
    expectCheckpointError(rawFile('{}', [1]), /data buffer has 1 bytes but the tensors cover only 0/);
    expect(() => parseSafetensors(two([4, 8], [0, 4], 8))).not.toThrow();
  });

  it('metadata not a map of strings', () => {
    expectCheckpointError(rawFile('{"__metadata__":{"a":1}}'), /__metadata__ "a" is a number, expected a string/);
    expectCheckpointError(rawFile('{"__metadata__":{"a":null}}'), /__metadata__ "a" is null/);
    expectCheckpointError(rawFile('{"__metadata__":["a"]}'), /__metadata__ is an array, expected an object of strings/);
    expectCheckpointError(rawFile('{"__metadata__":"x"}'), /__metadata__ is a string/);
  });

  it('names with newlines stay on one line in messages', () => {
    expectCheckpointError(rawFile(`{"a\\nb":${tensor('X', [1], [0, 1])}}`, [0]), /tensor "a\\nb" has dtype "X"/);
  });

  it('truncated or corrupted bytes either parse consistently or throw CheckpointError (property)', () => {
    const valid = serializeSafetensors(
      {
        'encoder.weight': f32Tensor([2, 3], [1, 2, 3, 4, 5, 6]),
        'encoder.bias': f16Tensor([3], [0.5, 1, 2]),
        ids: i64Tensor([2], [7, -1]),
        empty: u8Tensor([0], []),
      },
      { format: 'pt' },
    );
    const check = (bytes: Uint8Array): void => {
      let parsed;
      try {
        parsed = parseSafetensors(bytes, { source: 'fuzz' });
      } catch (error) {
        expect(error).toBeInstanceOf(CheckpointError);
        expect((error as Error).message).toMatch(/^fuzz: [^\n]+$/);
        return;
      }
      const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      let covered = 0;
      for (const t of Object.values(parsed.tensors)) {
        const count = t.shape.reduce((a, b) => a * b, 1);
        expect(t.data.length).toBe(count * DTYPE_SIZES[t.dtype]);
        expect(t.data.buffer).toBe(bytes.buffer);
        expect(t.data.byteOffset).toBeGreaterThanOrEqual(bytes.byteOffset + 8 + headerLength);
        expect(t.data.byteOffset + t.data.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
        covered += t.data.length;
      }
      expect(covered).toBe(bytes.length - 8 - headerLength);
      for (const value of Object.values(parsed.metadata)) expect(typeof value).toBe('string');
      const again = parseSafetensors(serializeSafetensors(parsed.tensors, parsed.metadata));
      expect(Object.keys(again.tensors).sort()).toEqual(Object.keys(parsed.tensors).sort());
    };

    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length }), (n) => check(valid.slice(0, n))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const bytes = valid.slice();
          for (const { at, value } of flips) bytes[at] = value;
          check(bytes);
        },
      ),
      { numRuns: 1000 },
    );
    // Corruptions aimed at the header: ASCII characters that keep the JSON plausible.
    fc.assert(
      fc.property(
        fc.nat({ max: 200 }),
        fc.constantFrom(...ascii('0123456789[]{},:" -.eE')),
        (at, value) => {
          const bytes = valid.slice();
          bytes[8 + (at % (bytes.length - 8))] = value;
          check(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('half-precision decoding and encoding', () => {
  const f16 = (bits: number[]): NamedTensor => ({
    dtype: 'F16',
    shape: [bits.length],
    data: new Uint8Array(new Uint16Array(bits).buffer),
  });
  const bf16 = (bits: number[]): NamedTensor => ({ ...f16(bits), dtype: 'BF16' });
  const halfBits = (t: NamedTensor): number[] => Array.from(new Uint16Array(t.data.slice().buffer));

  it('decodes known F16 values', () => {
    const decoded = toFloat32(f16([0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00]));
    expect(Array.from(decoded.subarray(0, 7))).toEqual([
      1,
      -2,
      65504, // largest finite half
      2 ** -14, // smallest normal
      2 ** -24, // smallest subnormal
      1023 * 2 ** -24, // largest subnormal
      0.333251953125, // nearest half to 1/3
    ]);
    expect(Object.is(decoded[7], -0)).toBe(true);
    expect(decoded[8]).toBe(Infinity);
    expect(decoded[9]).toBe(-Infinity);
    expect(decoded[10]).toBeNaN();
  });

  it('decodes every F16 bit pattern like the formula (−1)^s · 2^(e−15) · (1 + m/1024)', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const decoded = toFloat32(f16(all));
    for (const h of all) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const expected = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m === 0 ? s * Infinity : NaN) : s * 2 ** (e - 15) * (1 + m / 1024);
      expect(Object.is(decoded[h], expected) || (Number.isNaN(expected) && Number.isNaN(decoded[h]))).toBe(true);
    }
    // Encoding the decoded values gives back every non-NaN pattern exactly.
    const encoded = halfBits(f16Tensor([65536], decoded));
    for (const h of all) {
      if (Number.isNaN(decoded[h])) expect(encoded[h]! & 0x7c00).toBe(0x7c00);
      else expect(encoded[h]).toBe(h);
    }
  });

  it('encodes F16 with round to nearest even, overflow to infinity and underflow to zero', () => {
    const bits = halfBits(
      f16Tensor(
        [9],
        [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 2 ** -25, 3 * 2 ** -26, 1e-8, -1e-8, NaN],
      ),
    );
    expect(bits.slice(0, 8)).toEqual([
      0x3c00, // halfway between 1 and 1 + 2^-10 → even (1)
      0x3c02, // halfway between 1 + 2^-10 and 1 + 2^-9 → even (1 + 2^-9)
      0x7bff, // below the midpoint to 65536 → 65504
      0x7c00, // 65520 is the midpoint → rounds to even, which is infinity
      0x0000, // half of the smallest subnormal → even (0)
      0x0001, // 1.5 × 2^-25 → smallest subnormal
      0x0000,
      0x8000, // keeps the sign of a negative underflow
    ]);
    expect(bits[8]! & 0x7c00).toBe(0x7c00);
    expect(bits[8]! & 0x3ff).not.toBe(0);
  });

  it('decodes known BF16 values and every pattern exactly', () => {
    const decoded = toFloat32(bf16([0x3f80, 0xc0a0, 0x4049, 0x0001, 0x7f80, 0x8000, 0x7fc1]));
    expect(Array.from(decoded.subarray(0, 5))).toEqual([1, -5, 3.140625, 2 ** -133, Infinity]);
    expect(Object.is(decoded[5], -0)).toBe(true);
    expect(bitsOf(decoded)[6]).toBe(0x7fc10000); // NaN payload kept
    const all = Array.from({ length: 65536 }, (_, i) => i);
    expect(bitsOf(toFloat32(bf16(all)))).toEqual(all.map((h) => (h << 16) >>> 0));
    const encoded = halfBits(bf16Tensor([65536], toFloat32(bf16(all))));
    for (const h of all) if ((h & 0x7f80) !== 0x7f80 || (h & 0x7f) === 0) expect(encoded[h]).toBe(h);
  });

  it('encodes BF16 with round to nearest even', () => {
    expect(halfBits(bf16Tensor([4], [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, NaN]))).toEqual([
      0x3f80, // tie → even
      0x3f82, // tie → even (upwards)
      0x7f80, // above the largest bfloat16 midpoint → infinity
      0x7fc0,
    ]);
  });
});

describe('toFloat32 and toInt32', () => {
  it('reject dtypes they do not decode', () => {
    expect(() => toFloat32(i32Tensor([1], [1]), 'w')).toThrow(/^w: dtype I32 cannot be decoded as float32/);
    expect(() => toInt32(f32Tensor([1], [1]), 'ids')).toThrow(CheckpointError);
    expect(() => toFloat32({ dtype: 'F32', shape: [2], data: new Uint8Array(4) })).toThrow(ShapeError);
  });

  it('decode integer dtypes, refusing I64 values outside int32', () => {
    expect(Array.from(toInt32(i64Tensor([4], [0, -1, 2 ** 31 - 1, -(2 ** 31)])))).toEqual([0, -1, 2 ** 31 - 1, -(2 ** 31)]);
    expect(() => toInt32(i64Tensor([2], [1, 2 ** 31]), 'ids')).toThrow(/^ids: I64 value 2147483648 at index 1 does not fit in int32$/);
    expect(() => toInt32(i64Tensor([1], [-(2 ** 31) - 1]))).toThrow(/-2147483649/);
    expect(Array.from(toInt32(i32Tensor([3], new Int32Array([5, -6, 7]))))).toEqual([5, -6, 7]);
    expect(Array.from(toInt32({ dtype: 'I8', shape: [2], data: new Uint8Array([0xff, 3]) }))).toEqual([-1, 3]);
    expect(Array.from(toInt32({ dtype: 'U16', shape: [1], data: new Uint8Array([0xff, 0xff]) }))).toEqual([65535]);
    expect(Array.from(toInt32({ dtype: 'I16', shape: [1], data: new Uint8Array([0xfe, 0xff]) }))).toEqual([-2]);
    expect(() => toInt32({ dtype: 'U32', shape: [1], data: new Uint8Array(4) })).toThrow(CheckpointError);
  });

  it('tensor helpers check the value count and ranges', () => {
    expect(() => f32Tensor([2, 2], [1, 2, 3])).toThrow(/shape \[2, 2\] has 4 elements but 3 values were given/);
    expect(() => i32Tensor([1], [2 ** 31])).toThrow(ShapeError);
    expect(() => u8Tensor([1], [256])).toThrow(ShapeError);
    expect(() => i64Tensor([1], [2 ** 60])).toThrow(ShapeError);
    expect(() => f32Tensor([-1], [])).toThrow(ShapeError);
    // Helpers copy: later changes to the source do not reach the tensor.
    const src = new Float32Array([1, 2]);
    const t = f32Tensor([2], src);
    src[0] = 9;
    expect(Array.from(toFloat32(t))).toEqual([1, 2]);
  });
});

describe('float32View', () => {
  it('views aligned F32 bytes without copying; copies misaligned or other dtypes, with the same values', () => {
    const values = [1.5, -2, 3.25, 0];
    const t = f32Tensor([2, 2], values);
    const view = float32View(t, 'w');
    expect(view.buffer).toBe(t.data.buffer);
    expect(Array.from(view)).toEqual(values);
    // The same bytes one byte into a buffer: a Float32Array cannot view them.
    const shifted = new Uint8Array(t.data.length + 1);
    shifted.set(t.data, 1);
    const odd = { ...t, data: shifted.subarray(1) };
    const copy = float32View(odd, 'w');
    expect(copy.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copy)).toEqual(values);
    const half = float32View(f16Tensor([2, 2], values), 'w');
    expect(Array.from(half)).toEqual(values);
  });
});
