//go:build cgo && !nocgocodecs

// A C interface to the OpenJPH C++ classes: one call encodes a frame, one decodes a codestream.
// Library errors are caught here and returned as text; no C++ exception crosses into Go.

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

#include "shim.h"

namespace {

// error_text holds the last library error message of this thread.
thread_local char error_text[256];

// lb_error replaces the library's error reporter, which prints to stderr before throwing.
class lb_error : public ojph::message_error {
public:
  void operator()(int code, const char *file, int line, const char *fmt, ...) override {
    (void)file;
    (void)line;
    va_list ap;
    va_start(ap, fmt);
    int n = std::snprintf(error_text, sizeof error_text, "error 0x%x: ", code);
    if (n > 0 && n < (int)sizeof error_text)
      std::vsnprintf(error_text + n, sizeof error_text - n, fmt, ap);
    va_end(ap);
    throw std::runtime_error(error_text);
  }
};

class lb_warning : public ojph::message_warning {
public:
  void operator()(int, const char *, int, const char *, ...) override {}
};

class lb_info : public ojph::message_info {
public:
  void operator()(int, const char *, int, const char *, ...) override {}
};

// configure installs the quiet reporters once, when the library is loaded.
struct configure {
  configure() {
    static lb_error e;
    static lb_warning w;
    static lb_info i;
    ojph::configure_error(&e);
    ojph::configure_warning(&w);
    ojph::configure_info(&i);
  }
} configured;

void set_text(char *dst, size_t n, const char *s) {
  std::snprintf(dst, n, "%s", s);
}

// out_buffer is an outfile_base writing into a malloc'd growing buffer.
class out_buffer : public ojph::outfile_base {
public:
  ~out_buffer() override { std::free(data); }
  size_t write(const void *p, size_t n) override {
    if (len + n > cap) {
      size_t c = cap ? cap : 65536;
      while (c < len + n) c *= 2;
      void *q = std::realloc(data, c);
      if (!q) throw std::bad_alloc();
      data = static_cast<unsigned char *>(q);
      cap = c;
    }
    std::memcpy(data + len, p, n);
    len += n;
    return n;
  }
  ojph::si64 tell() override { return (ojph::si64)len; }
  unsigned char *data = nullptr;
  size_t len = 0, cap = 0;
};

} // namespace

extern "C" int lbojph_encode(const unsigned char *src, unsigned w, unsigned h, unsigned ncomps,
                             unsigned bytes_per_sample, int planar, unsigned bit_depth, int is_signed,
                             int color_transform, unsigned decompositions, unsigned char **out,
                             size_t *outlen, char *err, size_t errlen) {
  *out = nullptr;
  *outlen = 0;
  try {
    out_buffer file;
    {
      ojph::codestream cs;
      ojph::param_siz siz = cs.access_siz();
      siz.set_image_extent(ojph::point(w, h));
      siz.set_num_components(ncomps);
      for (unsigned c = 0; c < ncomps; c++)
        siz.set_component(c, ojph::point(1, 1), bit_depth, is_signed != 0);
      siz.set_image_offset(ojph::point(0, 0));
      siz.set_tile_size(ojph::size(w, h));
      siz.set_tile_offset(ojph::point(0, 0));
      ojph::param_cod cod = cs.access_cod();
      cod.set_num_decomposition(decompositions);
      cod.set_block_dims(64, 64);
      cod.set_progression_order("RPCL");
      cod.set_color_transform(color_transform != 0);
      cod.set_reversible(true);
      cs.set_planar(false);
      cs.write_headers(&file);
      size_t px = (size_t)w * h;
      unsigned next = 0;
      ojph::line_buf *line = cs.exchange(nullptr, next);
      for (unsigned y = 0; y < h; y++) {
        for (unsigned c = 0; c < ncomps; c++) {
          // The library asks for the components of a row in turn.
          const unsigned char *p;
          size_t step;
          if (planar) {
            p = src + ((size_t)next * px + (size_t)y * w) * bytes_per_sample;
            step = bytes_per_sample;
          } else {
            p = src + ((size_t)y * w * ncomps + next) * bytes_per_sample;
            step = (size_t)ncomps * bytes_per_sample;
          }
          ojph::si32 *d = line->i32;
          if (bytes_per_sample == 1) {
            if (is_signed)
              for (unsigned x = 0; x < w; x++, p += step) d[x] = (signed char)p[0];
            else
              for (unsigned x = 0; x < w; x++, p += step) d[x] = p[0];
          } else {
            if (is_signed)
              for (unsigned x = 0; x < w; x++, p += step) d[x] = (short)(p[0] | (p[1] << 8));
            else
              for (unsigned x = 0; x < w; x++, p += step) d[x] = p[0] | (p[1] << 8);
          }
          line = cs.exchange(line, next);
        }
      }
      cs.flush();
      cs.close();
    }
    *out = file.data;
    *outlen = file.len;
    file.data = nullptr;
    return 0;
  } catch (const std::exception &e) {
    set_text(err, errlen, e.what());
  } catch (...) {
    set_text(err, errlen, "unknown error");
  }
  return 1;
}

extern "C" int lbojph_decode(const unsigned char *src, size_t n, unsigned char *dst, size_t dstlen,
                             unsigned w, unsigned h, unsigned ncomps, unsigned bytes_per_sample,
                             char *err, size_t errlen) {
  try {
    ojph::mem_infile file;
    file.open(src, n);
    ojph::codestream cs;
    cs.enable_resilience();
    cs.read_headers(&file);
    ojph::param_siz siz = cs.access_siz();
    if (siz.get_num_components() != ncomps) throw std::runtime_error("component count differs");
    for (unsigned c = 0; c < ncomps; c++) {
      if (siz.get_recon_width(c) != w || siz.get_recon_height(c) != h)
        throw std::runtime_error("component size differs");
      if (siz.get_bit_depth(c) > 8 * bytes_per_sample) throw std::runtime_error("bit depth too large");
    }
    if ((size_t)w * h * ncomps * bytes_per_sample > dstlen) throw std::runtime_error("output too small");
    if (ncomps > 4) throw std::runtime_error("more than 4 components");
    ojph::si32 lo_of[4], hi_of[4];
    for (unsigned c = 0; c < ncomps; c++) {
      unsigned bd = siz.get_bit_depth(c);
      if (bd < 1) throw std::runtime_error("bit depth 0");
      if (siz.is_signed(c)) {
        lo_of[c] = -(ojph::si32)(1u << (bd - 1));
        hi_of[c] = (ojph::si32)((1u << (bd - 1)) - 1);
      } else {
        lo_of[c] = 0;
        hi_of[c] = (ojph::si32)((1u << bd) - 1);
      }
    }
    cs.set_planar(false);
    cs.create();
    size_t step = (size_t)ncomps * bytes_per_sample;
    for (unsigned y = 0; y < h; y++) {
      for (unsigned c = 0; c < ncomps; c++) {
        unsigned comp = 0;
        ojph::line_buf *line = cs.pull(comp);
        if (comp >= ncomps) throw std::runtime_error("component out of range");
        unsigned char *o = dst + ((size_t)y * w * ncomps + comp) * bytes_per_sample;
        const ojph::si32 *d = line->i32;
        // Irreversible coding can overshoot the sample range; clamp as OpenJPEG does.
        const ojph::si32 lo = lo_of[comp], hi = hi_of[comp];
        if (bytes_per_sample == 1)
          for (unsigned x = 0; x < w; x++, o += step) {
            ojph::si32 v = d[x] < lo ? lo : d[x] > hi ? hi : d[x];
            o[0] = (unsigned char)v;
          }
        else
          for (unsigned x = 0; x < w; x++, o += step) {
            ojph::si32 v = d[x] < lo ? lo : d[x] > hi ? hi : d[x];
            o[0] = (unsigned char)v;
            o[1] = (unsigned char)(v >> 8);
          }
      }
    }
    cs.close();
    return 0;
  } catch (const std::exception &e) {
    set_text(err, errlen, e.what());
  } catch (...) {
    set_text(err, errlen, "unknown error");
  }
  return 1;
}
