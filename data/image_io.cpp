#include "data/image_io.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/threads.h"

// stb's implementations, compiled here once. STATIC gives them internal
// linkage, so another part of the program that also embeds stb cannot clash.
#define STB_IMAGE_STATIC
// Only the formats image folders document (PNG, JPEG, BMP, GIF, TGA, PNM):
// the other decoders would be code that reads untrusted files for nobody.
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_HDR
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
#include "stb_image.h"
#include "stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace cf::data {
namespace {

// stb_image as Debian 12 ships it (2022) builds a JPEG Huffman table from
// the 16 code counts of a DHT segment without checking that they add up to
// at most 256, and writes past its 257-entry arrays when they do (fixed
// upstream in stb_image 2.28). Nor does it check that a scan's components
// select Huffman tables some DHT segment defined: it then decodes with
// uninitialised memory (found by fuzz_image, where a table left with
// another allocation's bytes failed stb's internal assertion), and the same
// holds for the quantisation tables the frame's components select. Such files are
// corrupt: refuse them before stb reads them. The walk visits every segment
// stb would: segments are hopped by their length, anything else
// (entropy-coded data, junk) is scanned byte by byte for the next marker, as
// stb's own parser does.
void check_jpeg_tables(const uint8_t* data, size_t size, const std::string& name) {
  // The start-of-image marker, after any number of 0xFF fill bytes, as stb
  // reads it; else not a JPEG.
  size_t p = 0;
  while (p < size && data[p] == 0xFF) ++p;
  if (p == 0 || p >= size || data[p] != 0xD8) return;
  ++p;
  auto at = [&](size_t i) -> int { return i < size ? data[i] : 0; };  // stb reads 0 past the end
  bool defined[2][4] = {};  // [DC, AC][table id] set by a DHT so far
  bool quant_defined[4] = {};  // set by a DQT so far
  std::vector<int> quant_of;   // the quantisation table of each frame component
  bool progressive = false;
  // Baseline decoding dequantises block by block, during each scan;
  // progressive decoding once at the end, after the last scan.
  auto check_quant = [&](size_t offset, const char* when) {
    for (size_t c = 0; c < quant_of.size(); ++c)
      CF_CHECK(quant_of[c] > 3 || quant_defined[quant_of[c]],
               name << ": corrupt JPEG: component " << c + 1 << " uses quantisation table "
                    << quant_of[c] << ", which no DQT segment defines " << when << offset);
  };
  while (p + 1 < size) {
    const int marker = data[p + 1];
    // Not a marker with a length: data, a stuffed 0xFF00, fill, a restart.
    if (data[p] != 0xFF || marker == 0x00 || marker == 0xFF || marker == 0x01 ||
        (marker >= 0xD0 && marker <= 0xD8)) {
      ++p;
      continue;
    }
    if (marker == 0xD9) {  // end of image
      if (progressive) check_quant(p, "before the end of the image at offset ");
      return;
    }
    const size_t length = size_t(at(p + 2) << 8 | at(p + 3));
    if (marker == 0xC4) {
      // Tables follow each other: a class/id byte, 16 counts, the symbols.
      int64_t left = int64_t(length) - 2;
      for (size_t t = p + 4; left > 0;) {
        const int table_class = at(t) >> 4, id = at(t) & 15;
        if (table_class <= 1 && id <= 3) defined[table_class][id] = true;  // stb refuses others
        int codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += at(t + i);
        CF_CHECK(codes <= 256, name << ": corrupt JPEG: the Huffman table at offset " << t
                                    << " declares " << codes << " codes, more than 256");
        t += 17 + size_t(codes);
        left -= 17 + codes;
      }
    }
    if (marker == 0xDB)  // tables follow each other: a precision/id byte, 64 or 128 bytes
      for (size_t t = p + 4; t < p + 2 + length;) {
        if ((at(t) & 15) <= 3) quant_defined[at(t) & 15] = true;  // stb refuses others
        t += 1 + (at(t) >> 4 ? 128 : 64);
      }
    if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) {  // a frame: its components
      progressive = marker == 0xC2;
      quant_of.assign(size_t(at(p + 9)), 0);
      for (size_t c = 0; c < quant_of.size(); ++c) quant_of[c] = at(p + 12 + 3 * c);
    }
    if (marker == 0xDA) {
      if (!progressive) check_quant(p, "before the scan at offset ");
      // Each component's selector byte names its DC (high nibble) and AC
      // table. A baseline scan decodes with both; a progressive one with the
      // DC table in a first DC scan (Ss = 0, Ah = 0), with the AC table in
      // an AC scan (Ss > 0). Ids above 3 stb refuses itself.
      const int n = at(p + 4);
      const size_t spectral = p + 5 + 2 * size_t(n);
      const int ss = at(spectral), ah = at(spectral + 2) >> 4;
      const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss > 0;
      for (int c = 0; c < n; ++c) {
        const int selector = at(p + 6 + 2 * size_t(c));
        for (const int table_class : {0, 1}) {
          const int id = table_class == 0 ? selector >> 4 : selector & 15;
          CF_CHECK(!(table_class == 0 ? uses_dc : uses_ac) || id > 3 || defined[table_class][id],
                   name << ": corrupt JPEG: the scan at offset " << p << " decodes component "
                        << c + 1 << " with " << (table_class == 0 ? "DC" : "AC")
                        << " Huffman table " << id << ", which no DHT segment before it defines");
        }
      }
    }
    p += 2 + length;
  }
  if (progressive) check_quant(size, "before the end of the data at offset ");
}

// The same stb_image reads the numbers of a binary PNM header (P5, P6) into
// an int without an overflow check, and reads 16-bit samples (a maximum value
// above 255) in the wrong byte order, then converts them to 3 channels as if
// they were bytes, past the end of its buffer. Both are refused here.
// Whitespace and '#' comments are skipped as stb skips them.
void check_pnm_header(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) return;
  auto space = [](uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  size_t p = 2;
  int64_t value = 0;
  for (const char* field : {"width", "height", "maximum value"}) {
    for (;;) {
      while (p < size && space(data[p])) ++p;
      if (p >= size || data[p] != '#') break;
      while (p < size && data[p] != '\n' && data[p] != '\r') ++p;
    }
    const size_t start = p;
    for (value = 0; p < size && data[p] >= '0' && data[p] <= '9'; ++p) {
      value = value * 10 + (data[p] - '0');
      CF_CHECK(value <= INT32_MAX, name << ": corrupt PNM: the " << field << " at offset " << start
                                        << " does not fit in 32 bits");
    }
  }
  CF_CHECK(value <= 255, name << ": 16-bit PNM (maximum value " << value
                              << ") is not supported; save it with 8 bits per sample");
}

// stb grows its buffer for a PNG's IDAT data to the length a chunk header
// claims before it reads a byte of the chunk, doubling from 4 KiB: a 100-byte
// file whose second IDAT claims 1.3 GB makes it ask for 2 GiB (found by
// fuzz_image). A chunk cannot be longer than the bytes left in the file, so
// such a header is refused here. The walk stops at IEND, as stb does.
void check_png_chunks(const uint8_t* data, size_t size, const std::string& name) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size < 8 || !std::equal(kSignature, kSignature + 8, data)) return;
  for (size_t p = 8; p + 8 <= size;) {
    const uint32_t length = uint32_t(data[p]) << 24 | uint32_t(data[p + 1]) << 16 |
                            uint32_t(data[p + 2]) << 8 | uint32_t(data[p + 3]);
    const size_t left = size - p - 8;  // after the length and the type
    CF_CHECK(length <= left, name << ": corrupt PNG: the chunk at offset " << p << " claims "
                                  << length << " bytes, but only " << left
                                  << " follow its header (truncated or corrupt file?)");
    if (std::equal(data + p + 4, data + p + 8, "IEND")) return;
    p += 12 + size_t(length);  // length, type, data, CRC
  }
}

// stb accepts some headers that claim no pixels at all (a PNM whose width
// does not parse reads as 0); a huge claim is refused before decoding, since
// decoding it would exhaust memory before stb noticed anything wrong. So is a
// claim that the file's bytes cannot hold: stb fills what is missing with
// zeros, and a 19-byte TGA header would decode to 150 million black pixels.
// No format packs more than kMaxPixelsPerByte pixels into a byte (PNG, the
// densest, stays below 8 * 1032: 1-bit pixels, deflate's largest ratio).
constexpr int64_t kMaxPixelsPerByte = 16384;

void check_claimed_size(int w, int h, size_t size, const std::string& name) {
  CF_CHECK(w > 0 && h > 0, name << ": the header claims a " << w << "x" << h
                                << " image, which has no pixels (corrupt file?)");
  CF_CHECK(w <= kMaxImageSide && h <= kMaxImageSide,
           name << ": the header claims a " << w << "x" << h << " image; images larger than "
                << kMaxImageSide << " pixels a side are refused (corrupt file?)");
  CF_CHECK(int64_t(w) * h <= kMaxPixelsPerByte * int64_t(size),
           name << ": the header claims a " << w << "x" << h << " image, more pixels than a "
                << size << "-byte file can encode (truncated or corrupt file?)");
}

}  // namespace

Image decode_image_memory(const uint8_t* data, size_t size, const std::string& name) {
  CF_CHECK(size <= size_t(INT32_MAX), name << ": file too large to decode (" << size << " bytes)");
  check_jpeg_tables(data, size, name);
  check_pnm_header(data, size, name);
  check_png_chunks(data, size, name);
  int w = 0, h = 0, channels = 0;
  CF_CHECK(stbi_info_from_memory(data, int(size), &w, &h, &channels) != 0,
           name << ": cannot decode as an image (" << stbi_failure_reason() << ")");
  check_claimed_size(w, h, size, name);
  // Forcing 3 channels: every data set here is RGB, whatever the file holds.
  stbi_uc* decoded = stbi_load_from_memory(data, int(size), &w, &h, &channels, 3);
  CF_CHECK(decoded != nullptr,
           name << ": cannot decode as an image (" << stbi_failure_reason() << ")");
  std::unique_ptr<stbi_uc, void (*)(void*)> owner(decoded, &stbi_image_free);
  Image image;
  image.h = h;
  image.w = w;
  image.c = 3;
  image.pixels.assign(decoded, decoded + size_t(h) * size_t(w) * 3);
  return image;
}

Image decode_image_file(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image_memory(bytes.data(), bytes.size(), path);
}

namespace {

void check_encodable(const char* what, int64_t h, int64_t w, int64_t c) {
  CF_CHECK(h > 0 && w > 0 && h <= 65535 && w <= 65535 && (c == 1 || c == 3 || c == 4),
           what << ": cannot encode an image of h=" << h << " w=" << w << " c=" << c
                << " (need 1..65535 pixels a side and 1, 3 or 4 channels)");
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

void write_png(const std::string& path, const uint8_t* hwc, int64_t h, int64_t w, int64_t c) {
  check_encodable("write_png", h, w, c);
  CF_CHECK(stbi_write_png(path.c_str(), int(w), int(h), int(c), hwc, int(w * c)) != 0,
           path << ": cannot write PNG");
}

void write_jpeg(const std::string& path, const uint8_t* hwc, int64_t h, int64_t w, int64_t c,
                int quality) {
  check_encodable("write_jpeg", h, w, c);
  CF_CHECK(stbi_write_jpg(path.c_str(), int(w), int(h), int(c), hwc, quality) != 0,
           path << ": cannot write JPEG");
}

std::vector<uint8_t> encode_jpeg(const uint8_t* hwc, int64_t h, int64_t w, int64_t c, int quality) {
  check_encodable("encode_jpeg", h, w, c);
  std::vector<uint8_t> out;
  CF_CHECK(stbi_write_jpg_to_func(&append_bytes, &out, int(w), int(h), int(c), hwc, quality) != 0,
           "encode_jpeg: stb_image_write failed");
  return out;
}

namespace {

// Bilinear resampling of one h_in x w_in x c image into h x w x c bytes.
void resample(const uint8_t* in, int64_t h_in, int64_t w_in, int64_t c, uint8_t* out, int64_t h,
              int64_t w) {
  // Source coordinate and weight of the lower neighbour, per output row/column.
  auto taps = [](int64_t n_out, int64_t n_in, std::vector<int64_t>& lo, std::vector<float>& frac) {
    lo.resize(size_t(n_out));
    frac.resize(size_t(n_out));
    const double scale = double(n_in) / double(n_out);
    for (int64_t i = 0; i < n_out; ++i) {
      const double s = std::clamp((double(i) + 0.5) * scale - 0.5, 0.0, double(n_in - 1));
      lo[size_t(i)] = std::min<int64_t>(int64_t(s), n_in - 1);
      frac[size_t(i)] = float(s - double(lo[size_t(i)]));
    }
  };
  std::vector<int64_t> y0, x0;
  std::vector<float> fy, fx;
  taps(h, h_in, y0, fy);
  taps(w, w_in, x0, fx);
  auto at = [&](int64_t y, int64_t x, int64_t k) { return float(in[(y * w_in + x) * c + k]); };
  for (int64_t y = 0; y < h; ++y) {
    const int64_t ya = y0[size_t(y)], yb = std::min(ya + 1, h_in - 1);
    for (int64_t x = 0; x < w; ++x) {
      const int64_t xa = x0[size_t(x)], xb = std::min(xa + 1, w_in - 1);
      for (int64_t k = 0; k < c; ++k) {
        const float top = at(ya, xa, k) + (at(ya, xb, k) - at(ya, xa, k)) * fx[size_t(x)];
        const float bottom = at(yb, xa, k) + (at(yb, xb, k) - at(yb, xa, k)) * fx[size_t(x)];
        const float v = top + (bottom - top) * fy[size_t(y)];
        out[(y * w + x) * c + k] = uint8_t(std::lround(std::clamp(v, 0.0f, 255.0f)));
      }
    }
  }
}

void check_resize(const char* op, int64_t h_in, int64_t w_in, int64_t h, int64_t w) {
  CF_CHECK(h > 0 && w > 0 && h_in > 0 && w_in > 0,
           op << ": cannot resize " << h_in << "x" << w_in << " to " << h << "x" << w);
}

}  // namespace

Image resize_bilinear(const Image& image, int64_t h, int64_t w) {
  check_resize("resize_bilinear", image.h, image.w, h, w);
  Image out;
  out.h = h;
  out.w = w;
  out.c = image.c;
  out.pixels.resize(size_t(h * w * image.c));
  resample(image.pixels.data(), image.h, image.w, image.c, out.pixels.data(), h, w);
  return out;
}

ImageSet resize_images(const ImageSet& set, int64_t h, int64_t w) {
  check_resize("resize_images", set.h, set.w, h, w);
  ImageSet out;
  out.n = set.n;
  out.h = h;
  out.w = w;
  out.c = set.c;
  out.labels = set.labels;
  out.classes = set.classes;
  out.pixels.resize(size_t(out.n * out.image_bytes()));
  // One image per slot: the result does not depend on the thread count.
  kernels::parallel_for(set.n, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) resample(set.image(i), set.h, set.w, set.c, out.image(i), h, w);
  });
  return out;
}

}  // namespace cf::data
