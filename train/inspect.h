// Pictures of what a trained model attends to: each block's attention map
// (H heads of N x N: row = query token, column = key token) for one image,
// written as PNG files with a colour scale stretched between the map's
// minimum and maximum, one file per block and head.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "nn/geometry.h"

namespace cf {

// `maps` as Model::attention_maps() returns them ((B, H, N, N) or (1, H, N, N)
// each); writes <dir>/block<b>_head<h>.png for batch entry `index`, each cell
// `cell` pixels wide. Returns the paths written.
std::vector<std::string> write_attention_pngs(const std::vector<Tensor>& maps, int64_t index,
                                              const std::string& dir, int cell = 4);

// For a model whose columns sit on a cortical sheet (the Columnformer): each
// map laid out on the sheet, heads averaged. The picture is a grid of tiles,
// one per query column placed where that column sits on its sheet; inside a
// tile, each key column's attention weight is drawn where the key sits.
// Stacked sheets are drawn side by side. Writes <dir>/sheet_block<b>.png.
std::vector<std::string> write_sheet_pngs(const std::vector<Tensor>& maps, const Geometry& geometry,
                                          int64_t index, const std::string& dir);

// A value in [0, 1] as an RGB colour from dark blue through teal to yellow
// (perceptually ordered, like viridis).
void colour_scale(float t, uint8_t rgb[3]);

}  // namespace cf
