// CIFAR-10 and CIFAR-100 in their official binary releases
// (cifar-10-batches-bin/, cifar-100-binary/).
//
// A batch file is a sequence of fixed-size records: the label byte(s), then
// 1,024 red, 1,024 green and 1,024 blue bytes, each plane row-major 32x32.
// CIFAR-10 records have 1 label byte (3,073 bytes); CIFAR-100 records have 2,
// the coarse (20 superclasses) then the fine (100 classes) label (3,074 bytes).
// The readers turn the planes into the HWC layout of data/dataset.h.
#pragma once
#include <string>

#include "data/dataset.h"

namespace cf::data {

enum class Split { train, test };
enum class Cifar100Labels { coarse, fine };

// dir = cifar-10-batches-bin/: train reads data_batch_1.bin .. data_batch_5.bin,
// test reads test_batch.bin. Class names come from batches.meta.txt when it is
// there, else the official ten names.
ImageSet read_cifar10(const std::string& dir, Split split);

// dir = cifar-100-binary/: train.bin or test.bin. Class names come from
// coarse_label_names.txt / fine_label_names.txt when present, else "0".."99".
ImageSet read_cifar100(const std::string& dir, Split split,
                       Cifar100Labels labels = Cifar100Labels::fine);

// One batch file appended to `set` (which must be empty or 32x32x3).
// `label_bytes` is 1 or 2; the label used is byte `label_index` of each
// record and must be below `num_classes`. Errors name the file and the
// record and offset at fault.
void append_cifar_batch(const std::string& path, int label_bytes, int label_index,
                        int64_t num_classes, ImageSet& set);
// The same from the `size` bytes of a batch file in memory; `name` names it
// in error messages.
void append_cifar_batch_memory(const uint8_t* data, size_t size, const std::string& name,
                               int label_bytes, int label_index, int64_t num_classes,
                               ImageSet& set);

// The official CIFAR-10 class names, in label order (airplane .. truck).
const std::vector<std::string>& cifar10_class_names();

// Non-empty lines of a text file, trimmed; an empty list if it is absent.
std::vector<std::string> read_class_names(const std::string& path);

}  // namespace cf::data
