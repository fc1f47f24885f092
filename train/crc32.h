// CRC-32 (the IEEE polynomial of zlib, PNG and Ethernet), so a checkpoint
// damaged on disk or copied in part is recognised on load instead of
// silently giving other weights.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cf {

// The CRC of `size` bytes, continuing from `crc` (0 to start): crc32(ab) ==
// crc32(b, crc32(a)). crc32("123456789", 9) == 0xCBF43926.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace cf
