// The weighted Maglev fill itself (no N-API): maglev.cc runs it on the thread pool.
#pragma once

#include <cstdint>
#include <vector>

namespace lbctl {

// The live backends in table order: where each one's permutation starts, its
// step (both < size) and its weight (> 0).
struct MaglevBackends {
  std::vector<int32_t> offsets;
  std::vector<int32_t> skips;
  std::vector<double> weights;
};

// How the walk looks for a backend's next free slot: eight slots at a time with
// AVX2 gathers where the CPU has them, else one at a time. Same table either way.
enum class MaglevWalk { kFastest, kOneAtATime };

// Writes every slot's backend index (its position in `backends`) into `table`,
// `size` entries. `size` is prime and `backends` is not empty.
template <typename Index>
void MaglevFillTable(Index* table, const MaglevBackends& backends, uint32_t size,
                     MaglevWalk walk = MaglevWalk::kFastest);

// Whether kFastest uses AVX2 on this CPU.
bool MaglevWalkIsVectorized();

}  // namespace lbctl
