// Pictures of what a trained model attends to: each block's attention map
// (H heads of N x N: row = query token, column = key token) for one image,
// written as PNG files with a colour scale stretched between the map's
// minimum and maximum, one file per block and head.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

// `maps` as Model::attention_maps() returns them ((B, H, N, N) or (1, H, N, N)
// each); writes <dir>/block<b>_head<h>.png for batch entry `index`, each cell
// `cell` pixels wide. Returns the paths written.
std::vector<std::string> write_attention_pngs(const std::vector<Tensor>& maps, int64_t index,
                                              const std::string& dir, int cell = 4);

// A value in [0, 1] as an RGB colour from dark blue through teal to yellow
// (perceptually ordered, like viridis).
void colour_scale(float t, uint8_t rgb[3]);

}  // namespace cf
