"""A webhook receiver that checks our deliveries with the Standard Webhooks
reference library (`standardwebhooks`), as a department system would.

usage: webhook_receiver.py SECRET_FILE OUTFILE [--fail-first]

The secret (whsec_…) is read from SECRET_FILE at each request, so a test can
start the receiver, subscribe its URL, and then hand it the secret.

Prints the port it listens on (127.0.0.1), then for each POST appends one JSON
line to OUTFILE: {"verified": true, "id", "type", "payload"} or
{"verified": false, "error"}. Answers 204 when the signature verifies, 400
when it does not; with --fail-first, the first attempt of each delivery id
gets 500 (to exercise retries).
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook

secret_file, outfile = sys.argv[1], sys.argv[2]
fail_first = "--fail-first" in sys.argv[3:]
seen = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode("utf-8")
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            with open(secret_file, encoding="utf-8") as f:
                hook = Webhook(f.read().strip())
            payload = hook.verify(body, headers)
            line = {"verified": True, "id": headers.get("webhook-id"), "type": payload.get("type"), "payload": payload}
            status = 204
            if fail_first and headers.get("webhook-id") not in seen:
                seen.add(headers.get("webhook-id"))
                line["answered"] = 500
                status = 500
        except Exception as e:  # noqa: BLE001 - any failure is reported to the test
            line = {"verified": False, "error": repr(e)}
            status = 400
        with open(outfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
