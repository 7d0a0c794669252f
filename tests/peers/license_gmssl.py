"""Verify a yiwang sealed license with Python gmssl, following only
docs/license-format.md (no yiwang code):

  license_gmssl.py SEALED.json PUBLIC_HEX  -> prints "valid" or "invalid"

The seal covers b"yiwang-license-v1\n" + the record's canonical JSON:
json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
in UTF-8, signed with SM2 over SM3 under the user ID 1234567812345678.

gmssl's own point arithmetic fails on about 1 scalar in 100: that is reported
as exit code 3 (see sm2_gmssl.py), not as a verdict.
"""
import json
import sys

from gmssl import sm2

sealed = json.load(open(sys.argv[1], encoding="utf-8"))
public = sys.argv[2]
canonical = json.dumps(sealed["record"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
message = b"yiwang-license-v1\n" + canonical.encode("utf-8")
assert sealed["seal"]["alg"] == "SM2-SM3"
crypt = sm2.CryptSM2(private_key=None, public_key=public[2:] if public.startswith("04") else public)
try:
    valid = crypt.verify_with_sm3(sealed["seal"]["signature"], message)
except (TypeError, ValueError) as e:
    print(f"gmssl failed: {e!r}", file=sys.stderr)
    sys.exit(3)
print("valid" if valid else "invalid")
