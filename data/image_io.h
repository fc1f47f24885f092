// PNG/JPEG decoding and encoding through stb_image / stb_image_write, and the
// bilinear resize the image-folder reader and cf train's `resize` key use.
// Images are HWC uint8 (data/dataset.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cf::data {

// Larger images are refused before decoding (from the header's claim): at
// 16384 x 16384 x 3 bytes one decoded image is already 768 MiB.
constexpr int kMaxImageSide = 16384;

// Decodes a PNG, JPEG, BMP, GIF (first frame), TGA or PNM file, converted to 3
// channels (grey is replicated, alpha dropped). cf::Error naming the file and
// stb's reason ("unknown image type", "corrupt JPEG", ...) on failure, or the
// claimed size when a side is above kMaxImageSide.
Image decode_image_file(const std::string& path);
// The same from bytes in memory; `name` is used in error messages.
Image decode_image_memory(const uint8_t* data, size_t size, const std::string& name);

// Encoders; `c` is 1, 3 or 4. JPEG quality is 1..100 (libjpeg's scale).
void write_png(const std::string& path, const uint8_t* hwc, int64_t h, int64_t w, int64_t c);
void write_jpeg(const std::string& path, const uint8_t* hwc, int64_t h, int64_t w, int64_t c,
                int quality);
std::vector<uint8_t> encode_jpeg(const uint8_t* hwc, int64_t h, int64_t w, int64_t c, int quality);

// Bilinear resampling with pixel centres aligned (OpenCV's INTER_LINEAR and
// PyTorch's align_corners=False): output pixel (y, x) samples the input at
// ((y + 0.5) h_in / h_out - 0.5, ...), clamped at the borders. No low-pass
// filter is applied first, so strong downscaling aliases.
Image resize_bilinear(const Image& image, int64_t h, int64_t w);
// Every image of `set` resampled so, in parallel (the same bits at any thread
// count); labels and classes are kept.
ImageSet resize_images(const ImageSet& set, int64_t h, int64_t w);

}  // namespace cf::data
