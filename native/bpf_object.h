// BpfObject: an ELF object opened with libbpf, configured, then loaded.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace lbctl {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

 private:
  friend class LoadWorker;

  // Before load.
  Napi::Value RodataVariables(const Napi::CallbackInfo& info);
  Napi::Value SetRodata(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value ReusePinnedMap(const Napi::CallbackInfo& info);
  Napi::Value SetPinPath(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  // Any time while open.
  Napi::Value ProgramNames(const Napi::CallbackInfo& info);
  Napi::Value MapNames(const Napi::CallbackInfo& info);
  Napi::Value BtfStruct(const Napi::CallbackInfo& info);
  // After load: new owned fds (dups) for the JS handle types to adopt.
  Napi::Value ProgramFd(const Napi::CallbackInfo& info);
  Napi::Value MapFd(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsLoaded(const Napi::CallbackInfo& info);

  struct bpf_object* Require(Napi::Env env, const char* operation);
  struct bpf_object* RequireUnloaded(Napi::Env env, const char* operation);
  struct bpf_map* FindMap(Napi::Env env, const char* operation, const std::string& name);
  struct bpf_map* RodataMap();

  struct bpf_object* obj_ = nullptr;
  std::string path_;
  std::string pinRoot_;
  std::vector<char> verifierLog_;
  bool loaded_ = false;
  bool loading_ = false;
};

}  // namespace lbctl
