"""A relying party built on Authlib drives yiwang's OIDC provider end to end:
discovery, login, consent, code + PKCE token exchange, ID-token validation
against the JWKS, userinfo, refresh-token rotation with reuse detection, and
RP-initiated logout. A person's browser is played by a requests.Session that
submits the provider's real HTML forms. Prints a JSON summary; exits non-zero
on the first deviation.

Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_URI,
LOGIN, PASSWORD.
"""
import json
import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import warnings

import requests

warnings.simplefilter("ignore")
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ["ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
REDIRECT_URI = os.environ["REDIRECT_URI"]
POST_LOGOUT_URI = os.environ["POST_LOGOUT_URI"]
LOGIN = os.environ["LOGIN"]
PASSWORD = os.environ["PASSWORD"]

summary = {}


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what, "so_far": summary}, ensure_ascii=False))
        sys.exit(1)


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    check(m is not None, f"hidden field {name} in page")
    return m.group(1).replace("&amp;", "&").replace("&#x2f;", "/").replace("&#38;", "&").replace("&#x3d;", "=")


def location(resp):
    check(resp.status_code in (302, 303), f"redirect expected, got {resp.status_code}: {resp.text[:300]}")
    return urljoin(ISSUER + "/", resp.headers["Location"])


# 1. Discovery.
meta = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
check(meta["issuer"] == ISSUER, "issuer matches")
check("S256" in meta["code_challenge_methods_supported"], "S256 advertised")
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
summary["discovery"] = True

# 2. Authorization request (Authlib builds it, with PKCE S256 and a nonce).
client = OAuth2Session(
    CLIENT_ID,
    CLIENT_SECRET,
    scope="openid profile phone offline_access",
    redirect_uri=REDIRECT_URI,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(16)
auth_url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

browser = requests.Session()
r = browser.get(auth_url, allow_redirects=False, headers={"Accept": "text/html"})
login_url = location(r)
check(urlparse(login_url).path == "/login", "unauthenticated authorize goes to the login page")

# 3. Login through the real form (with its CSRF token).
page = browser.get(login_url, headers={"Accept": "text/html"})
check(page.status_code == 200, "login page")
r = browser.post(
    f"{ISSUER}/login",
    data={"login": LOGIN, "password": PASSWORD, "csrf": hidden(page.text, "csrf"), "next": hidden(page.text, "next")},
    allow_redirects=False,
)
back = location(r)
check(urlparse(back).path == "/oidc/authorize", "login returns to authorize")
summary["login"] = True

# 4. Consent.
page = browser.get(back, allow_redirects=False, headers={"Accept": "text/html"})
if page.status_code == 200:
    check("同意授权" in page.text, "consent page shown")
    r = browser.post(
        f"{ISSUER}/oidc/authorize",
        data={"csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"), "decision": "allow"},
        allow_redirects=False,
    )
    summary["consent"] = "shown"
else:
    r = page
    summary["consent"] = "remembered"
callback = location(r)
q = parse_qs(urlparse(callback).query)
check(callback.startswith(REDIRECT_URI) and "code" in q, "redirected to the client with a code")
check(q.get("iss") == [ISSUER], "RFC 9207 iss parameter")

# 5. Token exchange (client_secret_basic + code_verifier).
token = client.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
check(token["token_type"].lower() == "bearer" and "refresh_token" in token and "id_token" in token, "token response")
claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "values": [ISSUER]}},
    claims_params={"nonce": nonce, "client_id": CLIENT_ID},
)
claims.validate()
check(claims["aud"] == CLIENT_ID and claims["nonce"] == nonce, "ID token audience and nonce")
summary["token"] = {"id_token_alg": jwt.decode(token["id_token"], jwks).header["alg"], "acr": claims.get("acr")}

# 6. Userinfo: profile with a masked ID, never the full one without the idcard scope.
info = client.get(meta["userinfo_endpoint"]).json()
check(info["sub"] == claims["sub"], "userinfo sub matches the ID token")
check("*" in info.get("id_number_masked", "") and "id_number" not in info, "masked ID only")
summary["userinfo"] = {k: info[k] for k in ("name", "id_number_masked", "real_name_level") if k in info}

# 7. Refresh: rotation, then reuse detection (a rotated-out token coming back
# revokes the whole grant).
first_refresh = token["refresh_token"]
new_token = client.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
check(new_token["refresh_token"] != first_refresh and new_token["access_token"] != token["access_token"], "refresh rotates both tokens")
check(client.get(meta["userinfo_endpoint"]).status_code == 200, "new access token works")


def refresh_raw(rt):
    return requests.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": rt},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )


reuse = refresh_raw(first_refresh)
check(reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", "reused refresh token refused")
check(refresh_raw(new_token["refresh_token"]).status_code == 400, "reuse revoked the rotated refresh token too")
check(client.get(meta["userinfo_endpoint"]).status_code == 401, "reuse revoked the grant's access token")
summary["refresh"] = {"rotation": True, "reuse_detection": True}


def authorize_again():
    """The browser still holds its session and consent: single sign-on, no forms."""
    v = secrets.token_urlsafe(48)
    n = secrets.token_urlsafe(16)
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=v, nonce=n)
    cb = location(browser.get(url, allow_redirects=False, headers={"Accept": "text/html"}))
    check(cb.startswith(REDIRECT_URI) and "code=" in cb, "SSO: code issued without login or consent")
    return cb, v


# 8. A stolen code used twice: refused, and the tokens it produced are revoked.
cb, v = authorize_again()
second = client.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=v)
check(client.get(meta["userinfo_endpoint"]).status_code == 200, "second grant works")
code = parse_qs(urlparse(cb).query)["code"][0]
replay = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": v},
    auth=(CLIENT_ID, CLIENT_SECRET),
    timeout=10,
)
check(replay.status_code == 400 and replay.json()["error"] == "invalid_grant", "code replay refused")
check(client.get(meta["userinfo_endpoint"]).status_code == 401, "code replay revoked its tokens")
summary["sso"] = True
summary["code_replay"] = True

# 9. A fresh grant, then RP-initiated logout with id_token_hint; the person confirms.
cb, v = authorize_again()
token = client.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=v)
check(client.get(meta["userinfo_endpoint"]).status_code == 200, "third grant works")
new_token = token
r = browser.get(
    meta["end_session_endpoint"],
    params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "bye"},
    headers={"Accept": "text/html"},
)
check(r.status_code == 200 and "退出" in r.text, "logout confirmation page")
r = browser.post(
    meta["end_session_endpoint"],
    data={
        "csrf": hidden(r.text, "csrf"),
        "id_token_hint": hidden(r.text, "id_token_hint"),
        "post_logout_redirect_uri": hidden(r.text, "post_logout_redirect_uri"),
        "state": hidden(r.text, "state"),
    },
    allow_redirects=False,
)
after = location(r)
check(after.startswith(POST_LOGOUT_URI) and parse_qs(urlparse(after).query).get("state") == ["bye"], "back to the client after logout")
check(client.get(meta["userinfo_endpoint"]).status_code == 401, "access token dead after logout")
dead = refresh_raw(new_token["refresh_token"])
check(dead.status_code == 400 and dead.json()["error"] == "invalid_grant", "refresh token dead after logout")
r = browser.get(f"{ISSUER}/account", allow_redirects=False, headers={"Accept": "text/html"})
check(r.status_code in (302, 303), "browser session ended")
summary["logout"] = True

print(json.dumps(summary, ensure_ascii=False))
