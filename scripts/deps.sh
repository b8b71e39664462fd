#!/usr/bin/env bash
# Installs the Debian 12 packages Actio needs, only when something is missing.
# Sourced by scripts/test and scripts/demo.
# (sourced: leaves the caller's shell options alone)

ACTIO_PACKAGES=(
  build-essential meson ninja-build pkg-config ccache
  libcaf-dev libgrpc++-dev libgrpc-dev libprotobuf-dev libprotoc-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  python3 python3-grpcio python3-protobuf openssl zlib1g-dev
  # actio-inspector (ui/, the `ui` meson option): Dear ImGui 1.86 (libimgui.a
  # holds the GLFW and OpenGL 3 backends), GLFW, stb; Xvfb for its screenshot test.
  libimgui-dev libglfw3-dev libstb-dev xvfb xauth
)

actio_install_deps() {
  local missing=()
  for p in "${ACTIO_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Use ccache when present (meson picks it up from CXX).
actio_env() {
  if command -v ccache >/dev/null 2>&1; then
    export CXX="${CXX:-ccache g++}"
  fi
}
