import { describe, expect, it } from 'vitest';
import { buildLut, decodeColor, decodeGray, decodeGrayRange, GrayFrame, grey, type PixelFormat, renderGray, rgba, voiApply } from '../src/image';

const fmt = (o: Partial<PixelFormat>): PixelFormat => ({
  rows: 1,
  columns: 4,
  samplesPerPixel: 1,
  photometric: 'MONOCHROME2',
  planar: 0,
  bitsAllocated: 16,
  bitsStored: 16,
  highBit: 15,
  signed: false,
  float: false,
  ...o,
});

const le16 = (vals: number[]) => new Uint8Array(new Uint16Array(vals.map(v => v & 0xffff)).buffer);

describe('VOI window (PS3.3 C.11.2.1.2)', () => {
  it('LINEAR maps c-0.5-(w-1)/2 to black and above c-0.5+(w-1)/2 to white', () => {
    const w = { center: 40, width: 400, fn: 'LINEAR' as const };
    expect(voiApply(w, -160)).toBe(0);
    expect(voiApply(w, 240)).toBe(1);
    expect(grey(w, 40)).toBe(128);
    expect(grey(w, -500)).toBe(0);
  });
  it('LINEAR_EXACT and SIGMOID', () => {
    expect(voiApply({ center: 0, width: 100, fn: 'LINEAR_EXACT' }, 25)).toBeCloseTo(0.75);
    expect(voiApply({ center: 0, width: 100, fn: 'SIGMOID' }, 0)).toBeCloseTo(0.5);
  });
});

describe('decodeGray', () => {
  it('masks bits above High Bit and sign-extends from Bits Stored', () => {
    const f = fmt({ bitsStored: 12, highBit: 11, signed: true });
    const d = decodeGray(le16([0xf7ff, 0x0800, 0x0fff, 0x0001]), f);
    expect(Array.from(d)).toEqual([2047, -2048, -1, 1]);
  });
  it('shifts when High Bit is not Bits Stored - 1', () => {
    const f = fmt({ bitsStored: 12, highBit: 15 });
    expect(Array.from(decodeGray(le16([0xfff0, 0x0010, 0, 0]), f))).toEqual([4095, 1, 0, 0]);
  });
  it('reads signed 16-bit as it is', () => {
    expect(Array.from(decodeGray(le16([-1024, 3071, 0, -1]), fmt({ signed: true })))).toEqual([-1024, 3071, 0, -1]);
  });
  it('copies a view that is not aligned', () => {
    const raw = new Uint8Array(9);
    raw.set(le16([1, 2, 3, 4]), 1);
    expect(Array.from(decodeGray(raw.subarray(1), fmt({})))).toEqual([1, 2, 3, 4]);
  });
  it('unpacks 1-bit frames', () => {
    expect(Array.from(decodeGray(new Uint8Array([0b0101]), fmt({ bitsAllocated: 1, bitsStored: 1, highBit: 0 })))).toEqual([1, 0, 1, 0]);
  });
});

describe('decodeGrayRange', () => {
  const cases: [string, Partial<PixelFormat>, number[]][] = [
    ['12-bit unsigned, clean', { bitsStored: 12, highBit: 11 }, [0, 4095, 17, 1024]],
    ['12-bit unsigned, bits above High Bit', { bitsStored: 12, highBit: 11 }, [0xf000, 4095, 0x1011, 3]],
    ['12-bit signed, sign-extended', { bitsStored: 12, highBit: 11, signed: true }, [-2048, 2047, -1, 0]],
    ['12-bit signed, not sign-extended', { bitsStored: 12, highBit: 11, signed: true }, [0x0800, 0x07ff, 0x0fff, 1]],
    ['12-bit signed, above the stored range', { bitsStored: 12, highBit: 11, signed: true }, [2048, -2049, 5, 0]],
    ['shifted', { bitsStored: 12, highBit: 15 }, [0xfff0, 0x0010, 0, 0]],
    ['16-bit signed', { signed: true }, [-1024, 3071, 0, -1]],
    ['8-bit in 8, 7 stored', { bitsAllocated: 8, bitsStored: 7, highBit: 6 }, [0, 127, 128, 255]],
  ];
  it.each(cases)('%s: the values and range of decodeGray and storedRange', (_, o, vals) => {
    const f = fmt(o);
    const bytes = () => (f.bitsAllocated === 8 ? new Uint8Array(vals) : le16(vals));
    const want = Array.from(decodeGray(bytes(), f));
    const got = decodeGrayRange(bytes(), f);
    expect(Array.from(got.data)).toEqual(want);
    expect(got.min).toBe(Math.min(...want));
    expect(got.max).toBe(Math.max(...want));
  });
  it('keeps a clean aligned frame where it is', () => {
    const bytes = le16([1, 2, 3, 4095]);
    const got = decodeGrayRange(bytes, fmt({ bitsStored: 12, highBit: 11 }));
    expect(got.data.buffer).toBe(bytes.buffer);
  });
});

describe('GrayFrame', () => {
  it('reads its bytes when first asked for, once', () => {
    const f = fmt({ bitsStored: 12, highBit: 11, signed: true });
    const bytes = le16([0xf7ff, 0x0800, 0x0fff, 0x0001]);
    const g = new GrayFrame(bytes, f);
    expect(g.byteLength).toBe(8);
    expect(Array.from(new Uint16Array(bytes.buffer))).toEqual([0xf7ff, 0x0800, 0x0fff, 0x0001]);
    expect(Array.from(g.data)).toEqual([2047, -2048, -1, 1]);
    expect([g.min, g.max]).toEqual([-2048, 2047]);
    expect(g.data).toBe(g.data);
  });
});

describe('lookup table', () => {
  it('applies rescale, window and MONOCHROME1 like the server', () => {
    const f = fmt({ signed: true });
    const voi = { center: 40, width: 400, fn: 'LINEAR' as const };
    const data = decodeGray(le16([-1024 + 1024, 40 + 1024, 3000, 0]), fmt({}));
    const out = new Uint32Array(4);
    renderGray(data, fmt({}), 1, -1024, voi, false, out);
    expect(out[0]).toBe(rgba(0, 0, 0));
    expect(out[1]).toBe(rgba(128, 128, 128));
    expect(out[2]).toBe(rgba(255, 255, 255));
    const lut = buildLut({ ...f, photometric: 'MONOCHROME1' }, 1, 0, voi, false);
    expect(lut.table[lut.offset + 240]).toBe(rgba(0, 0, 0));
    // Inverting MONOCHROME1 gives MONOCHROME2 back.
    const inv = buildLut({ ...f, photometric: 'MONOCHROME1' }, 1, 0, voi, true);
    expect(inv.table[inv.offset + 240]).toBe(rgba(255, 255, 255));
  });
  it('renders float pixel data without a table', () => {
    const f = fmt({ float: true, bitsAllocated: 32 });
    const out = new Uint32Array(2);
    renderGray(new Float32Array([0, 1]), { ...f, columns: 2 }, 1, 0, { center: 0.5, width: 1, fn: 'LINEAR_EXACT' }, false, out);
    expect(out[0]).toBe(rgba(0, 0, 0));
    expect(out[1]).toBe(rgba(255, 255, 255));
  });
});

describe('decodeColor', () => {
  it('reads planar RGB', () => {
    const f = fmt({ samplesPerPixel: 3, photometric: 'RGB', planar: 1, bitsAllocated: 8, bitsStored: 8, highBit: 7, columns: 2 });
    expect(Array.from(decodeColor(new Uint8Array([1, 2, 3, 4, 5, 6]), f))).toEqual([1, 3, 5, 255, 2, 4, 6, 255]);
  });
  it('converts YBR_FULL_422', () => {
    const f = fmt({ samplesPerPixel: 3, photometric: 'YBR_FULL_422', bitsAllocated: 8, bitsStored: 8, highBit: 7, columns: 2 });
    expect(Array.from(decodeColor(new Uint8Array([100, 200, 128, 128]), f))).toEqual([100, 100, 100, 255, 200, 200, 200, 255]);
  });
  it('looks up PALETTE COLOR', () => {
    const f = fmt({ photometric: 'PALETTE COLOR', bitsAllocated: 8, bitsStored: 8, highBit: 7, columns: 2 });
    const pal = { first: 0, red: new Uint8Array([10, 20]), green: new Uint8Array([30, 40]), blue: new Uint8Array([50, 60]) };
    expect(Array.from(decodeColor(new Uint8Array([1, 0]), f, pal))).toEqual([20, 40, 60, 255, 10, 30, 50, 255]);
  });
});
