"""Tests for the bundled text datasets (load_shakespeare, load_dinosaurs)."""

import collections
import gzip
import re
import string
from importlib import resources

import pytest

from skrnn.datasets import load_dinosaurs, load_shakespeare

# (plays, characters, non-empty lines) measured with tools/make_shakespeare.py --stats
SIZES = {
    "train": (6, 802453, 23257),
    "valid": (1, 114838, 3429),
    "test": (1, 103371, 3223),
    "all": (8, 1020662, 29909),
}

# first line of every play, in the loader's (file name) order
FIRST_LINES = {
    "train": [
        "HAMLET, PRINCE OF DENMARK",
        "THE LIFE OF KING HENRY V",
        "JULIUS CAESAR",
        "A MIDSUMMER NIGHT'S DREAM",
        "MUCH ADO ABOUT NOTHING",
        "ROMEO AND JULIET",
    ],
    "valid": ["TWELFTH NIGHT; OR, WHAT YOU WILL"],
    "test": ["MACBETH"],
}

N_DINOSAURS = 1318


@pytest.fixture(scope="module")
def plays():
    """Load every subset, one string per play, once per module."""
    return {s: load_shakespeare(s) for s in SIZES}


@pytest.fixture(scope="module")
def lines():
    """Load every subset, one string per line, once per module."""
    return {s: load_shakespeare(s, by="line") for s in SIZES}


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_shakespeare_sizes(plays, lines, subset):
    """Each subset has exactly the measured numbers of plays, characters and lines."""
    n_plays, n_chars, n_lines = SIZES[subset]
    assert len(plays[subset]) == n_plays
    assert sum(map(len, plays[subset])) == n_chars
    assert len(lines[subset]) == n_lines


def test_shakespeare_plays_in_each_split(plays):
    """The split puts the documented plays in train, valid and test, in file-name order."""
    for subset, first in FIRST_LINES.items():
        assert [p.split("\n", 1)[0] for p in plays[subset]] == first


def test_shakespeare_no_gutenberg_text():
    """Neither the data file nor any play mentions Project Gutenberg or its markers."""
    ref = resources.files("skrnn.datasets").joinpath("data", "shakespeare.txt.gz")
    raw = gzip.decompress(ref.read_bytes()).decode("ascii")
    assert "gutenberg" not in raw.lower()
    for marker in ("START OF THE", "END OF THE", "START OF THIS", "END OF THIS", "***"):
        assert marker not in raw
    assert not re.search(r"(?i)\betext\b|\bebook\b|small print|transcriber|copyright", raw)


def test_shakespeare_split_disjoint_and_complete(plays):
    """Train, valid and test share no play and together are exactly 'all'."""
    tr, va, te = (set(plays[s]) for s in ("train", "valid", "test"))
    assert not tr & va and not tr & te and not va & te
    assert collections.Counter(plays["train"] + plays["valid"] + plays["test"]) == (
        collections.Counter(plays["all"])
    )
    assert len(set(plays["all"])) == 8


def test_shakespeare_deterministic(plays, lines):
    """Two loads of the same subset are equal."""
    assert load_shakespeare("valid") == plays["valid"]
    assert load_shakespeare("test", by="line") == lines["test"]


def test_shakespeare_default_is_train_by_play(plays):
    """Calling without arguments returns the training plays, one string each."""
    assert load_shakespeare() == plays["train"]


def test_shakespeare_play_format(plays):
    """Plays end in a newline, have no trailing spaces, no double blank line and no '#' line."""
    for play in plays["all"]:
        assert play.endswith("\n") and not play.endswith("\n\n")
        assert not play.startswith("\n")
        assert "\n\n\n" not in play
        for line in play.split("\n"):
            assert line == line.rstrip()
            assert not line.startswith("#")


def test_shakespeare_keeps_play_structure(plays):
    """Speaker names, stage directions and act headings are kept on lines of their own."""
    macbeth = plays["test"][0]
    assert "\nACT I.\n" in macbeth
    assert "\nFIRST WITCH.\nWhen shall we three meet again?\n" in macbeth
    assert "\n[Enter three Witches.]\n" in macbeth


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_shakespeare_lines_are_the_nonempty_lines(plays, lines, subset):
    """by='line' gives exactly the non-blank lines of the plays, in order, without newlines."""
    assert all(line.strip() and "\n" not in line for line in lines[subset])
    expected = [ln for p in plays[subset] for ln in p.split("\n") if ln.strip()]
    assert lines[subset] == expected


def test_shakespeare_character_set(plays):
    """Train uses 73 ASCII characters; valid adds none and test adds only '(' and ')'."""
    train = set("".join(plays["train"]))
    assert len(train) == 73
    assert train <= set(string.printable)
    assert set("".join(plays["valid"])) <= train
    assert set("".join(plays["test"])) - train == {"(", ")"}


@pytest.mark.parametrize("bad", ["TRAIN", "validation", "dev", "", None, 0, ["train"]])
def test_shakespeare_bad_subset_raises(bad):
    """An unknown subset raises ValueError naming the valid values."""
    with pytest.raises(ValueError) as exc:
        load_shakespeare(bad)
    for valid in ("'train'", "'valid'", "'test'", "'all'"):
        assert valid in str(exc.value)


@pytest.mark.parametrize("bad", ["plays", "lines", "char", "", None, 1])
def test_shakespeare_bad_by_raises(bad):
    """An unknown 'by' raises ValueError naming the valid values."""
    with pytest.raises(ValueError, match=r"by must be one of 'play', 'line'"):
        load_shakespeare("train", by=bad)


def test_shakespeare_by_is_keyword_only():
    """'by' cannot be passed positionally."""
    with pytest.raises(TypeError):
        load_shakespeare("train", "line")


def test_shakespeare_returned_lists_are_copies():
    """Mutating a returned list does not affect the next load."""
    first = load_shakespeare("valid")
    n_lines = len(load_shakespeare("valid", by="line"))
    got = load_shakespeare("valid")
    got.append("MUTATED")
    got[0] = "MUTATED"
    by_line = load_shakespeare("valid", by="line")
    by_line.clear()
    assert load_shakespeare("valid") == first
    assert load_shakespeare("valid") is not got
    assert len(load_shakespeare("valid", by="line")) == n_lines


def test_dinosaurs_size_and_order():
    """There are exactly the measured number of names, sorted, first and last as shipped."""
    names = load_dinosaurs()
    assert len(names) == N_DINOSAURS
    assert names == sorted(names)
    assert names[:2] == ["aachenosaurus", "aardonyx"]
    assert names[-1] == "zupaysaurus"
    assert "tyrannosaurus" in names


def test_dinosaurs_nonempty_unique_lowercase():
    """Names are unique, non-empty, stripped and made of the letters a-z only."""
    names = load_dinosaurs()
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z]+", name) for name in names)
    assert min(map(len, names)) == 3 and max(map(len, names)) == 23
    assert sum(map(len, names)) == 15547


def test_dinosaurs_returned_list_is_a_copy():
    """Mutating the returned list does not affect the next load."""
    names = load_dinosaurs()
    names[0] = "MUTATED"
    names.clear()
    again = load_dinosaurs()
    assert len(again) == N_DINOSAURS and again[0] == "aachenosaurus"
    assert again is not names


@pytest.mark.parametrize(
    "name",
    ["shakespeare.txt.gz", "SHAKESPEARE_LICENSE.txt", "dinosaurs.txt", "DINOSAURS_LICENSE.txt"],
)
def test_data_and_licence_files_ship(name):
    """The data files and their licences are package resources."""
    assert resources.files("skrnn.datasets").joinpath("data", name).is_file()


def test_package_exports():
    """skrnn.datasets exports both loaders through __all__."""
    import skrnn.datasets as ds

    assert {"load_shakespeare", "load_dinosaurs"} <= set(ds.__all__)
    assert ds.load_shakespeare is load_shakespeare
    assert ds.load_dinosaurs is load_dinosaurs
