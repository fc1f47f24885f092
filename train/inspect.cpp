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

std::vector<std::string> write_sheet_pngs(const std::vector<Tensor>& maps, const Geometry& geometry,
                                          int64_t index, const std::string& dir) {
  const int64_t N = geometry.size();
  // Sheets side by side, one pixel apart: where each sheet starts.
  std::vector<int64_t> start;
  int64_t width = 0, height = 0;
  for (int64_t w : geometry.widths) {
    start.push_back(width);
    width += w + 1;
    height = std::max(height, w);
  }
  width -= 1;
  auto place = [&](int64_t n) {  // (row, column) of column n in a layout
    const SheetPosition& p = geometry.columns[size_t(n)];
    return std::pair<int64_t, int64_t>{p.row, start[size_t(p.sheet)] + p.col};
  };
  const int64_t tile_h = height + 1, tile_w = width + 1;
  const int64_t image_h = height * tile_h, image_w = width * tile_w;
  std::filesystem::create_directories(dir);
  std::vector<std::string> written;
  for (size_t b = 0; b < maps.size(); ++b) {
    const Tensor& a = maps[b];
    if (!a.defined()) continue;
    CF_CHECK(a.dim() == 4 && a.size(2) == N && a.size(3) == N,
             "inspect: attention map of block " << b << " has shape " << shape_str(a.shape())
                                                << ", the sheet has " << N << " columns");
    const int64_t entry = a.size(0) == 1 ? 0 : index, H = a.size(1);
    std::vector<uint8_t> pixels(size_t(image_h * image_w * 3), 40);  // dark grey gaps
    std::vector<float> row(static_cast<size_t>(N));
    for (int64_t q = 0; q < N; ++q) {
      for (int64_t k = 0; k < N; ++k) {
        float mean = 0;
        for (int64_t h = 0; h < H; ++h) mean += a.data()[((entry * H + h) * N + q) * N + k];
        row[size_t(k)] = mean / float(H);
      }
      const float low = *std::min_element(row.begin(), row.end());
      const float range = std::max(*std::max_element(row.begin(), row.end()) - low, 1e-12f);
      const auto [qy, qx] = place(q);
      for (int64_t k = 0; k < N; ++k) {
        const auto [ky, kx] = place(k);
        const int64_t y = qy * tile_h + ky, x = qx * tile_w + kx;
        colour_scale((row[size_t(k)] - low) / range, &pixels[size_t((y * image_w + x) * 3)]);
      }
    }
    // Each pixel drawn as a 4 x 4 block, so an 8 x 8 sheet is legible.
    const int64_t scale = 4;
    std::vector<uint8_t> big(pixels.size() * size_t(scale * scale));
    for (int64_t y = 0; y < image_h * scale; ++y)
      for (int64_t x = 0; x < image_w * scale; ++x)
        for (int c = 0; c < 3; ++c)
          big[size_t((y * image_w * scale + x) * 3 + c)] =
              pixels[size_t(((y / scale) * image_w + x / scale) * 3 + c)];
    const std::string path =
        (std::filesystem::path(dir) / ("sheet_block" + std::to_string(b) + ".png")).string();
    data::write_png(path, big.data(), image_h * scale, image_w * scale, 3);
    written.push_back(path);
  }
  return written;
}

}  // namespace cf
