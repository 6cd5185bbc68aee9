import { describe, expect, it } from 'vitest';
import { param, parseMultipart } from '../src/dicomweb';
import { bodyChunks, MultipartStream, nativePixelData, part10SOPInstanceUID } from '../src/series';

const enc = new TextEncoder();
const cat = (...xs: Uint8Array[]) => {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) out.set(x, o), (o += x.length);
  return out;
};

function multipart(boundary: string, parts: Uint8Array[], type = 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', lengths: boolean[] = []): Uint8Array {
  const chunks: Uint8Array[] = [];
  parts.forEach((p, i) => {
    const cl = lengths[i] ? `Content-Length: ${p.length}\r\n` : '';
    chunks.push(enc.encode(`--${boundary}\r\n${cl}Content-Type: ${type}\r\n\r\n`), p, enc.encode('\r\n'));
  });
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
  it('takes parts by their Content-Length, and searches the others, in chunks of any size', () => {
    const c = new Uint8Array(70000).map((_, i) => (i * 7) % 256);
    const parts = [a, b, c, new Uint8Array(0), b];
    for (const lengths of [[], [true, true, true, true, true], [true, false, true, false, true], [false, true, false, true, false]]) {
      const body = multipart('q7', parts, undefined, lengths);
      for (const step of [1, 3, 13, 1000, 65536, body.length]) {
        // The chunks come from one buffer that is overwritten from chunk to chunk, as a BYOB reader's do.
        const scratch = new Uint8Array(step);
        const s = new MultipartStream('q7', n => (n === 1000 ? 3 : 0));
        const got: Uint8Array[] = [];
        for (let i = 0; i < body.length; i += step) {
          const chunk = body.subarray(i, i + step);
          scratch.set(chunk);
          got.push(...s.push(scratch.subarray(0, chunk.length)));
          scratch.fill(0xee);
        }
        expect(got.map(p => Array.from(p))).toEqual(parts.map(p => Array.from(p)));
        // A part of 1000 bytes taken by its length starts where offset said.
        if (lengths[1]) expect(got[1]!.byteOffset).toBe(3);
      }
    }
  });
  it('refuses a part longer or shorter than its Content-Length says', () => {
    const good = multipart('q7', [b], undefined, [true]);
    const text = new TextDecoder('latin1').decode(good);
    for (const lie of ['Content-Length: 999', 'Content-Length: 1001']) {
      const bad = Uint8Array.from(text.replace('Content-Length: 1000', lie), ch => ch.charCodeAt(0));
      expect(() => new MultipartStream('q7').push(bad)).toThrow(/delimiter/);
    }
  });
  it('reads a body through a reused buffer where it can', async () => {
    const data = new Uint8Array(300000).map((_, i) => i % 253);
    const byteStream = () =>
      new ReadableStream({
        type: 'bytes',
        start(c) {
          for (let i = 0; i < data.length; i += 70000) c.enqueue(data.slice(i, i + 70000));
          c.close();
        },
      });
    const plain = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < data.length; i += 50000) c.enqueue(data.slice(i, i + 50000));
          c.close();
        },
      });
    for (const body of [byteStream(), plain()]) {
      const got: number[] = [];
      for await (const chunk of bodyChunks(body, 4096)) got.push(...chunk);
      expect(got.length).toBe(data.length);
      expect(got.every((v, i) => v === data[i])).toBe(true);
    }
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
