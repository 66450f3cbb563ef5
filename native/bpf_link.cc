#include "bpf_link.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <string>

#include "bpf_program.h"
#include "errors.h"

namespace lbctl {

void BpfLink::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "BpfLink",
                                    {
                                        InstanceMethod<&BpfLink::Info>("info"),
                                        InstanceMethod<&BpfLink::Pin>("pin"),
                                        InstanceMethod<&BpfLink::Update>("update"),
                                        InstanceMethod<&BpfLink::Detach>("detach"),
                                        InstanceMethod("close", &BpfLink::Close),
                                    });
  exports.Set("BpfLink", ctor);
}

BpfLink::BpfLink(const Napi::CallbackInfo& info) : FdHandle<BpfLink>(info) {
  Napi::Env env = info.Env();
  AdoptFdArgument(info, "link");
  struct bpf_link_info li = {};
  __u32 len = sizeof(li);
  if (bpf_obj_get_info_by_fd(fd_.Get(), &li, &len) != 0) {
    int err = errno;
    fd_.Reset();
    Throw(env, code::kInvalidArgument, "bpf_obj_get_info_by_fd",
          "Cannot open link: the descriptor is not a BPF link (" + Describe(err) + ")", err);
  }
}

// info() → { id, type, typeName, programId, ifindex?, ifname? }
Napi::Value BpfLink::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env, "read link info");
  struct bpf_link_info li = {};
  __u32 len = sizeof(li);
  if (bpf_obj_get_info_by_fd(fd, &li, &len) != 0) {
    int err = errno;
    Throw(env, code::kLink, "bpf_obj_get_info_by_fd", "Cannot read link info: " + Describe(err),
          err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", li.id);
  out.Set("type", li.type);
  const char* typeName = libbpf_bpf_link_type_str(static_cast<enum bpf_link_type>(li.type));
  out.Set("typeName", typeName != nullptr ? typeName : "unknown");
  out.Set("programId", li.prog_id);
  if (li.type == BPF_LINK_TYPE_XDP) {
    // ifindex 0 means the link was detached (interface gone or detach()).
    out.Set("ifindex", li.xdp.ifindex);
    char name[IF_NAMESIZE] = {};
    if (li.xdp.ifindex != 0 && if_indextoname(li.xdp.ifindex, name) != nullptr) {
      out.Set("ifname", name);
    }
  }
  return out;
}

Napi::Value BpfLink::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "pin link";
  int fd = Fd(env, op);
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kInvalidArgument, op, "Cannot pin link: path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    Throw(env, code::kPin, "bpf_obj_pin", "Cannot pin link at " + path + ": " + Describe(err), err);
  }
  return env.Undefined();
}

// update(program): atomically replaces the attached program.
Napi::Value BpfLink::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "update link";
  int fd = Fd(env, op);
  if (info.Length() < 1 || !info[0].IsObject()) {
    Throw(env, code::kInvalidArgument, op, "Cannot update link: expected a program");
  }
  BpfProgram* program = BpfProgram::Unwrap(info[0].As<Napi::Object>());
  if (program == nullptr) {
    Throw(env, code::kInvalidArgument, op, "Cannot update link: expected a program");
  }
  int progFd = program->Fd(env, op);
  if (bpf_link_update(fd, progFd, nullptr) != 0) {
    int err = errno;
    Throw(env, code::kLink, "bpf_link_update",
          "Cannot update link to program " + program->Name() + ": " + Describe(err), err);
  }
  return env.Undefined();
}

// detach(): the program stops running now, even if the link is pinned.
Napi::Value BpfLink::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env, "detach link");
  if (bpf_link_detach(fd) != 0) {
    int err = errno;
    Throw(env, code::kLink, "bpf_link_detach", "Cannot detach link: " + Describe(err), err);
  }
  return env.Undefined();
}

}  // namespace lbctl
