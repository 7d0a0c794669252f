"""Verify a yiwang SD-JWT VC presentation with the reference Python `sd-jwt`
library (OpenWallet Foundation), from the published material only:

  sdjwt_verify.py PRESENTATION ISSUER_METADATA.json STATUS_LIST.jwt

PRESENTATION is `<jws>~<disclosure>~…~`; the issuer metadata is what
`/.well-known/jwt-vc-issuer/agencies/{uscc}` serves (issuer + JWKS); the status
list is the Token Status List token at the credential's `status.status_list.uri`.

Prints one JSON object: the JOSE header, the verified and disclosed claims,
and the 2-bit status value at the credential's index (0 valid, 1 invalid,
2 suspended). Any verification failure raises (non-zero exit).
"""
import base64
import json
import sys
import zlib

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from sd_jwt.verifier import SDJWTVerifier

presentation = open(sys.argv[1], encoding="ascii").read().strip()
metadata = json.load(open(sys.argv[2], encoding="utf-8"))
status_token = open(sys.argv[3], encoding="ascii").read().strip()
keys = {k["kid"]: k for k in metadata["jwks"]["keys"]}


def issuer_key(iss, header):
    assert iss == metadata["issuer"], f"issuer {iss} is not {metadata['issuer']}"
    assert header["alg"] == "EdDSA", header
    return JWK.from_json(json.dumps(keys[header["kid"]]))


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


verifier = SDJWTVerifier(presentation, issuer_key, serialization_format="compact")
claims = verifier.get_verified_payload()
header = json.loads(b64d(presentation.split("~")[0].split(".")[0]))

# The status list token: signed by the same issuer, then the entry at idx.
jws = JWS()
jws.deserialize(status_token)
status_header = jws.jose_header
jws.verify(JWK.from_json(json.dumps(keys[status_header["kid"]])), alg="EdDSA")
status_payload = json.loads(jws.payload)
ref = claims["status"]["status_list"]
assert status_header["typ"] == "statuslist+jwt", status_header
assert status_payload["sub"] == ref["uri"], (status_payload["sub"], ref["uri"])
bits = status_payload["status_list"]["bits"]
raw = zlib.decompress(b64d(status_payload["status_list"]["lst"]))
idx = ref["idx"]
per_byte = 8 // bits
value = (raw[idx // per_byte] >> ((idx % per_byte) * bits)) & ((1 << bits) - 1)

print(json.dumps({"header": header, "claims": claims, "status": value}, ensure_ascii=False))
