// BpfRingBuffer: a reader of one BPF_MAP_TYPE_RINGBUF map (its own dup of the
// map's fd, mapped by libbpf). JS drains it on a timer: drain(maxBytes) returns
// the records written since the last call, so no event-loop watcher is needed.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fd_handle.h"

struct ring_buffer;

namespace lbctl {

class BpfRingBuffer : public FdHandle<BpfRingBuffer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new BpfRingBuffer(map): reads the ring-buffer map through its own dup of the map's fd.
  explicit BpfRingBuffer(const Napi::CallbackInfo& info);
  ~BpfRingBuffer() override;

  // What one drain collects: records as [u32 length][bytes], up to a byte budget.
  struct DrainState {
    std::vector<uint8_t> out;
    size_t budget = 0;
  };

 private:
  friend class FdHandle<BpfRingBuffer>;
  static constexpr const char* kClosedCode = code::kClosed;
  std::string Description() const { return "ring buffer " + name_; }
  void BeforeClose();
  Napi::Value Drain(const Napi::CallbackInfo& info);

  std::string name_;
  struct ring_buffer* ring_ = nullptr;
  DrainState state_;
};

}  // namespace lbctl
