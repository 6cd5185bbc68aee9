import { describe, expect, it } from 'vitest';
import { decodedFormat, expandSegmented, type PixelFormat, segmentedPaletteTable } from '../src/image';
import { describe as describeInstance, sortInstances } from '../src/series';

const rgbFmt = (o: Partial<PixelFormat>): PixelFormat => ({
  rows: 2,
  columns: 2,
  samplesPerPixel: 3,
  photometric: 'RGB',
  planar: 0,
  bitsAllocated: 8,
  bitsStored: 8,
  highBit: 7,
  signed: false,
  float: false,
  ...o,
});

describe('decodedFormat: frames the server decoded', () => {
  it('lossy JPEG gives RGB by pixel', () => {
    const f = decodedFormat(rgbFmt({ photometric: 'YBR_FULL_422' }), '1.2.840.10008.1.2.4.50');
    expect([f.photometric, f.planar]).toEqual(['RGB', 0]);
  });
  it('lossless JPEG and JPEG 2000 give YBR_FULL_422 as YBR_FULL; JPEG 2000 YBR_RCT and YBR_ICT as RGB', () => {
    expect(decodedFormat(rgbFmt({ photometric: 'YBR_FULL_422' }), '1.2.840.10008.1.2.4.70').photometric).toBe('YBR_FULL');
    expect(decodedFormat(rgbFmt({ photometric: 'YBR_FULL_422' }), '1.2.840.10008.1.2.4.90').photometric).toBe('YBR_FULL');
    expect(decodedFormat(rgbFmt({ photometric: 'YBR_ICT' }), '1.2.840.10008.1.2.4.91').photometric).toBe('RGB');
    expect(decodedFormat(rgbFmt({ photometric: 'YBR_RCT' }), '1.2.840.10008.1.2.4.201').photometric).toBe('RGB');
  });
  it('RLE keeps the Planar Configuration; grey frames are unchanged', () => {
    expect(decodedFormat(rgbFmt({ photometric: 'YBR_FULL', planar: 1 }), '1.2.840.10008.1.2.5')).toMatchObject({ photometric: 'YBR_FULL', planar: 1 });
    expect(decodedFormat(rgbFmt({ planar: 1 }), '1.2.840.10008.1.2.4.80').planar).toBe(0);
    const grey = rgbFmt({ samplesPerPixel: 1, photometric: 'MONOCHROME2', bitsAllocated: 16 });
    expect(decodedFormat(grey, '1.2.840.10008.1.2.4.90')).toBe(grey);
  });
});

describe('segmented palettes (PS3.3 C.7.9.2)', () => {
  it('expands discrete, linear and indirect segments', () => {
    // discrete 0,10; linear 4 steps to 50; indirect: the 2 segments at word 0 again.
    const words = new Uint16Array([0, 2, 0, 10, 1, 4, 50, 2, 2, 0, 0]);
    expect(Array.from(expandSegmented(words, 12))).toEqual([0, 10, 20, 30, 40, 50, 0, 10, 20, 30, 40, 50]);
  });
  it('fills the entries the segments do not reach with the last value', () => {
    expect(Array.from(expandSegmented(new Uint16Array([0, 1, 7, 1, 2, 9]), 5))).toEqual([7, 8, 9, 9, 9]);
  });
  it('rejects a linear segment first', () => {
    expect(() => expandSegmented(new Uint16Array([1, 2, 5]), 4)).toThrow();
  });
  it('scales 16-bit entries to 8 bits', () => {
    const words = new Uint16Array([0, 1, 0, 1, 3, 0xffff]);
    const { first, table } = segmentedPaletteTable([4, 0, 16], new Uint8Array(words.buffer));
    expect(first).toBe(0);
    expect(Array.from(table)).toEqual([0, 85, 170, 255]);
  });
});

describe('sortInstances', () => {
  const slice = (n: number, z: number) =>
    describeInstance({
      '00080018': { vr: 'UI', Value: [`1.2.${n}`] },
      '00200013': { vr: 'IS', Value: [n] },
      '00200032': { vr: 'DS', Value: [0, 0, z] },
      '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
      '00280010': { vr: 'US', Value: [2] },
      '00280011': { vr: 'US', Value: [2] },
    });
  it('sorts along the normal, lowest Instance Number first', () => {
    const down = [slice(2, -5), slice(1, 0), slice(3, -10)];
    expect(sortInstances(down).map(i => i.sop)).toEqual(['1.2.1', '1.2.2', '1.2.3']);
    const up = [slice(3, 10), slice(1, 0), slice(2, 5)];
    expect(sortInstances(up).map(i => i.sop)).toEqual(['1.2.1', '1.2.2', '1.2.3']);
    // Positions rule over numbers that disagree with them.
    const odd = [slice(1, 0), slice(3, 5), slice(2, 10)];
    expect(sortInstances(odd).map(i => i.sop)).toEqual(['1.2.1', '1.2.3', '1.2.2']);
  });
});
