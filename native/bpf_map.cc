#include "bpf_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "promise_worker.h"

namespace lbctl {
namespace {

bool IsPerCpu(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* what,
                                const std::string& operation) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    Throw(info.Env(), code::kInvalidArgument, operation,
          "Cannot " + operation + ": " + what + " must be a Buffer");
  }
  return info[i].As<Napi::Buffer<uint8_t>>();
}

// Entries per BPF_MAP_LOOKUP_BATCH call: large enough to amortise the syscall,
// small enough that one call never holds the map's RCU section for long.
constexpr uint32_t kBatchEntries = 4096;
// Per-CPU values are staged before they are summed: at most this many bytes
// of them per call (4096 entries of 56 bytes on 4 CPUs), whatever the CPU count.
constexpr size_t kStagingBytes = size_t{1} << 20;

// Looks up `count` consecutive entries of an array map (plain or per-CPU: the
// kernel's generic batch lookup serves both since 5.6) from index `first`,
// at most `perCall` per BPF_MAP_LOOKUP_BATCH call. Each call's values go to
// into(done), `valueBytes` per entry, and took(done, n) sees them. Stops at
// the map's end; returns the entries read, or sets *err to a failed call's errno.
template <typename Into, typename Took>
uint32_t LookupArrayBatches(int fd, uint32_t first, uint32_t count, uint32_t perCall, Into into,
                            Took took, int* err) {
  std::vector<uint32_t> keys(std::min(perCall, count));
  uint32_t done = 0;
  // The batch token is the last index read; reading from `first` starts after first - 1.
  uint32_t token = first == 0 ? 0 : first - 1;
  bool started = first != 0;
  while (done < count) {
    uint32_t n = std::min(perCall, count - done);
    uint32_t next = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int rc = bpf_map_lookup_batch(fd, started ? &token : nullptr, &next, keys.data(), into(done),
                                  &n, &opts);
    int e = rc == 0 ? 0 : errno;
    // A call that stops at the map's end (ENOENT) still returns what it read before.
    if (e == 0 || e == ENOENT) took(done, n);
    done += n;
    if (e == ENOENT) break;
    if (e != 0) {
      *err = e;
      return done;
    }
    token = next;
    started = true;
  }
  return done;
}

// Reads `count` consecutive entries of an array map from index `first` with
// batch lookups, on the thread pool: a full connection table (tens of MB)
// never blocks the event loop. Owns a dup of the map fd, so closing the map
// meanwhile cannot make it read another descriptor.
class ReadArrayWorker : public PromiseWorker {
 public:
  ReadArrayWorker(Napi::Env env, int fd, std::string name, uint32_t first, uint32_t count,
                  uint32_t valueSize)
      : PromiseWorker(env),
        fd_(fd),
        name_(std::move(name)),
        first_(first),
        count_(count),
        valueSize_(valueSize) {}

 protected:
  void Execute() override {
    out_.resize(static_cast<size_t>(count_) * valueSize_);
    uint32_t done = LookupArrayBatches(
        fd_.Get(), first_, count_, kBatchEntries,
        [&](uint32_t at) { return out_.data() + static_cast<size_t>(at) * valueSize_; },
        [](uint32_t, uint32_t) {}, &err_);
    out_.resize(static_cast<size_t>(done) * valueSize_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      RejectWith({code::kMapOperation, "bpf_map_lookup_batch",
                  "Cannot read entries of map " + name_ + ": " + Describe(err_), err_, {}, {}});
      return;
    }
    deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
  }

 private:
  UniqueFd fd_;
  std::string name_;
  uint32_t first_;
  uint32_t count_;
  uint32_t valueSize_;
  std::vector<uint8_t> out_;
  int err_ = 0;
};

// The (first, count) arguments of an array read, count cut at the map's end
// (`maxEntries`); `refuse` throws, naming what is wrong with them.
template <typename Refuse>
std::pair<uint32_t, uint32_t> ArrayRangeArgs(const Napi::CallbackInfo& info, uint32_t maxEntries,
                                             Refuse refuse) {
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    refuse("first and count must be numbers");
  }
  int64_t first = info[0].As<Napi::Number>().Int64Value();
  int64_t count = info[1].As<Napi::Number>().Int64Value();
  if (first < 0 || count < 0 || first > maxEntries) {
    refuse("range " + std::to_string(first) + "+" + std::to_string(count) + " is outside its " +
           std::to_string(maxEntries) + " entries");
  }
  return {static_cast<uint32_t>(first),
          static_cast<uint32_t>(std::min<int64_t>(count, maxEntries - first))};
}

// hi·2^64 + lo as the nearest double, ties to even, as Number() of a BigInt
// rounds: the top 64 bits, with any bit below them kept as a sticky low bit
// (far below the 53 bits a double keeps, so it only breaks ties the right way),
// converted once and scaled by a power of two, which is exact.
double NearestDouble(uint64_t hi, uint64_t lo) {
  if (hi == 0) return static_cast<double>(lo);
  const int shift = 64 - __builtin_clzll(hi);  // hi's bits: 1 to 64
  uint64_t top = shift == 64 ? hi : (hi << (64 - shift)) | (lo >> shift);
  const uint64_t below = shift == 64 ? lo : lo & ((uint64_t{1} << shift) - 1);
  if (below != 0) top |= 1;
  return std::ldexp(static_cast<double>(top), shift);
}

// Reads `count` consecutive entries of a per-CPU array whose values are u64
// fields and sums each field over the possible CPUs, on the thread pool: one
// double per field and entry, so JS decodes no per-CPU values (counters of
// tens of thousands of reals). Sums are exact before the one rounding to a
// double, as Number() of a BigInt sum rounds.
class ReadPerCpuSumsWorker : public PromiseWorker {
 public:
  ReadPerCpuSumsWorker(Napi::Env env, int fd, std::string name, uint32_t first, uint32_t count,
                       uint32_t valueSize, uint32_t cpus)
      : PromiseWorker(env),
        fd_(fd),
        name_(std::move(name)),
        first_(first),
        count_(count),
        fields_(valueSize / 8),
        cpus_(cpus) {}

 protected:
  void Execute() override {
    // valueSize is whole u64s, so a CPU's slot is the value itself, unpadded.
    const size_t entryBytes = static_cast<size_t>(fields_) * 8 * cpus_;
    const uint32_t perCall = static_cast<uint32_t>(
        std::clamp<size_t>(kStagingBytes / std::max<size_t>(entryBytes, 1), 1, kBatchEntries));
    std::vector<uint8_t> staging(std::min(perCall, count_) * entryBytes);
    out_.resize(static_cast<size_t>(count_) * fields_);
    uint32_t done = LookupArrayBatches(
        fd_.Get(), first_, count_, perCall, [&](uint32_t) { return staging.data(); },
        [&](uint32_t at, uint32_t n) { Sum(staging.data(), at, n); }, &err_);
    out_.resize(static_cast<size_t>(done) * fields_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      RejectWith({code::kMapOperation, "bpf_map_lookup_batch",
                  "Cannot read per-CPU sums of map " + name_ + ": " + Describe(err_), err_, {},
                  {}});
      return;
    }
    auto sums = Napi::Float64Array::New(env, out_.size());
    std::copy(out_.begin(), out_.end(), sums.Data());
    deferred_.Resolve(sums);
  }

 private:
  // Entries at..at+n-1, staged as entry by entry, CPU by CPU, field by field.
  void Sum(const uint8_t* staged, uint32_t at, uint32_t n) {
    for (uint32_t e = 0; e < n; e++) {
      const uint8_t* entry = staged + static_cast<size_t>(e) * fields_ * 8 * cpus_;
      for (uint32_t f = 0; f < fields_; f++) {
        // The exact sum as hi·2^64 + lo: per-CPU counts may add up past 2^64.
        uint64_t lo = 0;
        uint64_t hi = 0;
        for (uint32_t cpu = 0; cpu < cpus_; cpu++) {
          uint64_t v;
          std::memcpy(&v, entry + (static_cast<size_t>(cpu) * fields_ + f) * 8, 8);
          lo += v;
          hi += lo < v ? 1 : 0;
        }
        out_[(static_cast<size_t>(at) + e) * fields_ + f] = NearestDouble(hi, lo);
      }
    }
  }

  UniqueFd fd_;
  std::string name_;
  uint32_t first_;
  uint32_t count_;
  uint32_t fields_;
  uint32_t cpus_;
  std::vector<double> out_;
  int err_ = 0;
};

}  // namespace

void BpfMap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor =
      DefineClass(env, "BpfMap",
                  {
                      InstanceMethod<&BpfMap::Info>("info"),
                      InstanceMethod<&BpfMap::Lookup>("lookup"),
                      InstanceMethod<&BpfMap::Update>("update"),
                      InstanceMethod<&BpfMap::UpdateBatch>("updateBatch"),
                      InstanceMethod<&BpfMap::UpdateOffLoop>("updateOffLoop"),
                      InstanceMethod<&BpfMap::Delete>("delete"),
                      InstanceMethod<&BpfMap::NextKey>("nextKey"),
                      InstanceMethod<&BpfMap::ReadArray>("readArray"),
                      InstanceMethod<&BpfMap::ReadPerCpuSums>("readPerCpuSums"),
                      InstanceMethod<&BpfMap::Pin>("pin"),
                      InstanceMethod("dup", &BpfMap::Dup),
                      InstanceMethod("close", &BpfMap::Close),
                  });
  exports.Set("BpfMap", ctor);
}

BpfMap::BpfMap(const Napi::CallbackInfo& info) : FdHandle<BpfMap>(info) {
  Napi::Env env = info.Env();
  AdoptFdArgument(info, "map");
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  if (bpf_obj_get_info_by_fd(fd_.Get(), &mi, &len) != 0) {
    int err = errno;
    fd_.Reset();
    Throw(env, code::kInvalidArgument, "bpf_obj_get_info_by_fd",
          "Cannot open map: the descriptor is not a BPF map (" + Describe(err) + ")", err);
  }
  name_ = mi.name;
  type_ = mi.type;
  keySize_ = mi.key_size;
  valueSize_ = mi.value_size;
  maxEntries_ = mi.max_entries;
  flags_ = mi.map_flags;
  id_ = mi.id;
  perCpu_ = IsPerCpu(type_);
}

void BpfMap::Refuse(Napi::Env env, const char* operation, const std::string& why,
                    int err) const {
  Throw(env, code::kInvalidArgument, operation,
        std::string("Cannot ") + operation + " in map " + name_ + ": " + why, err);
}

void BpfMap::Fail(Napi::Env env, const char* call, const char* operation, const std::string& why,
                  int err) const {
  Throw(env, code::kMapOperation, call,
        std::string("Cannot ") + operation + " in map " + name_ + ": " + why, err);
}

void BpfMap::CheckSize(Napi::Env env, const char* operation, const char* what, size_t got,
                       size_t want) const {
  if (got != want) {
    Refuse(env, operation,
           std::string(what) + " is " + std::to_string(got) + " bytes, the map expects " +
               std::to_string(want));
  }
}

// The key argument (first), a Buffer of the map's key size.
Napi::Buffer<uint8_t> BpfMap::KeyArg(const Napi::CallbackInfo& info, const char* operation) const {
  auto key = BufferArg(info, 0, "key", operation);
  CheckSize(info.Env(), operation, "key", key.Length(), keySize_);
  return key;
}

// A descriptor of the map of its own, for a worker on the thread pool: closing
// the map meanwhile cannot make the worker use another descriptor.
int BpfMap::DupFd(Napi::Env env, int fd, const char* verb) const {
  int copy = dup(fd);
  if (copy < 0) {
    int err = errno;
    Throw(env, code::kMapOperation, "dup",
          std::string("Cannot ") + verb + " map " + name_ + ": " + Describe(err), err);
  }
  return copy;
}

size_t BpfMap::ValueBytes() const {
  if (!perCpu_) return valueSize_;
  // The kernel copies one 8-byte aligned slot per possible CPU.
  size_t slot = (valueSize_ + 7) & ~size_t{7};
  return slot * static_cast<size_t>(libbpf_num_possible_cpus());
}

Napi::Value BpfMap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fd(env, "read map info");
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name_);
  out.Set("type", type_);
  const char* typeName = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type_));
  out.Set("typeName", typeName != nullptr ? typeName : "unknown");
  out.Set("keySize", keySize_);
  out.Set("valueSize", valueSize_);
  out.Set("maxEntries", maxEntries_);
  out.Set("flags", flags_);
  out.Set("id", id_);
  out.Set("perCpu", perCpu_);
  return out;
}

// lookup(key) → Buffer | undefined
Napi::Value BpfMap::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "look up key";
  int fd = Fd(env, op);
  auto key = KeyArg(info, op);
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, ValueBytes());
  if (bpf_map_lookup_elem(fd, key.Data(), value.Data()) != 0) {
    int err = errno;
    if (err == ENOENT) return env.Undefined();
    Fail(env, "bpf_map_lookup_elem", op, Describe(err), err);
  }
  return value;
}

// The flags argument of update/updateBatch (BPF_ANY when absent).
static uint64_t UpdateFlagsArg(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsNumber()
             ? static_cast<uint64_t>(info[index].As<Napi::Number>().Int64Value())
             : uint64_t{BPF_ANY};
}

// Why an update failed, in the words of the update modes.
static std::string UpdateFailure(int err, uint32_t maxEntries) {
  if (err == EEXIST) return "the key already exists (update mode 'noexist')";
  if (err == ENOENT) return "the key does not exist (update mode 'exist')";
  if (err == E2BIG) return "the map is full (" + std::to_string(maxEntries) + " entries)";
  return Describe(err);
}

namespace {

// One part of an off-loop value: bytes copied as they are, or (lookup part,
// indexBytes 1, 2 or 4) one u32 per index taken from `values` — a Maglev
// table's backend indices turned into real ids on the pool thread.
struct ValuePart {
  const uint8_t* data;
  size_t length;
  uint32_t indexBytes = 0;
  const uint32_t* values = nullptr;
  size_t valueCount = 0;
  size_t OutputLength() const { return indexBytes == 0 ? length : length / indexBytes * 4; }
};

template <typename Index>
bool LookUp(const ValuePart& part, uint8_t* out) {
  const auto* indices = reinterpret_cast<const Index*>(part.data);
  auto* ids = reinterpret_cast<uint32_t*>(out);
  const size_t count = part.length / sizeof(Index);
  for (size_t i = 0; i < count; i++) {
    const Index index = indices[i];
    if (index >= part.valueCount) return false;
    ids[i] = part.values[index];
  }
  return true;
}

// Writes one value made of parts laid end to end and zero-padded to the value
// size, on the thread pool: a 256 KiB ring entry is copied and written without
// holding the event loop. Keeps the part buffers referenced (JS must not change
// them until the promise settles) and a dup of the map fd.
class UpdateWorker : public PromiseWorker {
 public:
  UpdateWorker(Napi::Env env, int fd, std::string name, std::vector<uint8_t> key,
               std::vector<ValuePart> parts,
               std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> refs, uint32_t valueSize,
               uint64_t flags, uint32_t maxEntries)
      : PromiseWorker(env),
        fd_(fd),
        name_(std::move(name)),
        key_(std::move(key)),
        parts_(std::move(parts)),
        refs_(std::move(refs)),
        valueSize_(valueSize),
        flags_(flags),
        maxEntries_(maxEntries) {}

 protected:
  void Execute() override {
    std::vector<uint8_t> value(valueSize_, 0);
    size_t at = 0;
    for (const auto& part : parts_) {
      bool ok = true;
      uint8_t* out = value.data() + at;
      if (part.indexBytes == 0) std::copy(part.data, part.data + part.length, out);
      else if (part.indexBytes == 1) ok = LookUp<uint8_t>(part, out);
      else if (part.indexBytes == 2) ok = LookUp<uint16_t>(part, out);
      else ok = LookUp<uint32_t>(part, out);
      if (!ok) {
        badIndex_ = true;
        return;
      }
      at += part.OutputLength();
    }
    if (bpf_map_update_elem(fd_.Get(), key_.data(), value.data(), flags_) != 0) err_ = errno;
  }
  void OnOK() override {
    refs_.clear();
    if (badIndex_) {
      RejectWith({code::kInvalidArgument, "update key",
                  "Cannot update key in map " + name_ +
                      ": a lookup part has an index past the end of its values",
                  EINVAL, {}, {}});
      return;
    }
    if (err_ != 0) {
      RejectWith({code::kMapOperation, "bpf_map_update_elem",
                  "Cannot update key in map " + name_ + ": " + UpdateFailure(err_, maxEntries_),
                  err_, {}, {}});
      return;
    }
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& error) override {
    refs_.clear();
    PromiseWorker::OnError(error);
  }

 private:
  UniqueFd fd_;
  std::string name_;
  std::vector<uint8_t> key_;
  std::vector<ValuePart> parts_;
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> refs_;
  uint32_t valueSize_;
  uint64_t flags_;
  uint32_t maxEntries_;
  int err_ = 0;
  bool badIndex_ = false;
};

}  // namespace

// update(key, value, flags)
Napi::Value BpfMap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "update key";
  int fd = Fd(env, op);
  auto key = KeyArg(info, op);
  auto value = BufferArg(info, 1, "value", op);
  uint64_t flags = UpdateFlagsArg(info, 2);
  CheckSize(env, op, "value", value.Length(), ValueBytes());
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), flags) != 0) {
    int err = errno;
    Fail(env, "bpf_map_update_elem", op, UpdateFailure(err, maxEntries_), err);
  }
  return env.Undefined();
}

// updateBatch(keys, values, flags): keys and values laid end to end, one
// BPF_MAP_UPDATE_BATCH syscall (kernel 5.6+) instead of one update per key.
Napi::Value BpfMap::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "update keys";
  int fd = Fd(env, op);
  auto keys = BufferArg(info, 0, "keys", op);
  auto values = BufferArg(info, 1, "values", op);
  uint64_t flags = UpdateFlagsArg(info, 2);
  const size_t count = keySize_ == 0 ? 0 : keys.Length() / keySize_;
  if (keys.Length() != count * keySize_ || values.Length() != count * ValueBytes()) {
    Refuse(env, op,
           std::to_string(keys.Length()) + " key bytes and " + std::to_string(values.Length()) +
               " value bytes are not whole entries of " + std::to_string(keySize_) + " and " +
               std::to_string(ValueBytes()) + " bytes",
           EINVAL);
  }
  if (count == 0) return env.Undefined();
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
  uint32_t done = static_cast<uint32_t>(count);
  if (bpf_map_update_batch(fd, keys.Data(), values.Data(), &done, &opts) != 0) {
    int err = errno;
    Throw(env, code::kMapOperation, "bpf_map_update_batch",
          "Cannot update keys in map " + name_ + " (" + std::to_string(done) + " of " +
              std::to_string(count) + " written): " + UpdateFailure(err, maxEntries_),
          err);
  }
  return env.Undefined();
}

// updateOffLoop(key, parts: (Buffer | { indices, indexBytes, values })[], flags) →
// Promise<void>: the parts laid end to end, zero-padded to the value size, written
// on the thread pool; a lookup part becomes values[indices[i]] as u32s. Plain maps only.
Napi::Value BpfMap::UpdateOffLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "update key";
  int fd = Fd(env, op);
  auto key = KeyArg(info, op);
  if (perCpu_) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot update key in map " + name_ + " off the event loop: it is a per-CPU map");
  }
  if (info.Length() < 2 || !info[1].IsArray()) {
    Refuse(env, op, "the value parts must be an array of Buffers");
  }
  auto array = info[1].As<Napi::Array>();
  std::vector<ValuePart> parts;
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> refs;
  size_t total = 0;
  auto refuse = [&](uint32_t i, const std::string& why) {
    Refuse(env, op, "value part " + std::to_string(i) + " " + why);
  };
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value part = array.Get(i);
    if (part.IsBuffer()) {
      auto bytes = part.As<Napi::Buffer<uint8_t>>();
      parts.push_back({bytes.Data(), bytes.Length()});
      refs.push_back(Napi::Persistent(bytes));
    } else if (part.IsObject()) {
      auto lookup = part.As<Napi::Object>();
      Napi::Value indices = lookup.Get("indices");
      Napi::Value values = lookup.Get("values");
      Napi::Value width = lookup.Get("indexBytes");
      if (!indices.IsBuffer() || !values.IsBuffer() || !width.IsNumber()) {
        refuse(i, "is neither a Buffer nor { indices: Buffer, indexBytes, values: Buffer }");
      }
      const uint32_t indexBytes = width.As<Napi::Number>().Uint32Value();
      auto indexBuffer = indices.As<Napi::Buffer<uint8_t>>();
      auto valueBuffer = values.As<Napi::Buffer<uint8_t>>();
      if ((indexBytes != 1 && indexBytes != 2 && indexBytes != 4) ||
          indexBuffer.Length() % indexBytes != 0 ||
          reinterpret_cast<uintptr_t>(indexBuffer.Data()) % indexBytes != 0 ||
          valueBuffer.Length() % 4 != 0 ||
          reinterpret_cast<uintptr_t>(valueBuffer.Data()) % 4 != 0) {
        refuse(i,
               "is a lookup part with misaligned or partial indices or values "
               "(1, 2 or 4-byte indices, u32 values)");
      }
      parts.push_back({indexBuffer.Data(), indexBuffer.Length(), indexBytes,
                       reinterpret_cast<const uint32_t*>(valueBuffer.Data()),
                       valueBuffer.Length() / 4});
      refs.push_back(Napi::Persistent(indexBuffer));
      refs.push_back(Napi::Persistent(valueBuffer));
    } else {
      refuse(i, "is not a Buffer");
    }
    total += parts.back().OutputLength();
  }
  if (total > valueSize_) {
    Refuse(env, op,
           "the value parts are " + std::to_string(total) + " bytes, the map expects at most " +
               std::to_string(valueSize_));
  }
  uint64_t flags = UpdateFlagsArg(info, 2);
  int copy = DupFd(env, fd, "update");
  auto* worker =
      new UpdateWorker(env, copy, name_, std::vector<uint8_t>(key.Data(), key.Data() + key.Length()),
                       std::move(parts), std::move(refs), valueSize_, flags, maxEntries_);
  return worker->Start();
}

// delete(key) → boolean (false when the key was absent)
Napi::Value BpfMap::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "delete key";
  int fd = Fd(env, op);
  auto key = KeyArg(info, op);
  if (bpf_map_delete_elem(fd, key.Data()) != 0) {
    int err = errno;
    if (err == ENOENT) return Napi::Boolean::New(env, false);
    std::string reason = Describe(err);
    if (err == EINVAL && (type_ == BPF_MAP_TYPE_ARRAY || type_ == BPF_MAP_TYPE_PERCPU_ARRAY)) {
      reason = "array map entries cannot be deleted, only overwritten";
    }
    Fail(env, "bpf_map_delete_elem", op, reason, err);
  }
  return Napi::Boolean::New(env, true);
}

// nextKey(key | null) → Buffer | undefined (undefined after the last key)
Napi::Value BpfMap::NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "iterate keys";
  int fd = Fd(env, op);
  const void* current = nullptr;
  if (info.Length() > 0 && info[0].IsBuffer()) {
    auto key = info[0].As<Napi::Buffer<uint8_t>>();
    CheckSize(env, op, "key", key.Length(), keySize_);
    current = key.Data();
  }
  Napi::Buffer<uint8_t> next = Napi::Buffer<uint8_t>::New(env, keySize_);
  if (bpf_map_get_next_key(fd, current, next.Data()) != 0) {
    int err = errno;
    if (err == ENOENT) return env.Undefined();
    Throw(env, code::kMapOperation, "bpf_map_get_next_key",
          "Cannot iterate keys of map " + name_ + ": " + Describe(err), err);
  }
  return next;
}

// readArray(first, count) → Promise<Buffer>: values of indexes first..first+count-1
// of an array map, concatenated (fewer when the map ends first).
Napi::Value BpfMap::ReadArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "read array entries";
  int fd = Fd(env, op);
  auto refuse = [&](const std::string& why) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot read array entries of map " + name_ + ": " + why);
  };
  if (type_ != BPF_MAP_TYPE_ARRAY) refuse("it is not a plain array map");
  auto [first, n] = ArrayRangeArgs(info, maxEntries_, refuse);
  int copy = DupFd(env, fd, "read");
  auto* worker = new ReadArrayWorker(env, copy, name_, first, n, valueSize_);
  return worker->Start();
}

// readPerCpuSums(first, count) → Promise<Float64Array>: for indexes
// first..first+count-1 of a per-CPU array of u64 fields (fewer when the map ends
// first), each field summed over the possible CPUs, fields of an entry in order.
Napi::Value BpfMap::ReadPerCpuSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "read per-CPU sums";
  int fd = Fd(env, op);
  auto refuse = [&](const std::string& why) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot read per-CPU sums of map " + name_ + ": " + why);
  };
  if (type_ != BPF_MAP_TYPE_PERCPU_ARRAY) refuse("it is not a per-CPU array map");
  if (valueSize_ % 8 != 0) {
    refuse("its " + std::to_string(valueSize_) + "-byte values are not whole u64 fields");
  }
  auto [first, n] = ArrayRangeArgs(info, maxEntries_, refuse);
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    Throw(env, code::kMapOperation, "libbpf_num_possible_cpus",
          "Cannot read per-CPU sums of map " + name_ + ": the possible CPUs are unknown (" +
              Describe(-cpus) + ")",
          -cpus);
  }
  int copy = DupFd(env, fd, "read");
  auto* worker = new ReadPerCpuSumsWorker(env, copy, name_, first, n, valueSize_,
                                          static_cast<uint32_t>(cpus));
  return worker->Start();
}

Napi::Value BpfMap::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "pin map";
  int fd = Fd(env, op);
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kInvalidArgument, op, "Cannot pin map: path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    Throw(env, code::kPin, "bpf_obj_pin",
          "Cannot pin map " + name_ + " at " + path + ": " + Describe(err), err);
  }
  return env.Undefined();
}

}  // namespace lbctl
