# Sourced by libs/*/native/build.sh: finds Node's headers and gcc, and compiles an N-API addon into
# build/NAME.node unless a stamp says its sources, Node and STAMP_EXTRA are unchanged. The caller
# cds into its native/ folder and sets FALLBACK (what ingest does without the addon) first.

# Says why, then exits 0 (the caller's FALLBACK applies) unless SHARDCAST_NATIVE=required (npm test, CI).
native_fail() {
  echo "[native] $*" >&2
  if [[ ${SHARDCAST_NATIVE:-} == required ]]; then exit 1; fi
  echo "[native] $FALLBACK" >&2
  exit 0
}

# build_native_addon NAME "SOURCES" STAMP_EXTRA [LINK_FLAGS...]
build_native_addon() {
  local name=$1 sources=$2 extra=$3
  shift 3
  local out=build/$name.node node_include="" d
  for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
    [[ -f $d/node_api.h ]] && { node_include=$d; break; }
  done
  [[ -n $node_include ]] || native_fail "node_api.h not found (/usr/include/node or beside node): install Node's headers"
  command -v gcc >/dev/null || native_fail "gcc not found: apt-get install -y gcc"
  # shellcheck disable=SC2086 # SOURCES is a list of file names
  local stamp
  stamp="$(cat $sources | sha256sum | cut -c1-16) node=$(node -p 'process.versions.node') napi=$(node -p 'process.versions.napi') $extra"
  if [[ -f $out && -f build/.stamp && $(cat build/.stamp) == "$stamp" ]]; then return 0; fi
  mkdir -p build
  # shellcheck disable=SC2086
  if ! gcc -O2 -Wall -Wextra -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME="$name" -I"$node_include" $sources "$@" -o "$out.tmp" 2>build/gcc.log; then
    cat build/gcc.log >&2
    native_fail "gcc failed (log: $PWD/build/gcc.log)"
  fi
  mv "$out.tmp" "$out"
  echo "$stamp" > build/.stamp
  echo "[native] built $PWD/$out $extra" >&2
}
