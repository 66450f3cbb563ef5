#include "bpf_ring_buffer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>

#include <cstdint>
#include <vector>

#include "bpf_map.h"
#include "errors.h"

namespace lbctl {
namespace {

// Stops the drain once the budget is spent; libbpf has consumed the record
// that crossed it already, so it is kept (the budget is soft by one record).
constexpr int kBudgetSpent = -EFBIG;

int Collect(void* ctx, void* data, size_t size) {
  auto* state = static_cast<BpfRingBuffer::DrainState*>(ctx);
  uint32_t len = static_cast<uint32_t>(size);
  const auto* bytes = static_cast<const uint8_t*>(data);
  size_t at = state->out.size();
  state->out.resize(at + sizeof(len) + size);
  memcpy(state->out.data() + at, &len, sizeof(len));
  memcpy(state->out.data() + at + sizeof(len), bytes, size);
  return state->out.size() >= state->budget ? kBudgetSpent : 0;
}

}  // namespace

void BpfRingBuffer::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "BpfRingBuffer",
                                    {
                                        InstanceMethod<&BpfRingBuffer::Drain>("drain"),
                                        InstanceMethod("close", &BpfRingBuffer::Close),
                                    });
  exports.Set("BpfRingBuffer", ctor);
}

BpfRingBuffer::BpfRingBuffer(const Napi::CallbackInfo& info) : FdHandle<BpfRingBuffer>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Throw(env, code::kInvalidArgument, "open ring buffer",
          "Cannot open ring buffer: expected a BpfMap");
  }
  // Its own descriptor, so closing the map and the reader stay independent.
  int mapFd = BpfMap::Unwrap(info[0].As<Napi::Object>())->Fd(env, "open ring buffer");
  int fd = fcntl(mapFd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kSystem, "fcntl", "Cannot open ring buffer: " + Describe(err), err);
  }
  fd_.Reset(fd);
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  if (bpf_obj_get_info_by_fd(fd_.Get(), &mi, &len) != 0 || mi.type != BPF_MAP_TYPE_RINGBUF) {
    fd_.Reset();
    Throw(env, code::kInvalidArgument, "open ring buffer",
          "Cannot open ring buffer: the descriptor is not a BPF ring-buffer map");
  }
  name_ = mi.name;
  ring_ = ring_buffer__new(fd_.Get(), Collect, &state_, nullptr);
  if (ring_ == nullptr) {
    int err = errno;
    fd_.Reset();
    Throw(env, code::kMapOperation, "ring_buffer__new",
          "Cannot open ring buffer " + name_ + ": " + Describe(err), err);
  }
}

BpfRingBuffer::~BpfRingBuffer() { BeforeClose(); }

void BpfRingBuffer::BeforeClose() {
  if (ring_ != nullptr) ring_buffer__free(ring_);
  ring_ = nullptr;
}

// drain(maxBytes) → Buffer of [u32 little-endian length][record] ...
Napi::Value BpfRingBuffer::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "drain ring buffer";
  Fd(env, op);
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kInvalidArgument, op, "Cannot drain ring buffer: expected (maxBytes)");
  }
  state_.out.clear();
  state_.budget = info[0].As<Napi::Number>().Uint32Value();
  int rc = ring_buffer__consume(ring_);
  if (rc < 0 && rc != kBudgetSpent) {
    Throw(env, code::kMapOperation, "ring_buffer__consume",
          "Cannot drain ring buffer " + name_ + ": " + Describe(-rc), -rc);
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, state_.out.data(), state_.out.size());
  state_.out.clear();
  return out;
}

}  // namespace lbctl
