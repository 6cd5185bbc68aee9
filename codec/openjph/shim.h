//go:build cgo && !nocgocodecs

#ifndef LIGHTBOX_OPENJPH_SHIM_H
#define LIGHTBOX_OPENJPH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// lbojph_encode encodes a native frame (little endian, 1 or 2 bytes a sample, colour by pixel
// or by plane) as a reversible HTJ2K codestream with RPCL progression into *out, which the
// caller frees with free(). It returns 0, or 1 with a message in err.
int lbojph_encode(const unsigned char *src, unsigned w, unsigned h, unsigned ncomps,
                  unsigned bytes_per_sample, int planar, unsigned bit_depth, int is_signed,
                  int color_transform, unsigned decompositions, unsigned char **out,
                  size_t *outlen, char *err, size_t errlen);

// lbojph_decode decodes a codestream of w×h pixels and ncomps components into dst, colour by
// pixel, little endian. It returns 0, or 1 with a message in err.
int lbojph_decode(const unsigned char *src, size_t n, unsigned char *dst, size_t dstlen,
                  unsigned w, unsigned h, unsigned ncomps, unsigned bytes_per_sample,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
