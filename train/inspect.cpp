#include "train/inspect.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/error.h"
#include "data/image_io.h"

namespace cf {

void colour_scale(float t, uint8_t rgb[3]) {
  // Five stops of viridis, linearly interpolated.
  static const float stops[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::fmin(1.0f, std::fmax(0.0f, std::isfinite(t) ? t : 0.0f)) * 4.0f;
  const int k = std::min(3, int(t));
  const float f = t - float(k);
  for (int c = 0; c < 3; ++c)
    rgb[c] = uint8_t(std::lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c])));
}

std::vector<std::string> write_attention_pngs(const std::vector<Tensor>& maps, int64_t index,
                                              const std::string& dir, int cell) {
  CF_CHECK(!maps.empty(), "inspect: the model exposes no attention maps");
  std::filesystem::create_directories(dir);
  std::vector<std::string> written;
  for (size_t b = 0; b < maps.size(); ++b) {
    const Tensor& a = maps[b];
    CF_CHECK(a.dim() == 4 && a.size(2) == a.size(3),
             "inspect: attention map of block " << b << " has shape " << shape_str(a.shape())
                                                << ", expected (B, H, N, N)");
    const int64_t entry = a.size(0) == 1 ? 0 : index;  // static maps have one entry
    CF_CHECK(entry < a.size(0), "inspect: image " << index << " of a batch of " << a.size(0));
    const int64_t H = a.size(1), N = a.size(2), side = N * cell;
    for (int64_t h = 0; h < H; ++h) {
      const float* m = a.data() + (entry * H + h) * N * N;
      // Stretched between the map's own minimum and maximum, so that the
      // structure of a nearly uniform head is still visible.
      const float low = *std::min_element(m, m + N * N);
      const float range = std::max(*std::max_element(m, m + N * N) - low, 1e-12f);
      std::vector<uint8_t> pixels(size_t(side * side * 3));
      for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x)
          colour_scale((m[(y / cell) * N + x / cell] - low) / range, &pixels[size_t((y * side + x) * 3)]);
      const std::string path = (std::filesystem::path(dir) /
                                ("block" + std::to_string(b) + "_head" + std::to_string(h) + ".png"))
                                   .string();
      data::write_png(path, pixels.data(), side, side, 3);
      written.push_back(path);
    }
  }
  return written;
}

}  // namespace cf
