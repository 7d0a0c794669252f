"""SM2 with Python gmssl, the peer our seals must interoperate with.

  sm2_gmssl.py verify PUBLIC_HEX MESSAGE_HEX SIGNATURE_HEX   -> prints "valid" or "invalid"
  sm2_gmssl.py sign PRIVATE_HEX PUBLIC_HEX MESSAGE_HEX       -> prints the raw r||s signature in hex

Public keys are uncompressed SEC1 hex (04 || x || y); gmssl wants x || y.
Signatures use SM3 with the default user ID 1234567812345678.

gmssl's pure-Python point arithmetic fails on about 1 scalar in 100 (it raises,
or signs nothing): that is reported as exit code 3, not as a verdict, so the
caller can try again with a fresh signature.
"""
import sys

from gmssl import sm2

GMSSL_FAILED = 3

mode = sys.argv[1]
if mode not in ("verify", "sign"):
    sys.exit(f"unknown mode {mode}")
try:
    if mode == "verify":
        public, message, signature = sys.argv[2], bytes.fromhex(sys.argv[3]), sys.argv[4]
        crypt = sm2.CryptSM2(private_key=None, public_key=public[2:] if public.startswith("04") else public)
        print("valid" if crypt.verify_with_sm3(signature, message) else "invalid")
    else:
        private, public, message = sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4])
        crypt = sm2.CryptSM2(private_key=private, public_key=public[2:] if public.startswith("04") else public)
        signature = crypt.sign_with_sm3(message)
        if signature is None:
            raise ValueError("gmssl produced no signature")
        print(signature)
except (TypeError, ValueError) as e:
    print(f"gmssl failed: {e!r}", file=sys.stderr)
    sys.exit(GMSSL_FAILED)
