"""An ERP endpoint for the export tests: a real HTTP server (Python's http.server) that checks
each delivery the way docs/CONNECTORS.md tells a receiver to, independently of THERMALIQ's code.

Usage: python erp_receiver.py PORT KEY_FILE LOG_FILE [FAIL_STATUS]

- POST (any path): verifies X-Thermaliq-Signature = "sha256=" + hex HMAC-SHA256(key,
  X-Thermaliq-Timestamp + "." + body) and that the timestamp is within 300 s of now, and that
  the body's calculation_id equals the Idempotency-Key header. A bad signature or timestamp is
  answered 401, a mismatched key 422. While a failure status is set, every POST is answered
  with it after the checks (and recorded as not accepted). Otherwise 200; a key seen before
  (in LOG_FILE, so across restarts) is answered 200 again and recorded as a duplicate.
- POST /control with {"fail": 503} or {"fail": null}: sets or clears the failure status.

Every delivery is appended to LOG_FILE as one JSON line {"key", "status", "signature_ok",
"duplicate", "body"}, written before the answer is sent. Prints "ready" once listening.
"""

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    KEY = f.read()
LOG = sys.argv[3]
STATE = {"fail": int(sys.argv[4]) if len(sys.argv) > 4 else None}
LOCK = threading.Lock()


def accepted_keys():
    keys = set()
    try:
        with open(LOG, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                if entry["status"] == 200:
                    keys.add(entry["key"])
    except FileNotFoundError:
        pass
    return keys


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/control":
            STATE["fail"] = json.loads(body)["fail"]
            self.answer(200, STATE)
            return
        key = self.headers.get("Idempotency-Key", "")
        timestamp = self.headers.get("X-Thermaliq-Timestamp", "")
        expected = "sha256=" + hmac.new(
            KEY, timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        signature_ok = hmac.compare_digest(
            expected, self.headers.get("X-Thermaliq-Signature", "")
        )
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        with LOCK:
            if not (signature_ok and fresh):
                status, reply = 401, {"error": "bad signature or timestamp"}
            elif not isinstance(doc, dict) or doc.get("calculation_id") != key:
                status, reply = 422, {"error": "calculation_id does not match Idempotency-Key"}
            elif STATE["fail"] is not None:
                status, reply = STATE["fail"], {"error": "failing on purpose"}
            else:
                status, reply = 200, {"accepted": key}
            duplicate = status == 200 and key in accepted_keys()
            entry = {
                "key": key,
                "status": status,
                "signature_ok": signature_ok,
                "duplicate": duplicate,
                "body": doc,
            }
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        self.answer(status, reply)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
