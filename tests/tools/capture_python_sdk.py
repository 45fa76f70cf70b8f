#!/usr/bin/env python3
"""Records the POST /events bodies Raceway's real SDKs send, in arrival order.

Used once to make the fixtures in tests/data/raceway-sdk-*; kept so they can
be regenerated. It runs a threaded capture server on 127.0.0.1 and a program
instrumented with Raceway's Python SDK (github Mode7Labs/raceway,
sdks/python, MIT; pass its directory with --sdk):

  locked:   THREADS threads, each in its own Raceway context, do ROUNDS
            read-modify-writes of "balance" inside tracked_lock("account");
  unlocked: the same without the lock.

Each thread's events go to the SDK's shared buffer; every batch_size events a
new thread flushes (Python SDK behaviour), so batches are posted by several
threads at once and reach the server in any order. Bodies are written as
OUT/body-NNN.json in arrival order.
"""
import argparse
import http.server
import os
import sys
import threading

p = argparse.ArgumentParser()
p.add_argument("--sdk", required=True)
p.add_argument("--out", required=True)
p.add_argument("--mode", choices=["locked", "unlocked"], required=True)
p.add_argument("--threads", type=int, default=4)
p.add_argument("--rounds", type=int, default=40)
p.add_argument("--batch-size", type=int, default=50)
a = p.parse_args()
sys.path.insert(0, a.sdk)
import raceway  # noqa: E402

os.makedirs(a.out, exist_ok=True)
mu = threading.Lock()
bodies = []


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with mu:
            bodies.append(body)
        out = b'{"success":true,"data":"ok","error":null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
client = raceway.RacewayClient(raceway.Config(
    endpoint="http://127.0.0.1:%d" % srv.server_address[1],
    service_name="py-bank", instance_id="py-bank-1",
    batch_size=a.batch_size, flush_interval=0.2, environment="test"))
state = {"balance": 1000}
lock = threading.Lock()


def worker():
    raceway.set_context(raceway.create_context())
    for _ in range(a.rounds):
        if a.mode == "locked":
            with raceway.tracked_lock(client, lock, "account"):
                v = state["balance"]
                client.track_state_change("balance", v, v, "Read")
                state["balance"] = v - 1
                client.track_state_change("balance", v, v - 1, "Write")
        else:
            v = state["balance"]
            client.track_state_change("balance", v, v, "Read")
            state["balance"] = v - 1
            client.track_state_change("balance", v, v - 1, "Write")


ts = [threading.Thread(target=worker) for _ in range(a.threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
client.shutdown()
import time  # noqa: E402
time.sleep(1.0)  # flush threads still posting
srv.shutdown()
for i, b in enumerate(bodies):
    with open(os.path.join(a.out, "body-%03d.json" % i), "wb") as f:
        f.write(b)
print("%d bodies" % len(bodies))
