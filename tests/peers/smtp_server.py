"""A real SMTP server (aiosmtpd) for the notice tests: STARTTLS required,
AUTH required after TLS, and every message received written to a directory as
JSON with its decoded headers and text, so the test reads what a mail client
would show.

usage: smtp_server.py PORT CERT KEY USER PASSWORD OUTDIR
Prints "ready" once it accepts connections; runs until killed.
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, user, password, outdir = sys.argv[1:7]


class Saver:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "body": body.get_content() if body is not None else "",
            "message_id": str(msg["message-id"]),
            "tls": session.ssl is not None,
            "user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        }
        tmp = os.path.join(outdir, f".{self.n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(outdir, f"{self.n}.json"))
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    # auth_data is kept on the session, so each message records who sent it.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Saver(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
