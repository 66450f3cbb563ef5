#include "bpf_object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <cstring>

#include "errors.h"
#include "libbpf_log.h"
#include "promise_worker.h"
#include "unique_fd.h"

namespace lbctl {
namespace {

// Verifier logs of large programs run to megabytes; 8 MiB keeps the whole
// message for anything we ship while staying well under the kernel's limit.
constexpr size_t kVerifierLogBytes = 8 * 1024 * 1024;

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what,
                      const char* operation) {
  if (info.Length() <= i || !info[i].IsString()) {
    Throw(info.Env(), code::kInvalidArgument, operation,
          std::string("Cannot ") + operation + ": " + what + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

int DupFd(Napi::Env env, int fd, const char* operation) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    int err = errno;
    Throw(env, code::kSystem, operation, std::string("Cannot ") + operation + ": " + Describe(err),
          err);
  }
  return copy;
}

}  // namespace

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, BpfObject* owner) : PromiseWorker(env), owner_(owner) {
    ownerRef_ = Napi::Persistent(owner->Value());
  }

 protected:
  void Execute() override {
    LibbpfLogCapture capture;
    int err = bpf_object__load(owner_->obj_);
    if (err != 0) {
      err_ = err < 0 ? -err : err;
      libbpfLog_ = capture.Text();
    }
  }
  void OnOK() override {
    owner_->loading_ = false;
    if (err_ == 0) {
      owner_->loaded_ = true;
      deferred_.Resolve(Env().Undefined());
      return;
    }
    ErrorInfo e;
    e.code = code::kLoadFailed;
    e.operation = "bpf_object__load";
    e.err = err_;
    e.libbpfLog = libbpfLog_;
    if (!owner_->verifierLog_.empty()) {
      e.verifierLog = std::string(owner_->verifierLog_.data());
    }
    std::string reason = Describe(err_);
    if (!e.verifierLog.empty()) reason += "; the verifier log says why";
    e.message = "Cannot load BPF object " + owner_->path_ + ": " + reason;
    RejectWith(e);
  }
  void OnError(const Napi::Error& error) override {
    owner_->loading_ = false;
    PromiseWorker::OnError(error);
  }

 private:
  BpfObject* owner_;
  Napi::ObjectReference ownerRef_;  // keeps the JS object alive while loading
  int err_ = 0;
  std::string libbpfLog_;
};

void BpfObject::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "BpfObject",
      {
          InstanceMethod<&BpfObject::RodataVariables>("rodataVariables"),
          InstanceMethod<&BpfObject::SetRodata>("setRodata"),
          InstanceMethod<&BpfObject::SetMaxEntries>("setMaxEntries"),
          InstanceMethod<&BpfObject::ReusePinnedMap>("reusePinnedMap"),
          InstanceMethod<&BpfObject::SetPinPath>("setPinPath"),
          InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
          InstanceMethod<&BpfObject::Load>("load"),
          InstanceMethod<&BpfObject::ProgramNames>("programNames"),
          InstanceMethod<&BpfObject::MapNames>("mapNames"),
          InstanceMethod<&BpfObject::BtfStruct>("btfStruct"),
          InstanceMethod<&BpfObject::ProgramFd>("programFd"),
          InstanceMethod<&BpfObject::MapFd>("mapFd"),
          InstanceMethod<&BpfObject::Close>("close"),
          InstanceMethod<&BpfObject::IsLoaded>("isLoaded"),
      });
  exports.Set("BpfObject", ctor);
}

// new BpfObject(path, pinRoot?)
BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  path_ = StringArg(info, 0, "path", "open BPF object");
  if (info.Length() > 1 && info[1].IsString()) pinRoot_ = info[1].As<Napi::String>().Utf8Value();

  verifierLog_.assign(kVerifierLogBytes, '\0');
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  opts.kernel_log_buf = verifierLog_.data();
  opts.kernel_log_size = verifierLog_.size();
  opts.kernel_log_level = 0;  // libbpf retries with level 1 on failure
  if (!pinRoot_.empty()) opts.pin_root_path = pinRoot_.c_str();

  LibbpfLogCapture capture;
  obj_ = bpf_object__open_file(path_.c_str(), &opts);
  if (obj_ == nullptr) {
    int err = errno;
    ErrorInfo e{code::kOpenFailed, "bpf_object__open_file",
                "Cannot open BPF object " + path_ + ": " + Describe(err), err, {}, capture.Text()};
    throw MakeError(env, e);
  }
}

BpfObject::~BpfObject() {
  // A load in flight keeps a reference to this object, so it cannot be
  // collected while loading; closing here is always safe.
  if (obj_ != nullptr) bpf_object__close(obj_);
}

struct bpf_object* BpfObject::Require(Napi::Env env, const char* operation) {
  if (obj_ == nullptr) {
    Throw(env, code::kClosed, operation,
          std::string("Cannot ") + operation + ": BPF object " + path_ + " is closed");
  }
  return obj_;
}

struct bpf_object* BpfObject::RequireUnloaded(Napi::Env env, const char* operation) {
  Require(env, operation);
  if (loaded_ || loading_) {
    Throw(env, code::kAlreadyLoaded, operation,
          std::string("Cannot ") + operation + ": BPF object " + path_ +
              " is already loaded; configure it before load()");
  }
  return obj_;
}

struct bpf_map* BpfObject::FindMap(Napi::Env env, const char* operation, const std::string& name) {
  struct bpf_map* map = bpf_object__find_map_by_name(Require(env, operation), name.c_str());
  if (map == nullptr) {
    Throw(env, code::kNotFound, operation,
          std::string("Cannot ") + operation + ": BPF object " + path_ + " has no map named '" +
              name + "'",
          ENOENT);
  }
  return map;
}

struct bpf_map* BpfObject::RodataMap() {
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj_) {
    if (!bpf_map__is_internal(map)) continue;
    const char* name = bpf_map__name(map);
    size_t len = strlen(name);
    if (len >= 7 && strcmp(name + len - 7, ".rodata") == 0) return map;
  }
  return nullptr;
}

// [{ name, offset, size }] for every variable in .rodata, from BTF.
Napi::Value BpfObject::RodataVariables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = Require(env, "list rodata variables");
  Napi::Array out = Napi::Array::New(env);
  struct btf* btf = bpf_object__btf(obj);
  if (btf == nullptr) return out;
  int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (id < 0) return out;
  const struct btf_type* sec = btf__type_by_id(btf, id);
  const struct btf_var_secinfo* vsi = btf_var_secinfos(sec);
  for (unsigned i = 0; i < btf_vlen(sec); i++, vsi++) {
    const struct btf_type* var = btf__type_by_id(btf, vsi->type);
    Napi::Object v = Napi::Object::New(env);
    v.Set("name", btf__name_by_offset(btf, var->name_off));
    v.Set("offset", vsi->offset);
    v.Set("size", vsi->size);
    out.Set(i, v);
  }
  return out;
}

// setRodata(offset, bytes): writes into the .rodata image before load.
Napi::Value BpfObject::SetRodata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "set rodata";
  RequireUnloaded(env, op);
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    Throw(env, code::kInvalidArgument, op, "Cannot set rodata: expected (offset, Buffer)");
  }
  uint32_t offset = info[0].As<Napi::Number>().Uint32Value();
  Napi::Buffer<uint8_t> bytes = info[1].As<Napi::Buffer<uint8_t>>();
  struct bpf_map* map = RodataMap();
  if (map == nullptr) {
    Throw(env, code::kNotFound, op, "Cannot set rodata: BPF object " + path_ + " has no .rodata");
  }
  size_t size = 0;
  const void* current = bpf_map__initial_value(map, &size);
  if (current == nullptr || offset + bytes.Length() > size) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot set rodata: write beyond the end of .rodata in " + path_);
  }
  std::vector<uint8_t> image(static_cast<const uint8_t*>(current),
                             static_cast<const uint8_t*>(current) + size);
  memcpy(image.data() + offset, bytes.Data(), bytes.Length());
  int err = bpf_map__set_initial_value(map, image.data(), image.size());
  if (err != 0) Throw(env, code::kSystem, "bpf_map__set_initial_value", "Cannot set rodata: " + Describe(-err), -err);
  return env.Undefined();
}

Napi::Value BpfObject::SetMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "set map size";
  RequireUnloaded(env, op);
  std::string name = StringArg(info, 0, "map name", op);
  if (info.Length() < 2 || !info[1].IsNumber() || info[1].As<Napi::Number>().DoubleValue() < 1) {
    Throw(env, code::kInvalidArgument, op, "Cannot set map size: max entries must be a positive integer");
  }
  struct bpf_map* map = FindMap(env, op, name);
  int err = bpf_map__set_max_entries(map, info[1].As<Napi::Number>().Uint32Value());
  if (err != 0) {
    Throw(env, code::kSystem, "bpf_map__set_max_entries",
          "Cannot set size of map " + name + ": " + Describe(-err), -err);
  }
  return env.Undefined();
}

// A program left out of the load is neither verified nor created (bpf_program__set_autoload).
Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "set program autoload";
  struct bpf_object* obj = RequireUnloaded(env, op);
  std::string name = StringArg(info, 0, "program name", op);
  if (info.Length() < 2 || !info[1].IsBoolean()) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot choose whether to load program " + name + ": expected true or false");
  }
  struct bpf_program* prog = bpf_object__find_program_by_name(obj, name.c_str());
  if (prog == nullptr) {
    Throw(env, code::kNotFound, op,
          "Cannot choose whether to load program: BPF object " + path_ + " has no program named '" + name +
              "'",
          ENOENT);
  }
  int err = bpf_program__set_autoload(prog, info[1].As<Napi::Boolean>().Value());
  if (err != 0) {
    Throw(env, code::kSystem, "bpf_program__set_autoload",
          "Cannot choose whether to load program " + name + ": " + Describe(-err), -err);
  }
  return env.Undefined();
}

Napi::Value BpfObject::ReusePinnedMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reuse pinned map";
  RequireUnloaded(env, op);
  std::string name = StringArg(info, 0, "map name", op);
  std::string path = StringArg(info, 1, "pin path", op);
  struct bpf_map* map = FindMap(env, op, name);
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.Valid()) {
    int err = errno;
    Throw(env, code::kObjGet, "bpf_obj_get",
          "Cannot reuse pinned map " + path + " for " + name + ": " + Describe(err), err);
  }
  LibbpfLogCapture capture;
  int err = bpf_map__reuse_fd(map, fd.Get());
  if (err != 0) {
    ErrorInfo e{code::kMapOperation, "bpf_map__reuse_fd",
                "Cannot reuse pinned map " + path + " for " + name + ": " + Describe(-err), -err, {},
                capture.Text()};
    throw MakeError(env, e);
  }
  return env.Undefined();
}

Napi::Value BpfObject::SetPinPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "set pin path";
  RequireUnloaded(env, op);
  std::string name = StringArg(info, 0, "map name", op);
  std::string path = StringArg(info, 1, "pin path", op);
  int err = bpf_map__set_pin_path(FindMap(env, op, name), path.c_str());
  if (err != 0) {
    Throw(env, code::kPin, "bpf_map__set_pin_path",
          "Cannot pin map " + name + " at " + path + ": " + Describe(-err), -err);
  }
  return env.Undefined();
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireUnloaded(env, "load BPF object");
  loading_ = true;
  auto* worker = new LoadWorker(env, this);
  return worker->Start();
}

Napi::Value BpfObject::ProgramNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = Require(env, "list programs");
  Napi::Array out = Napi::Array::New(env);
  struct bpf_program* prog;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, obj) { out.Set(i++, bpf_program__name(prog)); }
  return out;
}

Napi::Value BpfObject::MapNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = Require(env, "list maps");
  Napi::Array out = Napi::Array::New(env);
  struct bpf_map* map;
  uint32_t i = 0;
  bpf_object__for_each_map(map, obj) {
    if (!bpf_map__is_internal(map)) out.Set(i++, bpf_map__name(map));
  }
  return out;
}

// { size, members: [{ name, offsetBits, bitfieldSize }] } of a struct in the
// object's BTF, or undefined.
Napi::Value BpfObject::BtfStruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = Require(env, "read BTF");
  std::string name = StringArg(info, 0, "struct name", "read BTF");
  struct btf* btf = bpf_object__btf(obj);
  if (btf == nullptr) return env.Undefined();
  int id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return env.Undefined();
  const struct btf_type* t = btf__type_by_id(btf, id);
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", t->size);
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, m++) {
    Napi::Object member = Napi::Object::New(env);
    member.Set("name", btf__name_by_offset(btf, m->name_off));
    member.Set("offsetBits", btf_member_bit_offset(t, i));
    member.Set("bitfieldSize", btf_member_bitfield_size(t, i));
    __s64 size = btf__resolve_size(btf, m->type);
    member.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    members.Set(i, member);
  }
  out.Set("members", members);
  return out;
}

Napi::Value BpfObject::ProgramFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "get program";
  std::string name = StringArg(info, 0, "program name", op);
  struct bpf_program* prog = bpf_object__find_program_by_name(Require(env, op), name.c_str());
  if (prog == nullptr) {
    Throw(env, code::kNotFound, op,
          "Cannot get program: BPF object " + path_ + " has no program named '" + name + "'",
          ENOENT);
  }
  if (!loaded_) {
    Throw(env, code::kNotLoaded, op,
          "Cannot get program " + name + ": BPF object " + path_ + " is not loaded yet");
  }
  return Napi::Number::New(env, DupFd(env, bpf_program__fd(prog), op));
}

Napi::Value BpfObject::MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "get map";
  std::string name = StringArg(info, 0, "map name", op);
  struct bpf_map* map = FindMap(env, op, name);
  int fd = bpf_map__fd(map);
  if (!loaded_ || fd < 0) {
    Throw(env, code::kNotLoaded, op,
          "Cannot get map " + name + ": BPF object " + path_ + " is not loaded yet");
  }
  return Napi::Number::New(env, DupFd(env, fd, op));
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (loading_) {
    Throw(env, code::kBusy, "close BPF object",
          "Cannot close BPF object " + path_ + ": load() is still running");
  }
  if (obj_ != nullptr) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
  return env.Undefined();
}

Napi::Value BpfObject::IsLoaded(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), loaded_ && obj_ != nullptr);
}

}  // namespace lbctl
