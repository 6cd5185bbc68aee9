import { describe, expect, it } from 'vitest';
import { angle, label, length, roiStats } from '../src/measure';

describe('measurements', () => {
  it('length in mm from Pixel Spacing (row, column)', () => {
    expect(length({ x: 0, y: 0 }, { x: 200, y: 0 }, [0.5, 0.646484])).toBeCloseTo(129.2968);
    expect(length({ x: 0, y: 0 }, { x: 0, y: 10 }, [0.5, 2])).toBeCloseTo(5);
    expect(label({ kind: 'length', points: [{ x: 0, y: 0 }, { x: 3, y: 4 }] }, undefined)).toEqual(['5.00 px']);
  });
  it('angle at the vertex', () => {
    expect(angle({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 }, undefined)).toBeCloseTo(90);
    expect(angle({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, [1, 1])).toBeCloseTo(45);
  });
  it('ROI mean, SD and area in modality units and mm²', () => {
    // 4×4 image, values 0..15, slope 2 intercept -10.
    const data = new Int16Array(16).map((_, i) => i);
    const r = roiStats('rect', { x: 0, y: 0 }, { x: 2, y: 2 }, 4, 4, data, 2, -10, [0.5, 0.5]);
    expect(r.count).toBe(4); // pixels 0, 1, 4, 5
    expect(r.mean).toBeCloseTo(((0 + 1 + 4 + 5) / 4) * 2 - 10);
    expect(r.area).toBeCloseTo(1);
    const sd = Math.sqrt([0, 1, 4, 5].map(v => (2 * v - 10 - r.mean) ** 2).reduce((a, b) => a + b) / 3);
    expect(r.sd).toBeCloseTo(sd);
    const e = roiStats('ellipse', { x: 0, y: 0 }, { x: 4, y: 4 }, 4, 4, data, 1, 0, undefined);
    expect(e.area).toBeCloseTo(Math.PI * 4);
    expect(e.count).toBe(12); // the corners' centres are outside
  });
});
