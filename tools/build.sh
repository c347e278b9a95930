#!/usr/bin/env bash
# Configures and builds one CMake preset of this tree (CMakePresets.json): `cmake --preset NAME`,
# then `cmake --build --preset NAME` with the arguments that follow the name.
#
# A build folder configured for another source tree (a checkout copied or moved together with
# its build folder) would compile that tree's sources and regenerate that tree's build files:
# its CMakeCache.txt names the other tree (CMAKE_HOME_DIRECTORY). Such a folder is removed and
# configured afresh for this tree, and one line says so.
#
# Usage: tools/build.sh [PRESET [cmake --build arguments...]]   (default preset: release)
#        e.g. tools/build.sh release --target run_experiment
# Exit status: cmake's; 2 for a preset CMakePresets.json does not have.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo_root"

case "${1:-}" in
  -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  -*) echo "build.sh: unknown option '$1' (the first argument is a preset)" >&2
      echo "usage: tools/build.sh [PRESET [cmake --build arguments...]]" >&2; exit 2 ;;
esac
preset="${1:-release}"
(($#)) && shift

# The preset's build folder, as CMakePresets.json gives it (a preset may inherit it).
binary_dir=$(/usr/bin/python3 - "$preset" "$repo_root" <<'EOF'
import json, sys
name, root = sys.argv[1], sys.argv[2]
presets = {p["name"]: p for p in json.load(open("CMakePresets.json"))["configurePresets"]}
p = presets.get(name)
while p is not None and "binaryDir" not in p:
    p = presets.get(p.get("inherits"))
if p is None:
    sys.exit(f"build.sh: CMakePresets.json has no configure preset {name!r} with a binaryDir "
             f"(it has: {', '.join(presets)})")
print(p["binaryDir"].replace("${sourceDir}", root).replace("${presetName}", name))
EOF
) || exit 2

cache="$binary_dir/CMakeCache.txt"
if [[ -f $cache ]]; then
  configured_for=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  resolved=""  # the folder it names, symbolic links resolved ("": none, or gone)
  if [[ -n $configured_for ]]; then resolved=$(cd "$configured_for" 2>/dev/null && pwd -P) || true; fi
  if [[ $resolved != "$repo_root" ]]; then
    if [[ $binary_dir != "$repo_root"/?* ]]; then  # never remove a folder outside this tree
      echo "build.sh: $binary_dir was configured for $configured_for, not this tree; remove it" >&2
      exit 2
    fi
    echo "build.sh: $binary_dir was configured for ${configured_for:-another tree}; configuring it afresh for $repo_root" >&2
    rm -rf -- "$binary_dir"
  fi
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "$@"
