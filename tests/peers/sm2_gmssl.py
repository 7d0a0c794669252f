"""SM2 with Python gmssl, the peer our seals must interoperate with.

  sm2_gmssl.py verify PUBLIC_HEX MESSAGE_HEX SIGNATURE_HEX   -> prints "valid" or "invalid"
  sm2_gmssl.py sign PRIVATE_HEX PUBLIC_HEX MESSAGE_HEX       -> prints the raw r||s signature in hex

Public keys are uncompressed SEC1 hex (04 || x || y); gmssl wants x || y.
Signatures use SM3 with the default user ID 1234567812345678.

gmssl 3.2's CryptSM2 takes a public key starting with "04" as SEC1 and strips
it with str.lstrip("04"), which also eats the x coordinate's leading '0' and '4'
digits: for 1 key in 256 (x starting "04") it then fails inside its point
arithmetic. `sm2_crypt` sets the key after construction instead.

Should gmssl still fail (it raises, or signs nothing), that is reported as exit
code 3, not as a verdict; the tests treat it as a failure.
"""
import sys

from gmssl import sm2

GMSSL_FAILED = 3


def sm2_crypt(private, public):
    """A CryptSM2 for a SEC1 uncompressed public key (04 || x || y), or x || y."""
    xy = public[2:] if len(public) == 130 and public.startswith("04") else public
    crypt = sm2.CryptSM2(private_key=private, public_key=xy)
    crypt.public_key = xy  # undo the constructor's lstrip("04"), see above
    return crypt


mode = sys.argv[1]
if mode not in ("verify", "sign"):
    sys.exit(f"unknown mode {mode}")
try:
    if mode == "verify":
        public, message, signature = sys.argv[2], bytes.fromhex(sys.argv[3]), sys.argv[4]
        crypt = sm2_crypt(None, public)
        print("valid" if crypt.verify_with_sm3(signature, message) else "invalid")
    else:
        private, public, message = sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4])
        crypt = sm2_crypt(private, public)
        signature = crypt.sign_with_sm3(message)
        if signature is None:
            raise ValueError("gmssl produced no signature")
        print(signature)
except (TypeError, ValueError) as e:
    print(f"gmssl failed: {e!r}", file=sys.stderr)
    sys.exit(GMSSL_FAILED)
