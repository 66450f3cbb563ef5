#include "maglev_fill.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LBCTL_MAGLEV_AVX2 1
#endif

namespace lbctl {
namespace {

// Taken slots, one bit each: 8 KiB for 65,537 slots, so every probe hits L1
// (a byte per slot is 64 KiB, more than L1 holds).
class TakenSlots {
 public:
  explicit TakenSlots(uint32_t size) : words_((size + 31) / 32, 0) {}
  bool Test(int32_t slot) const { return (words_[slot >> 5] >> (slot & 31)) & 1; }
  void Set(int32_t slot) { words_[slot >> 5] |= 1u << (slot & 31); }
  const uint32_t* Words() const { return words_.data(); }

 private:
  std::vector<uint32_t> words_;
};

// One slot at a time along a backend's permutation.
class OneAtATime {
 public:
  OneAtATime(const MaglevBackends& backends, int32_t size)
      : skips_(backends.skips.data()), size_(size) {}
  // The first free slot after `slot` (which is taken) in backend i's walk.
  int32_t NextFree(const TakenSlots& taken, size_t i, int32_t slot) const {
    const int32_t skip = skips_[i];
    do {
      slot += skip;
      if (slot >= size_) slot -= size_;
    } while (taken.Test(slot));
    return slot;
  }

 private:
  const int32_t* skips_;
  int32_t size_;
};

#ifdef LBCTL_MAGLEV_AVX2
// Eight slots of the walk per step, with one gather of their bitmap words. The
// walk ends where a backend finds a free slot, at a point no predictor can
// guess: eight probes per branch make those ends eight times rarer in the long
// walks of a nearly full table, which is where most probes are.
class EightAtATime {
 public:
  EightAtATime(const MaglevBackends& backends, int32_t size)
      : multiples_(backends.skips.size() * 8), strides_(backends.skips.size()), size_(size) {
    for (size_t i = 0; i < backends.skips.size(); i++) {
      int64_t m = 0;
      for (size_t k = 0; k < 8; k++) {
        m = (m + backends.skips[i]) % size;
        multiples_[i * 8 + k] = static_cast<int32_t>(m);
      }
      strides_[i] = static_cast<int32_t>(m);
    }
  }

  // Not inlined into the portable loop: only this function needs AVX2.
  __attribute__((target("avx2"), noinline)) int32_t NextFree(const TakenSlots& taken, size_t i,
                                                             int32_t slot) const {
    const __m256i size = _mm256_set1_epi32(size_);
    const __m256i last = _mm256_set1_epi32(size_ - 1);
    const __m256i bitMask = _mm256_set1_epi32(31);
    // k × skip mod size for k = 1..8: the eight slots of the walk after `slot`.
    const __m256i steps =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&multiples_[i * 8]));
    const int* words = reinterpret_cast<const int*>(taken.Words());
    for (;;) {
      __m256i s = _mm256_add_epi32(_mm256_set1_epi32(slot), steps);
      s = _mm256_sub_epi32(s, _mm256_and_si256(_mm256_cmpgt_epi32(s, last), size));
      const __m256i word = _mm256_i32gather_epi32(words, _mm256_srli_epi32(s, 5), 4);
      const __m256i bit = _mm256_slli_epi32(_mm256_srlv_epi32(word, _mm256_and_si256(s, bitMask)), 31);
      const uint32_t takenMask =
          static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(bit)));
      if (takenMask != 0xff) {
        alignas(32) int32_t lanes[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
        return lanes[__builtin_ctz(~takenMask)];
      }
      slot += strides_[i];
      if (slot >= size_) slot -= size_;
    }
  }

 private:
  std::vector<int32_t> multiples_;
  // 8 × skip mod size per backend.
  std::vector<int32_t> strides_;
  int32_t size_;
};
#endif

// The same walk as src/dataplane/maglev.ts maglevTable(): each backend earns a
// turn per maxWeight of credit and takes the next free slot of its
// permutation. Kept step for step equal to it, so tables are identical (tests
// compare them with the textbook formula). `Walk` only changes how the next
// free slot is found, never which one.
template <typename Index, typename Walk>
void Fill(Index* table, const MaglevBackends& backends, uint32_t size, const Walk& walk) {
  const size_t n = backends.weights.size();
  const int32_t limit = static_cast<int32_t>(size);
  const int32_t* skips = backends.skips.data();
  const double* weights = backends.weights.data();
  std::vector<int32_t> slots(backends.offsets);
  std::vector<double> credit(n, 0);
  TakenSlots taken(size);
  double maxWeight = 0;
  for (double w : backends.weights)
    if (w > maxWeight) maxWeight = w;
  uint32_t placed = 0;
  while (placed < size) {
    for (size_t i = 0; i < n && placed < size; i++) {
      credit[i] += weights[i];
      if (credit[i] < maxWeight) continue;
      credit[i] -= maxWeight;
      int32_t slot = slots[i];
      if (taken.Test(slot)) slot = walk.NextFree(taken, i, slot);
      taken.Set(slot);
      table[slot] = static_cast<Index>(i);
      slot += skips[i];
      slots[i] = slot >= limit ? slot - limit : slot;
      placed++;
    }
  }
}

}  // namespace

bool MaglevWalkIsVectorized() {
#ifdef LBCTL_MAGLEV_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

template <typename Index>
void MaglevFillTable(Index* table, const MaglevBackends& backends, uint32_t size,
                     MaglevWalk walk) {
  const int32_t limit = static_cast<int32_t>(size);
#ifdef LBCTL_MAGLEV_AVX2
  if (walk == MaglevWalk::kFastest && MaglevWalkIsVectorized()) {
    Fill(table, backends, size, EightAtATime(backends, limit));
    return;
  }
#endif
  Fill(table, backends, size, OneAtATime(backends, limit));
}

template void MaglevFillTable<uint8_t>(uint8_t*, const MaglevBackends&, uint32_t, MaglevWalk);
template void MaglevFillTable<uint16_t>(uint16_t*, const MaglevBackends&, uint32_t, MaglevWalk);
template void MaglevFillTable<uint32_t>(uint32_t*, const MaglevBackends&, uint32_t, MaglevWalk);

}  // namespace lbctl
