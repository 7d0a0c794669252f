"""Verify a yiwang sealed license with Python gmssl, following only
docs/license-format.md (no yiwang code):

  license_gmssl.py SEALED.json PUBLIC_HEX  -> prints "valid" or "invalid"

The seal covers b"yiwang-license-v1\n" + the record's canonical JSON:
json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
in UTF-8, signed with SM2 over SM3 under the user ID 1234567812345678.

The public key is set after constructing CryptSM2: gmssl 3.2's constructor
strips a leading "04" with str.lstrip, which also eats the x coordinate's leading
'0' and '4' digits (see sm2_gmssl.py). Should gmssl still fail, that is reported
as exit code 3, not as a verdict.
"""
import json
import sys

from gmssl import sm2

sealed = json.load(open(sys.argv[1], encoding="utf-8"))
public = sys.argv[2]
canonical = json.dumps(sealed["record"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
message = b"yiwang-license-v1\n" + canonical.encode("utf-8")
assert sealed["seal"]["alg"] == "SM2-SM3"
xy = public[2:] if len(public) == 130 and public.startswith("04") else public
crypt = sm2.CryptSM2(private_key=None, public_key=xy)
crypt.public_key = xy
try:
    valid = crypt.verify_with_sm3(sealed["seal"]["signature"], message)
except (TypeError, ValueError) as e:
    print(f"gmssl failed: {e!r}", file=sys.stderr)
    sys.exit(3)
print("valid" if valid else "invalid")
