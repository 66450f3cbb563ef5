// libbpf reports details (why a map could not be reused, which program the
// verifier rejected) through a global print callback. We capture them per
// thread while an operation runs so they can be attached to its error.
#pragma once

#include <string>

namespace lbctl {

void InstallLibbpfLogger();

class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  const std::string& Text() const { return text_; }

 private:
  std::string text_;
  std::string* previous_;
};

}  // namespace lbctl
