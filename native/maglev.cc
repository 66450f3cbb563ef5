#include "maglev.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "maglev_fill.h"
#include "promise_worker.h"

namespace lbctl {
namespace {

// A fill runs at this nice value or lower priority: on a two-core director the
// pool's fills would otherwise take the core the event loop (VRRP's timers)
// needs, and the loop waited for a core about as long as it ran.
constexpr int kFillNice = 10;

// Lowers the calling pool thread's priority for one fill and restores it after.
// Per thread (Linux nice is per task); a restore that is refused (no
// CAP_SYS_NICE) leaves the thread lowered, which only slows later pool work.
class LowerPriority {
 public:
  LowerPriority() {
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid_);
    if (errno != 0 || current >= kFillNice) return;
    if (setpriority(PRIO_PROCESS, tid_, kFillNice) == 0) previous_ = current;
  }
  ~LowerPriority() {
    if (previous_ != kUnchanged) setpriority(PRIO_PROCESS, tid_, previous_);
  }
  LowerPriority(const LowerPriority&) = delete;
  LowerPriority& operator=(const LowerPriority&) = delete;

 private:
  static constexpr int kUnchanged = 100;
  const id_t tid_ = static_cast<id_t>(syscall(SYS_gettid));
  int previous_ = kUnchanged;
};

// A Maglev fill (native/maglev_fill.cc) on the thread pool. A slot holds the
// backend's index in the sorted list, not its id: services with the same
// backends share one fill (src/dataplane/maglev-fills.ts) and the ring write
// turns indices into ids (BpfMap.updateOffLoop's lookup part).
class MaglevWorker : public PromiseWorker {
 public:
  MaglevWorker(Napi::Env env, MaglevBackends backends, uint32_t size, uint32_t indexBytes,
               MaglevWalk walk)
      : PromiseWorker(env),
        backends_(std::move(backends)),
        size_(size),
        indexBytes_(indexBytes),
        walk_(walk) {}

 protected:
  // Every allocation of the table's size happens here, on the pool thread: its page
  // faults alone cost the event loop about half a millisecond per table.
  void Execute() override {
    LowerPriority background;
    table_.assign(static_cast<size_t>(size_) * indexBytes_, 0);
    if (backends_.weights.empty()) return;
    if (indexBytes_ == 1)
      MaglevFillTable(reinterpret_cast<uint8_t*>(table_.data()), backends_, size_, walk_);
    else if (indexBytes_ == 2)
      MaglevFillTable(reinterpret_cast<uint16_t*>(table_.data()), backends_, size_, walk_);
    else
      MaglevFillTable(reinterpret_cast<uint32_t*>(table_.data()), backends_, size_, walk_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    // The buffer takes over the table's memory: no copy on the event loop.
    auto* table = new std::vector<uint8_t>(std::move(table_));
    deferred_.Resolve(Napi::Buffer<uint8_t>::New(
        env, table->data(), table->size(),
        [](Napi::Env, uint8_t*, std::vector<uint8_t>* owned) { delete owned; }, table));
  }

 private:
  MaglevBackends backends_;
  uint32_t size_;
  uint32_t indexBytes_;
  MaglevWalk walk_;
  std::vector<uint8_t> table_;
};

template <typename T, typename Array>
std::vector<T> Copy(const Array& a) {
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}

// maglevFill(offsets: Int32Array, skips: Int32Array, weights: Float64Array,
//            size: number, indexBytes: 1 | 2 | 4, oneAtATime?: boolean): Promise<Buffer>
// — per slot, the index of its backend in the arrays, host-endian, indexBytes
// each. oneAtATime forces the portable walk (tests compare both walks).
Napi::Value MaglevFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsTypedArray() ||
      !info[2].IsTypedArray() || !info[3].IsNumber() || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "maglevFill(offsets, skips, weights, size, indexBytes)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto offsets = info[0].As<Napi::Int32Array>();
  auto skips = info[1].As<Napi::Int32Array>();
  auto weights = info[2].As<Napi::Float64Array>();
  const uint32_t size = info[3].As<Napi::Number>().Uint32Value();
  const uint32_t indexBytes = info[4].As<Napi::Number>().Uint32Value();
  const size_t n = weights.ElementLength();
  const uint64_t indexLimit =
      indexBytes == 1 ? 1ull << 8 : indexBytes == 2 ? 1ull << 16 : 1ull << 32;
  bool valid = size >= 2 && size < (1u << 30) && offsets.ElementLength() == n &&
               skips.ElementLength() == n &&
               (indexBytes == 1 || indexBytes == 2 || indexBytes == 4) && n <= indexLimit;
  for (size_t i = 0; valid && i < n; i++) {
    valid = offsets[i] >= 0 && static_cast<uint32_t>(offsets[i]) < size && skips[i] >= 1 &&
            static_cast<uint32_t>(skips[i]) < size && weights[i] > 0;
  }
  if (!valid) {
    Napi::RangeError::New(env,
                          "maglevFill: inconsistent backend arrays, table size or index width")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const MaglevWalk walk = info.Length() > 5 && info[5].ToBoolean().Value()
                             ? MaglevWalk::kOneAtATime
                             : MaglevWalk::kFastest;
  auto* worker = new MaglevWorker(
      env, MaglevBackends{Copy<int32_t>(offsets), Copy<int32_t>(skips), Copy<double>(weights)},
      size, indexBytes, walk);
  return worker->Start();
}

// maglevFree(placement: Buffer): void — frees a placement's memory now (the
// Buffer becomes empty) instead of at the garbage collection that finds it
// unused: a pass replaces hundreds of 64 KiB tables, which V8 would count as
// external memory until a mark-compact. Only a Buffer that is a whole
// ArrayBuffer (as maglevFill makes them) is freed; anything else is refused.
Napi::Value MaglevFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "maglevFree(placement)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto placement = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::ArrayBuffer memory = placement.ArrayBuffer();
  if (memory.IsDetached()) return env.Undefined();
  if (placement.ByteOffset() != 0 || memory.ByteLength() != placement.ByteLength()) {
    Napi::RangeError::New(env, "maglevFree: not a placement made by maglevFill")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  try {
    memory.Detach();
  } catch (const Napi::Error&) {
    Napi::RangeError::New(env, "maglevFree: not a placement made by maglevFill")
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

void InitMaglev(Napi::Env env, Napi::Object exports) {
  exports.Set("maglevFill", Napi::Function::New(env, MaglevFill, "maglevFill"));
  exports.Set("maglevFree", Napi::Function::New(env, MaglevFree, "maglevFree"));
}

}  // namespace lbctl
