"""A department system calling a node's integration API as itself (issue 20),
with an off-the-shelf OAuth 2.0 client (Authlib): the client credentials grant
authenticated by client_secret_basic, and by private_key_jwt (RFC 7523) with an
ES256 key made by jwcrypto.

    machine_client_authlib.py keygen DIR   writes DIR/private.json, DIR/jwks.json
    machine_client_authlib.py run          env BASE, BASIC_ID, BASIC_SECRET,
                                           JWT_ID, PRIVATE_KEY (a path), CASE_NO

`run` prints one JSON object of what it saw on its last line; the Rust test
decides what is right.
"""

import json
import os
import sys
import time
import uuid

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey
from jwcrypto import jwk

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def keygen(directory):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="dept-key-1")
    with open(os.path.join(directory, "private.json"), "w") as f:
        json.dump(key.export_private(as_dict=True), f)
    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump({"keys": [key.export_public(as_dict=True)]}, f)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def run():
    base = os.environ["BASE"]
    token_url = f"{base}/oidc/token"
    hooks_url = f"{base}/api/v1/integration/webhooks"
    case_no = os.environ["CASE_NO"]
    out = {}

    d = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    out["discovery"] = "client_credentials" in d["grant_types_supported"] and "private_key_jwt" in d[
        "token_endpoint_auth_methods_supported"
    ]

    # client_secret_basic.
    basic = OAuth2Session(
        os.environ["BASIC_ID"], os.environ["BASIC_SECRET"], token_endpoint_auth_method="client_secret_basic", scope="integration"
    )
    tok = basic.fetch_token(token_url, grant_type="client_credentials")
    out["basic_token"] = {"scope": tok.get("scope"), "token_type": tok.get("token_type"), "expires_in": tok.get("expires_in")}
    out["basic_hooks"] = requests.get(hooks_url, headers=bearer(tok["access_token"]), timeout=10).status_code
    record = {
        "table": "acceptance",
        # GB/T 39046 time: YYYYMMDDThhmmss, China Standard Time.
        "accept_time": time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() + 8 * 3600)),
        "accepting_officer": "市场监管审批系统",
    }
    r = requests.post(
        f"{base}/api/v1/integration/cases/{case_no}/records",
        headers={**bearer(tok["access_token"]), "Idempotency-Key": "machine-accept-1"},
        json=record,
        timeout=10,
    )
    out["record"] = {"status": r.status_code, "body": r.json()}
    # The same token on a route not open to machines authenticates nobody.
    out["other_route"] = requests.get(f"{base}/api/v1/workbench/countersigns", headers=bearer(tok["access_token"]), timeout=10).status_code
    out["garbage_token"] = requests.get(hooks_url, headers=bearer("not-a-token"), timeout=10).status_code
    wrong = requests.post(token_url, auth=(os.environ["BASIC_ID"], "wrong-secret"), data={"grant_type": "client_credentials"}, timeout=10)
    out["wrong_secret"] = [wrong.status_code, wrong.json().get("error")]
    wider = requests.post(
        token_url,
        auth=(os.environ["BASIC_ID"], os.environ["BASIC_SECRET"]),
        data={"grant_type": "client_credentials", "scope": "openid profile"},
        timeout=10,
    )
    out["wider_scope"] = [wider.status_code, wider.json().get("error")]

    # private_key_jwt, as Authlib signs it (no kid in the header, an hour's life).
    with open(os.environ["PRIVATE_KEY"]) as f:
        key = ECKey.import_key(json.load(f))
    signed = OAuth2Session(os.environ["JWT_ID"], key, token_endpoint_auth_method="private_key_jwt", scope="integration")
    signed.register_client_auth_method(PrivateKeyJWT(token_url, alg="ES256"))
    tok2 = signed.fetch_token(token_url, grant_type="client_credentials")
    out["jwt_hooks"] = requests.get(hooks_url, headers=bearer(tok2["access_token"]), timeout=10).status_code

    # One assertion, used twice: the second is refused.
    now = int(time.time())
    jwt_id = os.environ["JWT_ID"]

    def assertion(aud, exp):
        claims = {"iss": jwt_id, "sub": jwt_id, "aud": aud, "iat": now, "exp": exp, "jti": str(uuid.uuid4())}
        return jwt.encode({"alg": "ES256", "kid": "dept-key-1"}, claims, key)

    def post(a):
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": a}
        r = requests.post(token_url, data=form, timeout=10)
        return [r.status_code, r.json().get("error")]

    once = assertion(token_url, now + 120)
    out["replay"] = [post(once), post(once)]
    out["other_audience"] = post(assertion("https://elsewhere.example/token", now + 120))
    out["expired"] = post(assertion(token_url, now - 10))
    out["tokens"] = {"basic": tok["access_token"], "jwt": tok2["access_token"]}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    else:
        run()
