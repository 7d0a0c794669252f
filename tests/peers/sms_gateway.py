"""An SMS gateway for the notice tests: accepts the node's signed JSON POSTs,
verifies each signature with the Standard Webhooks reference library (so the
node's signing is checked by an independent implementation), drops repeats by
message id, and writes each accepted message to a directory as JSON. A bad
signature gets 401; the first request for each message id gets 503 when
FAIL_FIRST is set, so the node's retry is exercised.

usage: sms_gateway.py PORT SECRET OUTDIR [FAIL_FIRST]
Prints "ready" once it accepts connections; runs until killed.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

port, secret, outdir = sys.argv[1:4]
fail_first = len(sys.argv) > 4 and sys.argv[4] == "1"
seen_attempts = set()
wh = Webhook(secret)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            wh.verify(body, {k.lower(): v for k, v in self.headers.items()})
        except Exception as e:  # noqa: BLE001 - any verification failure is a 401
            self.send_response(401)
            self.end_headers()
            self.wfile.write(str(e).encode())
            return
        msg = json.loads(body)
        if fail_first and msg["id"] not in seen_attempts:
            seen_attempts.add(msg["id"])
            self.send_response(503)
            self.end_headers()
            return
        path = os.path.join(outdir, f"{msg['id']}.json")
        if not os.path.exists(path):
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(msg, f, ensure_ascii=False)
            os.rename(tmp, path)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"queued"}')

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
print("ready", flush=True)
server.serve_forever()
