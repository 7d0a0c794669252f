"""SM2 with Python gmssl, the peer our seals must interoperate with.

  sm2_gmssl.py verify PUBLIC_HEX MESSAGE_HEX SIGNATURE_HEX   -> prints "valid" or "invalid"
  sm2_gmssl.py sign PRIVATE_HEX PUBLIC_HEX MESSAGE_HEX       -> prints the raw r||s signature in hex

Public keys are uncompressed SEC1 hex (04 || x || y); gmssl wants x || y.
Signatures use SM3 with the default user ID 1234567812345678.
"""
import sys

from gmssl import sm2

mode = sys.argv[1]
if mode == "verify":
    public, message, signature = sys.argv[2], bytes.fromhex(sys.argv[3]), sys.argv[4]
    crypt = sm2.CryptSM2(private_key=None, public_key=public[2:] if public.startswith("04") else public)
    print("valid" if crypt.verify_with_sm3(signature, message) else "invalid")
elif mode == "sign":
    private, public, message = sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4])
    crypt = sm2.CryptSM2(private_key=private, public_key=public[2:] if public.startswith("04") else public)
    print(crypt.sign_with_sm3(message))
else:
    sys.exit(f"unknown mode {mode}")
