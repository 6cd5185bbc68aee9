import { describe, expect, it } from 'vitest';
import { param, parseMultipart } from '../src/dicomweb';
import { MultipartStream, nativePixelData, part10SOPInstanceUID } from '../src/series';

const enc = new TextEncoder();
const cat = (...xs: Uint8Array[]) => {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) out.set(x, o), (o += x.length);
  return out;
};

function multipart(boundary: string, parts: Uint8Array[], type = 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1'): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const p of parts) chunks.push(enc.encode(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`), p, enc.encode('\r\n'));
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return cat(...chunks);
}

describe('multipart/related', () => {
  const a = new Uint8Array([1, 2, 13, 10, 45, 45, 3]);
  const b = new Uint8Array(1000).map((_, i) => i % 251);
  const body = multipart('xyz', [a, b]);
  it('splits parts, with and without the size hint', () => {
    for (const hint of [0, 7, 5]) {
      const parts = parseMultipart(body, 'xyz', hint);
      expect(parts.map(p => Array.from(p.bytes))).toEqual([Array.from(a), Array.from(b)]);
      expect(parts[0]!.transferSyntax).toBe('1.2.840.10008.1.2.1');
    }
  });
  it('splits parts arriving in small chunks', () => {
    const s = new MultipartStream('xyz');
    const got: number[][] = [];
    for (let i = 0; i < body.length; i += 13) for (const p of s.push(body.subarray(i, i + 13))) got.push(Array.from(p));
    expect(got).toEqual([Array.from(a), Array.from(b)]);
  });
  it('reads Content-Type parameters', () => {
    expect(param('multipart/related; type="application/octet-stream"; boundary=abc', 'boundary')).toBe('abc');
    expect(param('multipart/related; boundary="a b"', 'boundary')).toBe('a b');
  });
});

describe('Part 10', () => {
  // Preamble, DICM, (0002,0003) UI and (7FE0,0010) OW of 4 bytes.
  const uid = enc.encode('1.2.3.4\0');
  const meta = cat(new Uint8Array(128), enc.encode('DICM'), new Uint8Array([2, 0, 3, 0]), enc.encode('UI'), new Uint8Array([uid.length, 0]), uid);
  const px = cat(new Uint8Array([0xe0, 0x7f, 0x10, 0x00]), enc.encode('OW'), new Uint8Array([0, 0, 4, 0, 0, 0]), new Uint8Array([9, 8, 7, 6]));
  const file = cat(meta, new Uint8Array([8, 0, 0x60, 0, 0x43, 0x53, 2, 0, 0x43, 0x54]), px);
  it('finds the SOP Instance UID and the trailing Pixel Data', () => {
    expect(part10SOPInstanceUID(file)).toBe('1.2.3.4');
    expect(Array.from(nativePixelData(file, 4, '1.2.840.10008.1.2.1')!)).toEqual([9, 8, 7, 6]);
    expect(nativePixelData(file, 6, '1.2.840.10008.1.2.1')).toBeUndefined();
  });
});
