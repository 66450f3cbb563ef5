#include "bpf_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <vector>

#include "errors.h"
#include "promise_worker.h"
#include "unique_fd.h"

namespace lbctl {
namespace {

// Room for the program to grow the packet (encapsulation) in a test run.
constexpr uint32_t kTestRunHeadroomBytes = 512;

// What both kinds of test run share: the promise, the program kept alive for
// the run, its input frame, and the failure of the syscall.
class ProgramRunWorker : public PromiseWorker {
 public:
  ProgramRunWorker(Napi::Env env, Napi::Object owner, int fd, std::string name,
                   std::vector<uint8_t> data)
      : PromiseWorker(env),
        fd_(fd),
        name_(std::move(name)),
        in_(std::move(data)) {
    ownerRef_ = Napi::Persistent(owner);
  }

 protected:
  void Reject(const char* operation, const std::string& message) {
    RejectWith({code::kTestRun, operation, message, err_, {}, {}});
  }

  Napi::ObjectReference ownerRef_;  // keeps the program (and its fd) alive
  int fd_;
  std::string name_;
  std::vector<uint8_t> in_;
  int err_ = 0;
  uint32_t duration_ = 0;
};

class TestRunWorker : public ProgramRunWorker {
 public:
  TestRunWorker(Napi::Env env, Napi::Object owner, int fd, std::string name,
                std::vector<uint8_t> data, uint32_t repeat, uint32_t outSize)
      : ProgramRunWorker(env, owner, fd, std::move(name), std::move(data)),
        out_(outSize),
        repeat_(repeat) {}

 protected:
  void Execute() override {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = in_.data();
    opts.data_size_in = static_cast<uint32_t>(in_.size());
    opts.data_out = out_.data();
    opts.data_size_out = static_cast<uint32_t>(out_.size());
    opts.repeat = static_cast<int>(repeat_);
    if (bpf_prog_test_run_opts(fd_, &opts) != 0) {
      err_ = errno;
      return;
    }
    retval_ = opts.retval;
    duration_ = opts.duration;
    out_.resize(opts.data_size_out);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      std::string reason = Describe(err_);
      if (err_ == ENOSPC) reason = "the output packet is larger than dataOutSize";
      Reject("bpf_prog_test_run_opts", "Cannot test-run program " + name_ + ": " + reason);
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("verdict", retval_);
    result.Set("data", Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    result.Set("durationNs", duration_);
    deferred_.Resolve(result);
  }

 private:
  std::vector<uint8_t> out_;
  uint32_t repeat_;
  uint32_t retval_ = 0;
};

// Sends frames with BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18+): the program runs
// `repeat` times on a frame initialised from `data` and its XDP_TX/REDIRECT
// verdicts really transmit, as if the frame had arrived on `ifindex`. On the
// thread pool, since a run of millions of frames takes seconds. The interface
// is looked up in the calling thread's network namespace, so the worker
// enters `netnsFd` (when given) for the run and returns to its own after.
class LiveFramesWorker : public ProgramRunWorker {
 public:
  LiveFramesWorker(Napi::Env env, Napi::Object owner, int fd, std::string name,
                   std::vector<uint8_t> data, uint32_t ifindex, uint32_t repeat,
                   uint32_t batchSize, int netnsFd)
      : ProgramRunWorker(env, owner, fd, std::move(name), std::move(data)),
        ifindex_(ifindex),
        repeat_(repeat),
        batchSize_(batchSize),
        netns_(netnsFd) {}

 protected:
  void Execute() override {
    UniqueFd home;
    if (netns_.Valid()) {
      home = UniqueFd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!home.Valid() || setns(netns_.Get(), CLONE_NEWNET) != 0) {
        err_ = errno;
        op_ = "setns";
        return;
      }
    }
    struct xdp_md ctx = {};
    ctx.data_end = static_cast<__u32>(in_.size());
    ctx.ingress_ifindex = ifindex_;
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = in_.data();
    opts.data_size_in = static_cast<uint32_t>(in_.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.repeat = static_cast<int>(repeat_);
    opts.batch_size = batchSize_;
    opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    if (bpf_prog_test_run_opts(fd_, &opts) != 0) {
      err_ = errno;
      op_ = "bpf_prog_test_run_opts";
    } else {
      duration_ = opts.duration;
    }
    // A pool thread left in another namespace would carry it into later work.
    if (netns_.Valid() && setns(home.Get(), CLONE_NEWNET) != 0) abort();
  }
  void OnOK() override {
    if (err_ != 0) {
      std::string reason = Describe(err_);
      if (err_ == EINVAL) reason += " (live frames need Linux 5.18+ and an XDP program)";
      Reject(op_, "Cannot send live frames with program " + name_ + ": " + reason);
      return;
    }
    Napi::Object result = Napi::Object::New(Env());
    result.Set("durationNs", duration_);
    deferred_.Resolve(result);
  }

 private:
  uint32_t ifindex_;
  uint32_t repeat_;
  uint32_t batchSize_;
  UniqueFd netns_;
  const char* op_ = "";
};

}  // namespace

void BpfProgram::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "BpfProgram",
                                    {
                                        InstanceMethod<&BpfProgram::Info>("info"),
                                        InstanceMethod<&BpfProgram::AttachXdp>("attachXdp"),
                                        InstanceMethod<&BpfProgram::TestRun>("testRun"),
                                        InstanceMethod<&BpfProgram::SendLiveFrames>(
                                            "sendLiveFrames"),
                                        InstanceMethod<&BpfProgram::Pin>("pin"),
                                        InstanceMethod("dup", &BpfProgram::Dup),
                      InstanceMethod("close", &BpfProgram::Close),
                                    });
  exports.Set("BpfProgram", ctor);
}

BpfProgram::BpfProgram(const Napi::CallbackInfo& info) : FdHandle<BpfProgram>(info) {
  Napi::Env env = info.Env();
  AdoptFdArgument(info, "program");
  struct bpf_prog_info pi = {};
  __u32 len = sizeof(pi);
  if (bpf_obj_get_info_by_fd(fd_.Get(), &pi, &len) != 0) {
    int err = errno;
    fd_.Reset();
    Throw(env, code::kInvalidArgument, "bpf_obj_get_info_by_fd",
          "Cannot open program: the descriptor is not a BPF program (" + Describe(err) + ")", err);
  }
  name_ = pi.name;
  type_ = pi.type;
  id_ = pi.id;
  xlatedInsns_ = pi.xlated_prog_len / sizeof(struct bpf_insn);
  jitedBytes_ = pi.jited_prog_len;
  verifiedInsns_ = pi.verified_insns;
}

Napi::Value BpfProgram::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fd(env, "read program info");
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name_);
  out.Set("type", type_);
  const char* typeName = libbpf_bpf_prog_type_str(static_cast<enum bpf_prog_type>(type_));
  out.Set("typeName", typeName != nullptr ? typeName : "unknown");
  out.Set("id", id_);
  out.Set("insns", xlatedInsns_);
  out.Set("jitedBytes", jitedBytes_);
  out.Set("verifiedInsns", verifiedInsns_);
  return out;
}

// attachXdp(ifname, mode: 'native' | 'generic') → link fd
Napi::Value BpfProgram::AttachXdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "attach XDP";
  int fd = Fd(env, op);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Throw(env, code::kInvalidArgument, op, "Cannot attach XDP: expected (interface, mode)");
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  std::string mode = info[1].As<Napi::String>().Utf8Value();
  uint32_t flags;
  if (mode == "native") {
    flags = XDP_FLAGS_DRV_MODE;
  } else if (mode == "generic") {
    flags = XDP_FLAGS_SKB_MODE;
  } else {
    Throw(env, code::kInvalidArgument, op,
          "Cannot attach XDP to " + ifname + ": mode must be 'native' or 'generic', not '" + mode +
              "'");
  }
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    int err = errno;
    Throw(env, code::kNoSuchInterface, "if_nametoindex",
          "Cannot attach XDP to " + ifname + ": no such interface", err != 0 ? err : ENODEV);
  }
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  opts.flags = flags;
  int link = bpf_link_create(fd, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (link < 0) {
    int err = errno;
    std::string reason = Describe(err);
    if (err == EBUSY || err == EEXIST) {
      reason = "another XDP program is already attached to it";
    } else if (err == EOPNOTSUPP || (err == EINVAL && mode == "native")) {
      reason = "its driver does not support " + mode + " XDP";
    }
    Throw(env, code::kXdpAttach, "bpf_link_create",
          "Cannot attach XDP to " + ifname + " in " + mode + " mode: " + reason, err);
  }
  return Napi::Number::New(env, link);
}

// testRun(data, repeat, dataOutSize?) → Promise<{ verdict, data, durationNs }>
Napi::Value BpfProgram::TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "test-run program";
  int fd = Fd(env, op);
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
    Throw(env, code::kInvalidArgument, op, "Cannot test-run program: expected (Buffer, repeat)");
  }
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  uint32_t repeat = info[1].As<Napi::Number>().Uint32Value();
  uint32_t outSize = static_cast<uint32_t>(data.Length()) + kTestRunHeadroomBytes;
  if (info.Length() > 2 && info[2].IsNumber()) outSize = info[2].As<Napi::Number>().Uint32Value();
  std::vector<uint8_t> in(data.Data(), data.Data() + data.Length());
  auto* worker = new TestRunWorker(env, Value(), fd, name_, std::move(in), repeat, outSize);
  return worker->Start();
}

// sendLiveFrames(data, ifindex, repeat, batchSize, netnsFd?) → Promise<{ durationNs }>
// netnsFd is duplicated: the caller may close its own at once.
Napi::Value BpfProgram::SendLiveFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "send live frames";
  int fd = Fd(env, op);
  if (info.Length() < 4 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber()) {
    Throw(env, code::kInvalidArgument, op,
          "Cannot send live frames: expected (Buffer, ifindex, repeat, batchSize)");
  }
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  int netns = -1;
  if (info.Length() > 4 && info[4].IsNumber()) {
    netns = dup(info[4].As<Napi::Number>().Int32Value());
    if (netns < 0) {
      int err = errno;
      Throw(env, code::kSystem, "dup", "Cannot send live frames: " + Describe(err), err);
    }
  }
  std::vector<uint8_t> in(data.Data(), data.Data() + data.Length());
  auto* worker = new LiveFramesWorker(env, Value(), fd, name_, std::move(in),
                                      info[1].As<Napi::Number>().Uint32Value(),
                                      info[2].As<Napi::Number>().Uint32Value(),
                                      info[3].As<Napi::Number>().Uint32Value(), netns);
  return worker->Start();
}

Napi::Value BpfProgram::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "pin program";
  int fd = Fd(env, op);
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kInvalidArgument, op, "Cannot pin program: path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    Throw(env, code::kPin, "bpf_obj_pin",
          "Cannot pin program " + name_ + " at " + path + ": " + Describe(err), err);
  }
  return env.Undefined();
}

}  // namespace lbctl
