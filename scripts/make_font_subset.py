#!/usr/bin/env python3
"""Builds the bundled PDF font: Noto Sans CJK SC (SIL OFL 1.1) Regular,
subset to ASCII, Latin-1, CJK punctuation, full-width forms and the 6,763 hanzi of
GB 2312 plus every character the repository's demo data and templates use.

Source: Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk fonttools).
Run from the repository root: python3 scripts/make_font_subset.py
"""
import pathlib
import subprocess

SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-{}.ttc"
OUT = pathlib.Path("crates/print/fonts")

chars = set(chr(c) for c in range(0x20, 0x7F))
chars |= set(chr(c) for c in range(0xA0, 0x100))
chars |= set(chr(c) for c in range(0x3000, 0x3040))  # CJK punctuation
chars |= set(chr(c) for c in range(0xFF00, 0xFFF0))  # full-width forms
chars |= set("—–‘’“”…·•※√×÷←→↑↓①②③④⑤⑥⑦⑧⑨⑩")
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
for path in pathlib.Path("crates").rglob("*"):
    if path.suffix in {".rs", ".html", ".typ", ".json"} and "target" not in path.parts:
        chars |= {c for c in path.read_text(encoding="utf-8", errors="ignore") if ord(c) > 0x2E80}

OUT.mkdir(parents=True, exist_ok=True)
text = OUT / "chars.txt"
text.write_text("".join(sorted(chars)), encoding="utf-8")
for weight in ["Regular"]:
    subprocess.run(
        [
            "pyftsubset", SRC.format(weight), "--font-number=2", f"--text-file={text}",
            "--layout-features=*", "--no-hinting",
            f"--output-file={OUT / f'NotoSansSC-{weight}-subset.otf'}",
        ],
        check=True,
    )
text.unlink()
print("wrote", sorted(p.name for p in OUT.glob("*.otf")))
