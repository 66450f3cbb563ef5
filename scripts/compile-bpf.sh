#!/bin/sh
# Compiles one BPF C file into an object with BTF (-g) for libbpf to load.
# Usage: compile-bpf.sh SRC.bpf.c OUT.bpf.o
set -eu
src=$1
out=$2
mkdir -p "$(dirname "$out")"
arch=$(uname -m)
case "$arch" in
  x86_64) target_arch=x86 ;;
  aarch64) target_arch=arm64 ;;
  *) target_arch=$arch ;;
esac
exec clang -g -O2 -target bpf -D__TARGET_ARCH_"$target_arch" \
  -Ibpf/include -I/usr/include/"$arch"-linux-gnu \
  -Wall -Wno-unused-function \
  -c "$src" -o "$out"
