// The model registry: every architecture is built by name from a flat
// key=value Config (DESIGN.md). A model joins with one line in
// builtin_models() (nn/registry.cpp), or at run time with register_model:
//
//   register_model("vit_lite_cpu", "ViT-Lite, D 128, 6 blocks",
//                  VisionTransformer::vit_config(128, 6, 4, 2.0),
//                  VisionTransformer::create);
//
//   std::unique_ptr<Model> m = build_model("vit_lite_cpu", Config().set("depth", 2));
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/config.h"
#include "nn/model.h"

namespace cf {

// Builds a model from a config holding every key of its defaults.
using ModelFactory = std::function<std::unique_ptr<Model>(const Config&)>;

struct ModelInfo {
  std::string name;
  std::string description;  // one line
  Config defaults;          // every key the model reads, with default and doc
  ModelFactory factory;
};

// Adds a model; a name that is already registered is an error.
void register_model(const std::string& name, const std::string& description,
                    const Config& defaults, ModelFactory factory);
std::vector<std::string> model_names();  // in registration order
// An unknown name is an error that suggests the closest and lists them all.
const ModelInfo& model_info(const std::string& name);
// The model with `overrides` laid over its defaults. A key the model does
// not have is an error naming it, suggesting the closest and listing all.
std::unique_ptr<Model> build_model(const std::string& name, const Config& overrides = {});
// A listing for the command line: the model, its description, then one line
// per key: name, default, doc.
std::string model_help(const std::string& name);

}  // namespace cf
