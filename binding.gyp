# One build for everything native: the BPF objects (clang -target bpf, BTF
# kept) and the Node addon over the system libbpf. Outputs land in build/.
{
  "targets": [
    {
      "target_name": "lbctl_bpf",
      "type": "none",
      "sources": ["<!@(ls bpf/*.bpf.c bpf/testdata/*.bpf.c)"],
      "rules": [
        {
          "rule_name": "bpf_object",
          "extension": "c",
          "inputs": ["scripts/compile-bpf.sh", "bpf/lb.bpf.c", "<!@(ls bpf/include/*.h)"],
          "outputs": ["<(PRODUCT_DIR)/bpf/<(RULE_INPUT_ROOT).o"],
          "action": ["sh", "scripts/compile-bpf.sh", "<(RULE_INPUT_PATH)", "<@(_outputs)"],
          "message": "BPF <(RULE_INPUT_NAME)",
          "process_outputs_as_sources": 0
        }
      ]
    },
    {
      "target_name": "lbctl_native",
      "dependencies": ["lbctl_bpf"],
      "sources": ["<!@(ls native/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
