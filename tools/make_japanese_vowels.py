#!/usr/bin/env python
"""Build ``skrnn/datasets/data/japanese_vowels.txt.gz`` from sktime's copy of JapaneseVowels.

Developer tool, run once; it is *not* part of the installed package and must
not be imported by it.

Input is the directory ``sktime/datasets/data/JapaneseVowels/`` of the wheel
``sktime-1.2.0-py3-none-any.whl`` (BSD-3-Clause; the data are the UCI
"Japanese Vowels" set of Kudo, Toyama and Shimbo, in sktime's ``.ts`` format).
Fetch the wheel with pip (do *not* install it) and extract that directory and
the licence, then pass the directory::

    D="$(mktemp -d)" && pip download --no-deps sktime==1.2.0 -d "$D" \\
        && (cd "$D" && unzip -q sktime-1.2.0-py3-none-any.whl \\
            'sktime/datasets/data/JapaneseVowels/*' 'sktime-1.2.0.dist-info/licenses/LICENSE')
    python tools/make_japanese_vowels.py "$D/sktime/datasets/data/JapaneseVowels"  # repo root

SHA-256 of the files used (checked by this script; ``--no-check-sha`` skips it)::

    dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae  sktime-1.2.0-py3-none-any.whl
    68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd  JapaneseVowels_TRAIN.ts
    b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462  JapaneseVowels_TEST.ts

Options: ``-o PATH`` to write somewhere else (default: the package data file),
``--stats`` to also print sizes, per-class counts, length ranges and the test
accuracy of a simple baseline (mean and standard deviation of each
coefficient over time, standardised, logistic regression; needs
scikit-learn).

What it does
------------
* Reads ``JapaneseVowels_TRAIN.ts`` (270 utterances) and
  ``JapaneseVowels_TEST.ts`` (370).  Each starts with ``#`` comment lines and
  ``@`` header lines (``@dimensions 12``, ``@equalLength false``,
  ``@classLabel true 1 2 3 4 5 6 7 8 9``, ...) up to ``@data``; then each line
  is one utterance: 12 ``:``-separated dimensions, each a ``,``-separated
  series of ``T`` values (the same ``T``, 7 to 29, for all 12), and the class
  label as a 13th field.  Anything unexpected is an error.
* Transposes each utterance to frame-major order and writes it on one line::

      <split>\\t<label>\\t<v1>,...,<v12>;<v1>,...,<v12>;...   (T frames)

  ``split`` is ``train`` or ``test``; ``label`` the speaker, ``1``..``9``,
  as in the source.  The value *strings* are copied unchanged (no parsing
  and reformatting, so no rounding; the source mixes ``0.21``, ``1.860936``
  and ``-8.01E-4``).  Utterances keep their file order (all of train, then
  all of test; each file is sorted by speaker).
* The output starts with ``#`` comment lines (source, licence, format) and
  is gzip-compressed (level 9, mtime 0, no file name -> byte-identical on
  every run).
* Round trip: the written bytes are decompressed and parsed again and every
  split, label and value string is compared with the source (an error if any
  differs).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import io
import sys
from pathlib import Path

N_DIMS = 12
LABELS = tuple("123456789")
FILES = {"train": "JapaneseVowels_TRAIN.ts", "test": "JapaneseVowels_TEST.ts"}
SHA256 = {
    "JapaneseVowels_TRAIN.ts": "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
    "JapaneseVowels_TEST.ts": "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
}
_HEADERS = {
    "@problemName": "JapaneseVowels",
    "@timeStamps": "false",
    "@missing": "false",
    "@univariate": "false",
    "@dimensions": str(N_DIMS),
    "@equalLength": "false",
    "@classLabel": "true " + " ".join(LABELS),
}

HEADER = """\
# JapaneseVowels: 640 utterances of the two Japanese vowels /ae/, said in
# succession by 9 male speakers, each a sequence of 7-29 frames of 12 LPC
# cepstrum coefficients (UCI Machine Learning Repository; Kudo, Toyama & Shimbo 1999).
# Source: sktime 1.2.0, sktime/datasets/data/JapaneseVowels/JapaneseVowels_{TRAIN,TEST}.ts
# (BSD-3-Clause); see JAPANESE_VOWELS_LICENSE.txt. Built by tools/make_japanese_vowels.py.
# Format: one utterance per line, <split>TAB<label>TAB<frames>; split is train
# or test, label the speaker 1..9; frames are separated by ';', the 12
# coefficients of a frame by ','. Values are written exactly as in the source.
"""


def read_ts(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Parse one sktime ``.ts`` file; return ``(label, dims)`` per utterance.

    ``dims`` is a list of 12 lists of value strings (dimension-major), all of
    the same length.
    """
    text = path.read_bytes().decode("ascii")
    if "\r" in text:
        raise SystemExit(f"{path.name}: unexpected carriage return")
    lines = text.split("\n")
    try:
        start = lines.index("@data") + 1
    except ValueError:
        raise SystemExit(f"{path.name}: no @data line") from None
    headers = {}
    for line in lines[: start - 1]:
        if line.startswith("@"):
            key, _, value = line.partition(" ")
            headers[key] = value
        elif line and not line.startswith("#"):
            raise SystemExit(f"{path.name}: unexpected header line {line!r}")
    if headers != _HEADERS:
        raise SystemExit(f"{path.name}: unexpected headers {headers!r}")
    out = []
    for lineno, line in enumerate(lines[start:], start=start + 1):
        if not line:
            continue
        fields = line.split(":")
        if len(fields) != N_DIMS + 1:
            raise SystemExit(f"{path.name}:{lineno}: {len(fields)} fields, expected 13")
        label = fields[-1]
        if label not in LABELS:
            raise SystemExit(f"{path.name}:{lineno}: unexpected label {label!r}")
        dims = [f.split(",") for f in fields[:-1]]
        if len({len(d) for d in dims}) != 1:
            raise SystemExit(f"{path.name}:{lineno}: dimensions of different lengths")
        for value in (v for d in dims for v in d):
            float(value)  # must parse
            if value != value.strip() or not value:
                raise SystemExit(f"{path.name}:{lineno}: bad value {value!r}")
        out.append((label, dims))
    return out


def read_source(src: Path, check_sha: bool = True) -> list[tuple[str, str, list[list[str]]]]:
    """Return ``(split, label, dims)`` for every utterance, train then test."""
    rows = []
    for split, name in FILES.items():
        path = src / name
        if check_sha:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != SHA256[name]:
                raise SystemExit(f"{name}: SHA-256 {digest} differs from sktime 1.2.0's")
        rows.extend((split, label, dims) for label, dims in read_ts(path))
    return rows


def parse_output(data: bytes) -> list[tuple[str, str, list[list[str]]]]:
    """Parse a built file back into ``(split, label, dims)`` (dimension-major)."""
    rows = []
    for line in gzip.decompress(data).decode("ascii").splitlines():
        if line.startswith("#"):
            continue
        split, label, frames = line.split("\t")
        frame_values = [fr.split(",") for fr in frames.split(";")]
        rows.append((split, label, [list(d) for d in zip(*frame_values)]))
    return rows


def build(rows) -> bytes:
    out = io.StringIO()
    out.write(HEADER)
    for split, label, dims in rows:
        frames = ";".join(",".join(frame) for frame in zip(*dims))
        out.write(f"{split}\t{label}\t{frames}\n")
    raw = out.getvalue().encode("ascii")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(raw)
    data = buf.getvalue()
    if parse_output(data) != rows:
        raise SystemExit("round trip failed: the written file does not parse back to the source")
    return data


def print_stats(rows) -> None:
    import numpy as np

    for split in ("train", "test"):
        sel = [(lab, len(d[0])) for s, lab, d in rows if s == split]
        counts = collections.Counter(lab for lab, _ in sel)
        lens = [n for _, n in sel]
        print(
            f"{split:5s}: {len(sel)} utterances, {sum(lens)} frames, lengths {min(lens)}-"
            f"{max(lens)}; per speaker {[counts[k] for k in LABELS]}"
        )
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:  # pragma: no cover - stats only
        print("(scikit-learn not installed: no baseline)")
        return

    def pooled(split):
        sel = [(lab, np.array(d, dtype=np.float64).T) for s, lab, d in rows if s == split]
        X = np.array([np.concatenate([a.mean(axis=0), a.std(axis=0)]) for _, a in sel])
        return X, np.array([lab for lab, _ in sel])

    Xtr, ytr = pooled("train")
    Xte, yte = pooled("test")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(Xtr, ytr)
    print(
        f"baseline (mean+std over time, 24 features, logistic regression): "
        f"test accuracy {clf.score(Xte, yte):.4f}"
    )


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "src", type=Path, help="sktime/datasets/data/JapaneseVowels from the sktime 1.2.0 wheel"
    )
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=repo / "skrnn" / "datasets" / "data" / "japanese_vowels.txt.gz",
    )
    ap.add_argument("--stats", action="store_true", help="print sizes and a baseline accuracy")
    ap.add_argument(
        "--no-check-sha", action="store_true", help="do not check the input files' SHA-256"
    )
    args = ap.parse_args(argv)
    rows = read_source(args.src, check_sha=not args.no_check_sha)
    data = build(rows)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes): {len(rows)} utterances, round trip exact")
    if args.stats:
        print_stats(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
