#!/bin/sh
# sdk_consumer: installs the SDK into a temporary prefix, then builds and
# runs an out-of-tree consumer with find_package(causeway) (shared and
# static targets) and with pkg-config.
# Usage: consumer.sh BUILD_DIR CONSUMER_SRC_DIR [EXTRA_C_FLAGS]
set -eu
BUILD=$1
SRC=$2
FLAGS=${3:-}
W=$BUILD/sdk-consumer
rm -rf "$W"
mkdir -p "$W"
cmake --install "$BUILD" --component sdk --prefix "$W/prefix" >"$W/install.log"
PC=$(find "$W/prefix" -name causeway.pc | head -n 1)
test -n "$PC" || { echo "causeway.pc not installed"; exit 1; }
LIBDIR=$(dirname "$(dirname "$PC")")

cmake -S "$SRC" -B "$W/build" -DCMAKE_PREFIX_PATH="$W/prefix" \
  -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" >"$W/cmake.log"
cmake --build "$W/build" >"$W/build.log"
LD_LIBRARY_PATH=$LIBDIR "$W/build/consumer_shared" "$W/shared.cwt"
"$W/build/consumer_static" "$W/static.cwt"
# The shared consumer really uses the installed libcauseway.so.
LD_LIBRARY_PATH=$LIBDIR ldd "$W/build/consumer_shared" | grep -q "$LIBDIR/libcauseway.so"

# pkg-config, with the relocated prefix.
CFLAGS_PC=$(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --cflags causeway)
LIBS_PC=$(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --libs causeway)
# shellcheck disable=SC2086
cc -std=c11 $FLAGS $CFLAGS_PC "$SRC/main.c" -o "$W/consumer_pc" $LIBS_PC
LD_LIBRARY_PATH=$LIBDIR "$W/consumer_pc" "$W/pc.cwt"
rm -rf "$W"
echo "sdk_consumer: ok"
