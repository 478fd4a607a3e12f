import { describe, expect, it } from 'vitest';
import { clutteredDigits, DIGIT_MAX_VALUE, digitScenes } from './digit-canvases.js';
import type { LabeledFeatures } from './pairs.js';

/** A digit whose pixel (r, c) is r·8 + c + 1 (scaled by 16 on the canvas), so every position is recognisable. */
const ramp: LabeledFeatures = { features: Array.from({ length: 64 }, (_, i) => (i % 16) + 1), label: 7 };
const blank: LabeledFeatures = { features: Array.from({ length: 64 }, () => 16), label: 1 };
const at = (pixels: Float32Array, size: number, x: number, y: number): number => pixels[y * size + x]!;

describe('clutteredDigits', () => {
  it('places the digit unchanged inside its box, nothing elsewhere, at seeded random positions', () => {
    const canvases = clutteredDigits([ramp], { count: 20, seed: 3, size: 20 });
    expect(clutteredDigits([ramp], { count: 20, seed: 3, size: 20 })).toEqual(canvases);
    const positions = new Set(canvases.map((c) => `${c.box.x},${c.box.y}`));
    expect(positions.size).toBeGreaterThan(10);
    for (const { pixels, box, label, angle } of canvases) {
      expect(label).toBe(7);
      expect(angle).toBe(0);
      for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) expect(at(pixels, 20, box.x + c, box.y + r)).toBeCloseTo(ramp.features[r * 8 + c]! / DIGIT_MAX_VALUE, 6);
      const inside = (x: number, y: number) => x >= box.x && x < box.x + 8 && y >= box.y && y < box.y + 8;
      let outside = 0;
      for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) if (!inside(x, y)) outside += at(pixels, 20, x, y);
      expect(outside).toBe(0);
      expect(box.x + 8).toBeLessThanOrEqual(20);
      expect(box.y + 8).toBeLessThanOrEqual(20);
    }
  });

  it('scatters fragments of the other digits as clutter', () => {
    const [canvas] = clutteredDigits([ramp, blank], { count: 1, seed: 5, size: 40, clutter: 6 });
    const { pixels, box } = canvas!;
    let outside = 0;
    for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) if (!(x >= box.x && x < box.x + 8 && y >= box.y && y < box.y + 8)) outside += at(pixels, 40, x, y) > 0 ? 1 : 0;
    // Each fragment is 4 × 4 of the other digit: up to 96 pixels, fewer where they overlap the digit or each other.
    expect(outside).toBeGreaterThan(16);
    expect(outside).toBeLessThanOrEqual(96);
  });

  it('rotates by 90° counter-clockwise: the top-right pixel goes to the top-left', () => {
    // The angle is uniform in ±90°: take the canvas drawn closest to a quarter turn.
    const exact = clutteredDigits([ramp], { count: 3000, seed: 9, size: 8, rotate: 90 }).reduce((best, c) => (Math.abs(c.angle - 90) < Math.abs(best.angle - 90) ? c : best));
    expect(exact.angle).toBeGreaterThan(89.8);
    expect(at(exact.pixels, 8, 0, 0)).toBeCloseTo(ramp.features[7]! / 16, 1); // source (7, 0) = 0.5; unrotated (0, 0) would be 1/16
    expect(at(exact.pixels, 8, 0, 7)).toBeCloseTo(ramp.features[0]! / 16, 1); // source (0, 0) → (0, 7)
  });

  it('scales the digit by bilinear sampling, keeping the border values', () => {
    const [canvas] = clutteredDigits([blank], { count: 1, seed: 1, size: 16, digitSize: 16 });
    expect(Array.from(canvas!.pixels).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });

  it('refuses bad options and data in one line naming them', () => {
    expect(() => clutteredDigits([ramp], { count: 1, seed: 1, size: 6 })).toThrow(/digitSize: 8 does not fit a canvas of 6/);
    expect(() => clutteredDigits([ramp], { count: 1, seed: 1, clutter: 2 })).toThrow(/clutter needs at least 2 digit images/);
    expect(() => clutteredDigits([], { count: 1, seed: 1 })).toThrow(/no digit images/);
    expect(() => clutteredDigits([{ features: [1, 2], label: 0 }], { count: 1, seed: 1 })).toThrow(/digit 0 has 2 values, expected 64/);
    expect(() => clutteredDigits([ramp], { count: 1, seed: 1, rotate: 270 })).toThrow(/rotate: 270 is not allowed/);
    expect(() => clutteredDigits([ramp], { count: -1, seed: 1 })).toThrow(/count: -1 is not allowed/);
  });
});

describe('digitScenes', () => {
  const digits: LabeledFeatures[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((label) => ({ features: Array.from({ length: 64 }, (_, i) => ((i * (label + 1)) % 16) + 1), label }));

  it('draws 1–4 digits side by side without overlap, captioned left to right', () => {
    const scenes = digitScenes(digits, { count: 200, seed: 4 });
    expect(digitScenes(digits, { count: 200, seed: 4 })).toEqual(scenes);
    expect(new Set(scenes.map((s) => s.labels.length))).toEqual(new Set([1, 2, 3, 4]));
    for (const { pixels, labels, caption, boxes } of scenes) {
      expect(boxes).toHaveLength(labels.length);
      expect(caption.split(' ')).toHaveLength(labels.length);
      for (let i = 1; i < boxes.length; i++) expect(boxes[i]!.x).toBeGreaterThanOrEqual(boxes[i - 1]!.x + 8); // left to right, apart
      boxes.forEach((box, i) => {
        expect(box.x + 8).toBeLessThanOrEqual(48);
        expect(box.y + 8).toBeLessThanOrEqual(24);
        const digit = digits[labels[i]!]!.features;
        for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) expect(at(pixels, 48, box.x + c, box.y + r)).toBeCloseTo(digit[r * 8 + c]! / DIGIT_MAX_VALUE, 6);
      });
    }
    const words = 'zero one two three four five six seven eight nine'.split(' ');
    for (const s of scenes) expect(s.caption).toBe(s.labels.map((l) => words[l]).join(' '));
    const [threeOneFour] = digitScenes([digits[3]!, digits[1]!, digits[4]!].map((d, i) => ({ ...d, label: [3, 1, 4][i]! })), { count: 60, seed: 2, minDigits: 3, maxDigits: 3 }).filter((s) => s.labels.join() === '3,1,4');
    expect(threeOneFour!.caption).toBe('three one four');
    expect(new Set(scenes.map((s) => s.boxes[0]!.y)).size).toBeGreaterThan(5); // vertical jitter
  });

  it('refuses scenes that cannot fit, in one line naming the option', () => {
    expect(() => digitScenes(digits, { count: 1, seed: 1, width: 30 })).toThrow(/maxDigits: 4 digits of 8 px do not fit side by side in a canvas 30 wide/);
    expect(() => digitScenes(digits, { count: 1, seed: 1, minDigits: 3, maxDigits: 2 })).toThrow(/maxDigits: 2 is not allowed; expected an integer >= 3/);
    expect(() => digitScenes(digits, { count: 1, seed: 1, digitSize: 16, height: 12 })).toThrow(/digitSize: 16 does not fit a canvas 12 high/);
  });
});
