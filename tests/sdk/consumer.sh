#!/bin/sh
# sdk_consumer: installs the build into a temporary prefix and uses it from
# outside, with nothing but the prefix:
#   1. the installed files: every public header, shared and static library
#      of the SDK and the glue (http, sqlite, pq), their pkg-config modules
#      and CMake targets, the CLI, the collector and the viewer; no installed
#      file names an internal archive (cw_dbcore, cw_sqlcore...);
#   2. find_package(causeway): the SDK consumer (shared and static) and the
#      two-service program glue_app (HTTP glue + SQLite wrappers), shared and
#      static; the two services run against each other and the installed
#      `causeway check` analyses their traces;
#   3. pkg-config: the same programs, shared and --static (against a copy of
#      the prefix without the .so files, so the archives must be complete);
#   4. the link lines documented in docs/examples/*.c, compiled and run;
#   5. the installed causeway-server serves the installed viewer by default.
# Steps 2-5 beyond the SDK consumer run only without sanitizer flags (the
# glue is covered under sanitizers by the in-tree glue tests).
# Usage: consumer.sh BUILD_DIR CONSUMER_SRC_DIR [EXTRA_C_FLAGS]
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
FLAGS=${3:-}
ROOT=$(cd "$SRC/../../.." && pwd)
W=$BUILD/sdk-consumer
rm -rf "$W"
mkdir -p "$W"
P=$W/prefix
fail() {
  echo "sdk_consumer: FAIL: $*"
  exit 1
}
cmake --install "$BUILD" --prefix "$P" >"$W/install.log"
PC=$(find "$P" -name causeway.pc | head -n 1)
test -n "$PC" || fail "causeway.pc not installed"
PCDIR=$(dirname "$PC")
LIBDIR=$(dirname "$PCDIR")

# ---- 1. installed files ------------------------------------------------------
for f in include/causeway.h include/causeway/version.h include/causeway/db.h \
  include/causeway/http.h bin/causeway bin/causeway-server \
  share/causeway/viewer; do
  test -e "$P/$f" || fail "$f not installed"
done
for l in causeway causeway_http causeway_sqlite causeway_pq; do
  test -f "$LIBDIR/lib$l.a" || fail "lib$l.a not installed"
  test -e "$LIBDIR/lib$l.so" || fail "lib$l.so not installed"
done
for m in causeway causeway-http causeway-sqlite causeway-pq; do
  test -f "$PCDIR/$m.pc" || fail "$m.pc not installed"
done
if grep -rlE 'cw_dbcore|cw_sqlcore|cw_format|cw_sdk_obj|/work/|'"$ROOT" \
  "$PCDIR" "$LIBDIR/cmake"; then
  fail "an installed package file names an internal target or the build tree"
fi
# Every viewer file is installed.
(cd "$ROOT/viewer" && find . -type f ! -path '*/node_modules/*' | sort) >"$W/viewer.src"
(cd "$P/share/causeway/viewer" && find . -type f | sort) >"$W/viewer.inst"
cmp -s "$W/viewer.src" "$W/viewer.inst" || fail "viewer files differ from viewer/"

# ---- 2. CMake ------------------------------------------------------------------
cmake -S "$SRC" -B "$W/build" -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" >"$W/cmake.log" ||
  { cat "$W/cmake.log"; fail "cmake configure"; }
cmake --build "$W/build" >"$W/build.log" || { cat "$W/build.log"; fail "cmake build"; }
LD_LIBRARY_PATH=$LIBDIR "$W/build/consumer_shared" "$W/shared.cwt"
"$W/build/consumer_static" "$W/static.cwt"
# The shared consumer really uses the installed libcauseway.so.
LD_LIBRARY_PATH=$LIBDIR ldd "$W/build/consumer_shared" | grep -q "$LIBDIR/libcauseway.so"

# pkg-config, with the relocated prefix.
CFLAGS_PC=$(PKG_CONFIG_PATH=$PCDIR pkg-config --cflags causeway)
LIBS_PC=$(PKG_CONFIG_PATH=$PCDIR pkg-config --libs causeway)
# shellcheck disable=SC2086
cc -std=c11 $FLAGS $CFLAGS_PC "$SRC/main.c" -o "$W/consumer_pc" $LIBS_PC
LD_LIBRARY_PATH=$LIBDIR "$W/consumer_pc" "$W/pc.cwt"
if [ -n "$FLAGS" ]; then
  rm -rf "$W"
  echo "sdk_consumer: ok (SDK only under sanitizer flags)"
  exit 0
fi

CIVET_LIB=-lcivetweb
CW=$P/bin/causeway
# run_pair NAME PROGRAM: ledger + teller, then `causeway check` on both traces.
run_pair() {
  name=$1
  prog=$2
  d=$W/run-$name
  mkdir -p "$d"
  CAUSEWAY_TRACE_FILE=$d/ledger.cwt LD_LIBRARY_PATH=$LIBDIR \
    "$prog" ledger "$d/port" "$d/bank.db" >"$d/ledger.out" 2>&1 &
  lpid=$!
  i=0
  while [ ! -s "$d/port" ] && [ $i -lt 100 ]; do
    kill -0 $lpid 2>/dev/null || { cat "$d/ledger.out"; fail "$name: ledger died"; }
    sleep 0.1
    i=$((i + 1))
  done
  test -s "$d/port" || { kill $lpid; fail "$name: ledger did not start"; }
  port=$(cat "$d/port")
  CAUSEWAY_TRACE_FILE=$d/teller.cwt LD_LIBRARY_PATH=$LIBDIR \
    "$prog" teller "http://127.0.0.1:$port" 5 >"$d/teller.out" 2>&1 ||
    { kill $lpid; cat "$d/teller.out"; fail "$name: teller failed"; }
  wait $lpid || { cat "$d/ledger.out"; fail "$name: ledger failed"; }
  # Six calls (five deposits and /quit), every response clock joined.
  grep -qx "calls=6 joined=6" "$d/teller.out" ||
    { cat "$d/teller.out"; fail "$name: clocks were not propagated"; }
  grep -qx "balance=150" "$d/ledger.out" ||
    { cat "$d/ledger.out"; fail "$name: deposits lost"; }
  "$CW" check --report json --output "$d/report.json" "$d/ledger.cwt" \
    "$d/teller.cwt" || fail "$name: causeway check failed"
  "$CW" dump "$d/ledger.cwt" "$d/teller.cwt" >"$d/dump.txt"
  for svc in ledger teller; do
    grep -q "$svc" "$d/dump.txt" || fail "$name: no $svc events in the traces"
  done
  grep -q "db:sqlite" "$d/dump.txt" || fail "$name: no SQLite lock events"
}
run_pair cmake-shared "$W/build/glue_app_shared"
run_pair cmake-static "$W/build/glue_app_static"
ldd "$W/build/glue_app_static" | grep -q libcauseway &&
  fail "glue_app_static links a shared libcauseway"

# ---- 3. pkg-config: shared, then static from a prefix without .so files ----------
MODS="causeway-http causeway-sqlite"
# shellcheck disable=SC2046,SC2086
cc -std=c11 $(PKG_CONFIG_PATH=$PCDIR pkg-config --cflags $MODS) \
  "$SRC/glue_app.c" -o "$W/glue_app_pc" \
  $(PKG_CONFIG_PATH=$PCDIR pkg-config --libs $MODS) $CIVET_LIB
run_pair pc-shared "$W/glue_app_pc"
cp -a "$P" "$W/static-prefix"
SLIB=$W/static-prefix/${LIBDIR#"$P"/}
rm -f "$SLIB"/*.so*
# --static also lists libcurl's own private libraries, which exist here only
# inside the shared libcurl (no static libcurl installed): keep the -l items
# the linker can find, as a program linking the system libraries shared does.
STATIC_LIBS=
for x in $(PKG_CONFIG_PATH=$SLIB/pkgconfig pkg-config --static --libs $MODS); do
  case $x in
  -l*)
    n=${x#-l}
    if [ ! -e "$SLIB/lib$n.a" ] && [ "$(cc -print-file-name="lib$n.so")" = "lib$n.so" ] &&
      [ "$(cc -print-file-name="lib$n.a")" = "lib$n.a" ]; then
      continue
    fi
    ;;
  esac
  STATIC_LIBS="$STATIC_LIBS $x"
done
# shellcheck disable=SC2046,SC2086
cc -std=c11 $(PKG_CONFIG_PATH=$SLIB/pkgconfig pkg-config --cflags $MODS) \
  "$SRC/glue_app.c" -o "$W/glue_app_pc_static" $STATIC_LIBS $CIVET_LIB
ldd "$W/glue_app_pc_static" | grep -q libcauseway &&
  fail "pkg-config --static linked a shared libcauseway"
run_pair pc-static "$W/glue_app_pc_static"
for m in causeway-pq; do
  PKG_CONFIG_PATH=$PCDIR pkg-config --exists $m || fail "$m: pkg-config"
done

# ---- 4. the link lines documented in docs/examples/*.c ---------------------------
EX=$W/examples
mkdir -p "$EX"
cp "$ROOT"/docs/examples/*.c "$EX/"
for f in "$EX"/*.c; do
  # Each example documents its build as comment lines " *   cc FILE ...".
  lines=$(sed -n 's/^ \*   \(cc .*\)$/\1/p' "$f")
  test -n "$lines" || fail "$(basename "$f"): no documented cc line"
  echo "$lines" | while IFS= read -r line; do
    # The prefix is not a system directory: point cc and pkg-config at it.
    (cd "$EX" && export PKG_CONFIG_PATH="$PCDIR" &&
      eval "cc -I$P/include -L$LIBDIR ${line#cc } -o ${f%.c}") ||
      fail "documented link line failed: $line"
  done
done
LD_LIBRARY_PATH=$LIBDIR CAUSEWAY_TRACE_FILE=$EX/db.cwt "$EX/db_sqlite" \
  "$EX/bank.db" | grep -qx "transfer: ok" || fail "db_sqlite example"
"$CW" check "$EX/db.cwt" >/dev/null || fail "db_sqlite example trace"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LD_LIBRARY_PATH=$LIBDIR CAUSEWAY_TRACE_FILE=$EX/svc.cwt \
  "$EX/http_service" "127.0.0.1:$port" >"$EX/svc.out" 2>&1 &
spid=$!
i=0
until curl -fs "http://127.0.0.1:$port/balance" >/dev/null; do
  i=$((i + 1))
  [ $i -lt 100 ] || { kill $spid; fail "http_service example did not start"; }
  sleep 0.1
done
LD_LIBRARY_PATH=$LIBDIR CAUSEWAY_TRACE_FILE=$EX/client.cwt \
  "$EX/http_client" "http://127.0.0.1:$port" >"$EX/client.out" ||
  { kill $spid; fail "http_client example"; }
kill -TERM $spid
wait $spid || fail "http_service example exit"
grep -qx "calls=2 clocks joined=2" "$EX/client.out" || fail "http example clocks"

# ---- 5. the installed collector serves the installed viewer -----------------------
marker="installed-viewer-$$"
echo "$marker" >"$P/share/causeway/viewer/cw-install-check.txt"
"$P/bin/causeway-server" --listen 127.0.0.1:0 --data-dir "$W/data" \
  >"$W/server.out" 2>&1 &
vpid=$!
i=0
until grep -q "listening on" "$W/server.out" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 100 ] || { kill $vpid; cat "$W/server.out"; fail "server did not start"; }
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$W/server.out")
got=$(curl -fs "http://$addr/cw-install-check.txt" || true)
kill -TERM $vpid
wait $vpid || true
[ "$got" = "$marker" ] || fail "causeway-server does not serve its installed viewer"

rm -rf "$W"
echo "sdk_consumer: ok"
