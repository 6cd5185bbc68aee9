package render

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"io"
)

// pngSignature begins every PNG file (ISO/IEC 15948 5.2).
const pngSignature = "\x89PNG\r\n\x1a\n"

// pngFlush is the size from which the bytes assembled are written out between IDAT chunks.
const pngFlush = 1 << 18

// appendChunk appends a chunk (ISO/IEC 15948 5.3): length, type, data, CRC of type and data.
func appendChunk(out []byte, typ string, data []byte) []byte {
	start := len(out)
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
}

// endChunk completes the chunk whose 8-byte header out[start:] begins, its data what follows:
// it sets the length and appends the CRC.
func endChunk(out []byte, start int) []byte {
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-8))
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
}

// subGray writes the Sub filter of a row of grey samples (ISO/IEC 15948 9.2) to out: each byte
// minus the one before it, eight at a time in a 64-bit word.
func subGray(out, src []byte) {
	out = out[:len(src)]
	if len(src) == 0 {
		return
	}
	out[0] = src[0]
	x := 1
	for ; x+8 <= len(src); x += 8 {
		// Bytewise a − b: the high bits set in a and cleared in b keep borrows from crossing
		// bytes; the high bits are then put right.
		const h = 0x8080808080808080
		a := binary.LittleEndian.Uint64(src[x:])
		b := binary.LittleEndian.Uint64(src[x-1:])
		binary.LittleEndian.PutUint64(out[x:], ((a|h)-(b&^h))^((a^^b)&h))
	}
	for ; x < len(src); x++ {
		out[x] = src[x] - src[x-1]
	}
}

// subRGB writes the Sub filter of a row of RGBA pixels as RGB samples to out.
func subRGB(out, src []byte) {
	out = out[:3*(len(src)/4)]
	var pr, pg, pb byte
	for x := 0; x+2 < len(out); x += 3 {
		s := src[x/3*4 : x/3*4+3]
		r, g, b := s[0], s[1], s[2]
		out[x], out[x+1], out[x+2] = r-pr, g-pg, b-pb
		pr, pg, pb = r, g, b
	}
}

// encodePNG writes an *image.Gray as 8-bit greyscale or an opaque *image.RGBA as 8-bit
// truecolour PNG, non-interlaced, and reports false for other images. Every row is filtered
// with Sub (ISO/IEC 15948 9.2), which suits the smooth gradients of medical images and costs one
// subtraction a byte, and the stream is deflated by rleDeflater: Huffman coding with runs of a
// repeated byte as the only matches. Measured on a 512×512 CT rendering, this is faster than
// compress/flate's Huffman-only mode, which took about a quarter of the time of image/png at
// BestSpeed (five filters tried on every row, then string matching), and its file is 19%
// smaller (the runs of the background). Against None and Up on windowed CT renderings, Sub
// coded ~2% more literals than None (whose file was 24% larger on one CT, 5% smaller on
// another) and fewer than Up, whose file was larger on both: a cost that hardly differs, so
// the choice rests on size.
//
// The file is assembled in memory, one IDAT chunk per deflate block (256 KiB of filtered
// rows), and written when it holds 256 KiB or more and at the end: in one write for an image
// of one block.
func encodePNG(w io.Writer, img image.Image) (bool, error) {
	var (
		pix           []byte
		stride, bpp   int
		colourType    byte
		width, height = img.Bounds().Dx(), img.Bounds().Dy()
	)
	switch m := img.(type) {
	case *image.Gray:
		pix, stride, bpp, colourType = m.Pix, m.Stride, 1, 0
	case *image.RGBA:
		if !m.Opaque() {
			return false, nil
		}
		pix, stride, bpp, colourType = m.Pix, m.Stride, 3, 2
	default:
		return false, nil
	}
	if width == 0 || height == 0 {
		return false, nil
	}
	out := make([]byte, 0, 64)
	out = append(out, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, colourType // bit depth 8; compression, filter, interlace 0
	out = appendChunk(out, "IHDR", ihdr[:])
	start := len(out)
	out = append(out, "\x00\x00\x00\x00IDAT"...)
	d := newRLEDeflater(out)
	rowLen := 1 + width*bpp
	buf := make([]byte, min(deflateChunk+rowLen, height*rowLen))
	n := 0
	for y := 0; y < height; y++ {
		row := buf[n : n+rowLen]
		n += rowLen
		row[0] = 1 // Sub
		if bpp == 1 {
			subGray(row[1:], pix[y*stride:y*stride+width])
		} else {
			subRGB(row[1:], pix[y*stride:y*stride+4*width])
		}
		final := y == height-1
		if n < deflateChunk && !final {
			continue
		}
		d.block(buf[:n], final)
		n = 0
		d.out = endChunk(d.out, start)
		if final {
			break
		}
		if len(d.out) >= pngFlush {
			if _, err := w.Write(d.out); err != nil {
				return true, err
			}
			d.out = d.out[:0]
		}
		start = len(d.out)
		d.out = append(d.out, "\x00\x00\x00\x00IDAT"...)
	}
	d.out = appendChunk(d.out, "IEND", nil)
	_, err := w.Write(d.out)
	return true, err
}
