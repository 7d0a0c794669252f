"""Validate identifiers with python-stdnum, the peer implementation.

Reads lines "kind<TAB>code" on stdin and writes one line per input: "ok" or the
stdnum exception class name (InvalidLength, InvalidFormat, InvalidChecksum,
InvalidComponent, BirthPlace, PeerBug).
"""
import sys

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

VALIDATORS = {"citizen_id": ric.validate, "uscc": uscc.validate}

out = []
for line in sys.stdin:
    kind, code = line.rstrip("\n").split("\t")
    try:
        VALIDATORS[kind](code)
        out.append("ok")
    except ValidationError as e:
        name = type(e).__name__
        if kind == "citizen_id" and name == "InvalidComponent":
            # Tell a bad date from stdnum's birth-place rule (county code unknown,
            # or not yet assigned in the birth year).
            try:
                ric.get_birth_date(code)
                name = "BirthPlace"
            except ValidationError:
                pass
        out.append(name)
    except KeyError:
        # python-stdnum 2.2 bug: some entries of its region table have no
        # 'county' key and get_birth_place raises KeyError instead of a
        # validation error. Reported as such, never counted as agreement.
        out.append("PeerBug")
sys.stdout.write("\n".join(out) + "\n")
