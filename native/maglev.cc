#include "maglev.h"

#include <cstdint>
#include <vector>

namespace lbctl {
namespace {

// The same walk as src/dataplane/maglev.ts maglevTable() after the backends are
// sorted and hashed: each backend earns a turn per maxWeight of credit and takes
// the next free slot of its permutation. Kept step for step equal to the JS
// version, so tables are identical (a test compares them).
class MaglevWorker : public Napi::AsyncWorker {
 public:
  MaglevWorker(Napi::Env env, std::vector<int32_t> slots, std::vector<int32_t> skips,
               std::vector<double> weights, std::vector<uint32_t> ids, uint32_t size)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        slots_(std::move(slots)),
        skips_(std::move(skips)),
        weights_(std::move(weights)),
        ids_(std::move(ids)),
        size_(size) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  // Every allocation of the table's size happens here, on the pool thread: its page
  // faults alone cost the event loop about half a millisecond per table.
  void Execute() override {
    table_.assign(size_, 0);
    const size_t n = ids_.size();
    if (n == 0) return;
    const int32_t size = static_cast<int32_t>(size_);
    std::vector<uint8_t> filled(size_, 0);
    std::vector<double> credit(n, 0);
    double maxWeight = 0;
    for (double w : weights_)
      if (w > maxWeight) maxWeight = w;
    uint32_t placed = 0;
    while (placed < size_) {
      for (size_t i = 0; i < n && placed < size_; i++) {
        credit[i] += weights_[i];
        if (credit[i] < maxWeight) continue;
        credit[i] -= maxWeight;
        const int32_t skip = skips_[i];
        int32_t slot = slots_[i];
        while (filled[slot] == 1) {
          slot += skip;
          if (slot >= size) slot -= size;
        }
        filled[slot] = 1;
        table_[slot] = ids_[i];
        slot += skip;
        slots_[i] = slot >= size ? slot - size : slot;
        placed++;
      }
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    // The buffer takes over the table's memory: no copy on the event loop.
    auto* table = new std::vector<uint32_t>(std::move(table_));
    deferred_.Resolve(Napi::Buffer<uint8_t>::New(
        env, reinterpret_cast<uint8_t*>(table->data()), table->size() * sizeof(uint32_t),
        [](Napi::Env, uint8_t*, std::vector<uint32_t>* owned) { delete owned; }, table));
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<int32_t> slots_;
  std::vector<int32_t> skips_;
  std::vector<double> weights_;
  std::vector<uint32_t> ids_;
  uint32_t size_;
  std::vector<uint32_t> table_;
};

template <typename T, typename Array>
std::vector<T> Copy(const Array& a) {
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}

// maglevFill(offsets: Int32Array, skips: Int32Array, weights: Float64Array,
//            ids: Uint32Array, size: number): Promise<Buffer> (size host-endian u32s).
Napi::Value MaglevFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsTypedArray() ||
      !info[2].IsTypedArray() || !info[3].IsTypedArray() || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "maglevFill(offsets, skips, weights, ids, size)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto offsets = info[0].As<Napi::Int32Array>();
  auto skips = info[1].As<Napi::Int32Array>();
  auto weights = info[2].As<Napi::Float64Array>();
  auto ids = info[3].As<Napi::Uint32Array>();
  const uint32_t size = info[4].As<Napi::Number>().Uint32Value();
  const size_t n = ids.ElementLength();
  bool valid = size >= 2 && size < (1u << 30) && offsets.ElementLength() == n &&
               skips.ElementLength() == n && weights.ElementLength() == n;
  for (size_t i = 0; valid && i < n; i++) {
    valid = offsets[i] >= 0 && static_cast<uint32_t>(offsets[i]) < size && skips[i] >= 1 &&
            static_cast<uint32_t>(skips[i]) < size && weights[i] > 0;
  }
  if (!valid) {
    Napi::RangeError::New(env, "maglevFill: inconsistent backend arrays or table size")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new MaglevWorker(env, Copy<int32_t>(offsets), Copy<int32_t>(skips),
                                  Copy<double>(weights), Copy<uint32_t>(ids), size);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitMaglev(Napi::Env env, Napi::Object exports) {
  exports.Set("maglevFill", Napi::Function::New(env, MaglevFill, "maglevFill"));
}

}  // namespace lbctl
