#!/usr/bin/env bash
# Disk-full durability of causeway-server (issue 12, point 1), on a real
# 2 MiB tmpfs with --segment-bytes 64K: the disk fills up exactly when a
# segment must rotate (its new header cannot be written), then space comes
# back. Every batch answered 200 must be there after a restart, and no batch
# answered with an error may be stored (store events == acknowledged events,
# exactly). The full disk must be logged to stderr. Needs root (mount);
# exits 77 (skipped) without it.
# Usage: test_disk_full.sh CAUSEWAY_SERVER CW_SEND
set -euo pipefail
SERVER=$1 SEND=$2
if [ "$(id -u)" != 0 ] || ! command -v curl >/dev/null; then
  echo "SKIP: needs root (mount tmpfs) and curl"
  exit 77
fi
W=$(mktemp -d)
MNT=$W/mnt
mkdir -p "$MNT"
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  mountpoint -q "$MNT" && umount "$MNT"
  rm -rf "$W"
}
trap cleanup EXIT
mount -t tmpfs -o size=2M tmpfs "$MNT" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
DATA=$MNT/data

start() {
  : >"$W/out"
  "$SERVER" --listen 127.0.0.1:0 --data-dir "$DATA" --segment-bytes 64K \
    --viewer-dir '' >"$W/out" 2>>"$W/err" &
  PID=$!
  for _ in $(seq 200); do
    grep -q '^listening on' "$W/out" 2>/dev/null && break
    sleep 0.05
  done
  URL=http://$(sed -n 's/^listening on //p' "$W/out")
  [ "$URL" != http:// ] || { cat "$W/err"; echo "FAIL: no server"; exit 1; }
}
stop() { kill "$PID"; wait "$PID" || true; PID=; }
metric() { curl -sf "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

ACKED=0 FAILED=0 B=0
send() { # one batch of $1 events; counts what was acknowledged
  local out
  if out=$("$SEND" "$URL" 7 1 "$1" "$B" 2>/dev/null); then
    ACKED=$((ACKED + $(awk '{print $2}' <<<"$out")))
  else
    FAILED=$((FAILED + 1))
  fi
  B=$((B + 1))
}
fill() { dd if=/dev/zero of="$MNT/filler$1" bs=4k >/dev/null 2>&1 || true; }
seg1() { stat -c %s "$DATA/seg-000001.cwlog"; }

start
# Events per batch: enough for records of a few KiB (format v2 batches of
# these uniform events compress to well under a byte per event).
EV=50000
send $EV
REC=$(( $(seg1) - 8 ))
[ "$ACKED" -gt 0 ] || { echo "FAIL: first batch not acknowledged"; exit 1; }
# Fill segment 1 up to the point where the next batch must rotate.
while [ $(( $(seg1) + REC )) -le 65536 ]; do send $EV; done
echo "segment 1: $(seg1) bytes, record about $REC bytes, acked $ACKED"
# The disk is full just as the next batch starts segment 2.
fill 1
before=$FAILED
for _ in 1 2 3; do send $EV; done
[ "$FAILED" -gt "$before" ] || { echo "FAIL: no write failed on a full disk"; exit 1; }
grep -q 'store: .*No space left on device' "$W/err" ||
  { cat "$W/err"; echo "FAIL: the full disk was not logged to stderr"; exit 1; }
# Space comes back: ingest works again (a new segment with its header).
rm -f "$MNT/filler1"
for _ in $(seq 10); do send $EV; done
# Full again in the middle of a segment: partial records are cut.
fill 2
for _ in $(seq 5); do send $EV; done
rm -f "$MNT/filler2"
for _ in $(seq 5); do send $EV; done
echo "acknowledged $ACKED events, $FAILED batches refused"
[ "$FAILED" -ge 3 ] || { echo "FAIL: expected refused batches"; exit 1; }
live=$(metric causeway_store_events)
stop
start
replayed=$(metric causeway_store_events)
stop
echo "store events: live $live, after restart $replayed"
if [ "$replayed" != "$ACKED" ]; then
  ls -l "$DATA"; cat "$W/err"
  echo "FAIL: $ACKED events acknowledged, $replayed recovered"
  exit 1
fi
echo "PASS: every acknowledged event recovered, nothing unacknowledged stored"
