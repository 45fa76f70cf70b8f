#!/usr/bin/env python3
"""Records what Raceway's real Python SDK posts for a call between two
services (run as /tmp/app2/shop.py to make the fixture
tests/data/raceway-sdk-python-two-services; see capture_python_sdk.py).

Service "orders" (Flask, the SDK's flask_middleware): POST /order writes
order:7.state, then calls "billing" POST /charge through client.request(),
which sends Raceway's propagation headers; /charge reads order:7.state.
POST /cancel writes order:7.state with no call. A client calls /order,
then /cancel. The SDK's causality_vector carries "orders"'s clock entry to
billing's events, the only signal that the read follows /order's write;
/cancel's write is ordered with neither.
usage: shop.py --sdk SDK_DIR --out DIR
"""
import argparse
import http.server
import os
import sys
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--sdk", required=True)
p.add_argument("--out", required=True)
a = p.parse_args()
sys.path.insert(0, a.sdk)
import raceway  # noqa: E402
from raceway.middleware import flask_middleware  # noqa: E402
from flask import Flask  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

mu, bodies = threading.Lock(), []


class Capture(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with mu:
            bodies.append(body)
        out = b'{"success":true,"data":"ok","error":null}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


cap = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=cap.serve_forever, daemon=True).start()
endpoint = "http://127.0.0.1:%d" % cap.server_address[1]


def client(name):
    return raceway.RacewayClient(raceway.Config(
        endpoint=endpoint, service_name=name, instance_id=name + "-1",
        environment="test", flush_interval=0.2))


state = {"order:7.state": "new"}
billing, orders = Flask("billing"), Flask("orders")
bc, oc = client("billing"), client("orders")
mb, mo = flask_middleware(bc), flask_middleware(oc)
billing.before_request(mb.before_request)
billing.after_request(mb.after_request)
orders.before_request(mo.before_request)
orders.after_request(mo.after_request)
servers = []


def serve(app):
    s = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    servers.append(s)
    return "http://127.0.0.1:%d" % s.server_port


@billing.route("/charge", methods=["POST"])
def charge():
    v = state["order:7.state"]
    bc.track_state_change("order:7.state", v, v, "Read")
    return "charged"


@orders.route("/order", methods=["POST"])
def order():
    old = state["order:7.state"]
    state["order:7.state"] = "placed"
    oc.track_state_change("order:7.state", old, "placed", "Write")
    oc.request("POST", BILLING + "/charge")
    return "ok"


@orders.route("/cancel", methods=["POST"])
def cancel():
    old = state["order:7.state"]
    state["order:7.state"] = "cancelled"
    oc.track_state_change("order:7.state", old, "cancelled", "Write")
    return "ok"


BILLING = serve(billing)
ORDERS = serve(orders)
import requests  # noqa: E402
requests.post(ORDERS + "/order", timeout=10)
requests.post(ORDERS + "/cancel", timeout=10)
time.sleep(0.5)
bc.shutdown()
oc.shutdown()
time.sleep(0.5)
for s in servers:
    s.shutdown()
cap.shutdown()
os.makedirs(a.out, exist_ok=True)
for i, b in enumerate(bodies):
    with open(os.path.join(a.out, "body-%03d.json" % i), "wb") as f:
        f.write(b)
print("%d bodies" % len(bodies))
