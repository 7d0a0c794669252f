"""Validate yiwang's OpenAPI document with openapi-spec-validator:

  openapi_validate.py OPENAPI.json  -> prints "valid", or raises
"""
import json
import sys

from openapi_spec_validator import validate

validate(json.load(open(sys.argv[1], encoding="utf-8")))
print("valid")
