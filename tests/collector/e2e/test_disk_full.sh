#!/usr/bin/env bash
# Disk-full durability of causeway-server (issue 12, point 1), on a real
# 2 MiB tmpfs with --segment-bytes 64K: the disk fills up exactly when a
# segment must rotate (its new header cannot be written), then space comes
# back. Every batch answered 200 must be there after a restart, and no batch
# answered with an error may be stored (store events == acknowledged events,
# exactly). The full disk must be logged to stderr. Needs root (mount);
# exits 77 (skipped) without it.
# Usage: test_disk_full.sh CAUSEWAY_SERVER
set -euo pipefail
SERVER=$1
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

# Batches are Raceway bodies of one event carrying random text, so that a
# record's size on disk is known (random text does not compress).
ACKED=0 FAILED=0 B=0
body() { # file of a body whose record is about $2 bytes
  printf '{"events":[{"id":0,"pad":"%s"}]}' \
    "$(head -c $(( $2 * 3 / 4 )) /dev/urandom | base64 -w0)" >"$W/$1"
}
body small 4000
body big 12000
send() { # one batch ($1: small or big); counts what was acknowledged
  local code
  code=$(curl -s -o "$W/resp" -w '%{http_code}' -H 'Expect:' \
    -H 'Content-Type: application/json' --data-binary @"$W/$1" \
    "$URL/events" || true)
  if [ "$code" = 200 ]; then
    ACKED=$((ACKED + 1))
  else
    FAILED=$((FAILED + 1))
  fi
  B=$((B + 1))
}
fill() { dd if=/dev/zero of="$MNT/filler$1" bs=4k >/dev/null 2>&1 || true; }
seg1() { stat -c %s "$DATA/seg-000001.cwlog"; }

start
send small
REC=$(( $(seg1) - 8 ))
[ "$ACKED" = 1 ] || { cat "$W/resp"; echo "FAIL: first batch not acknowledged"; exit 1; }
# Fill segment 1 while two more records still fit without rotating.
while [ $(( $(seg1) + 2 * REC )) -le 65536 ]; do send small; done
echo "segment 1: $(seg1) bytes, records of about $REC bytes, acked $ACKED"
# The disk is full just as the next (triple-size) batch must start
# segment 2, whose header then cannot be written.
fill 1
before=$FAILED
for _ in 1 2 3; do send big; done
[ "$FAILED" -gt "$before" ] || { echo "FAIL: no write failed on a full disk"; exit 1; }
grep -q 'store: .*No space left on device' "$W/err" ||
  { cat "$W/err"; echo "FAIL: the full disk was not logged to stderr"; exit 1; }
grep -q 'seg-000002.cwlog: writing the segment header' "$W/err" ||
  { cat "$W/err"; echo "FAIL: the rotation did not meet the full disk"; exit 1; }
# Space comes back: ingest works again (a new segment with its header).
rm -f "$MNT/filler1"
for _ in $(seq 10); do send small; done
# Full again in the middle of a segment: partial records are cut.
fill 2
for _ in $(seq 5); do send small; done
rm -f "$MNT/filler2"
for _ in $(seq 5); do send small; done
echo "acknowledged $ACKED batches (one event each), $FAILED refused"
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
