import { describe, expect, it } from 'vitest';
import { glimpseSvg } from './glimpse-figure.js';

describe('glimpseSvg', () => {
  const config = { imageSize: 16, glimpsePatch: 4, numScales: 2 };
  const pixels = new Float32Array(16 * 16);
  pixels[2 * 16 + 10] = 1; // one lit pixel at row 2, column 10
  const svg = glimpseSvg(config, pixels, [[0, 0], [0.5, -0.5]], 'a <digit> & more');

  it('one panel per glimpse, with the squares the sensor reads at each scale (6 canvas pixels a pixel)', () => {
    expect(svg.match(/glimpse \d at/g)).toEqual(['glimpse 1 at', 'glimpse 2 at']);
    // Glimpse 2 at (0.5, −0.5): centre (12, 4) pixels; 4 × 4 and 8 × 8 squares.
    expect(svg).toContain('<rect x="60.00" y="12.00" width="24" height="24"');
    expect(svg).toContain('<rect x="48.00" y="0.00" width="48" height="48"');
    // Glimpse 1 at the centre: the squares around (8, 8).
    expect(svg).toContain('<rect x="36.00" y="36.00" width="24" height="24"');
  });

  it('draws the lit pixel, the path of the locations, and an escaped title', () => {
    expect(svg).toContain('<rect x="60" y="12" width="6" height="6" fill="rgb(0,0,0)"/>');
    expect(svg).toContain('<polyline points="48.00,48.00 72.00,24.00"');
    expect(svg).toContain('a &lt;digit&gt; &amp; more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});
