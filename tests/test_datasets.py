"""Tests for the bundled datasets (skrnn.datasets)."""

import collections

import pytest

from skrnn.datasets import load_brown_pos

UNIVERSAL_TAGS = {
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
}

# (sentences, tokens) measured with tools/make_brown.py --stats
SIZES = {
    "train": (51698, 1045389),
    "test": (5642, 115803),
    "all": (57340, 1161192),
}


@pytest.fixture(scope="module")
def splits():
    """Load every subset once per module."""
    return {s: load_brown_pos(s) for s in SIZES}


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_sizes(splits, subset):
    """Each subset has exactly the measured number of sentences and tokens."""
    X, y = splits[subset]
    n_sent, n_tok = SIZES[subset]
    assert len(X) == len(y) == n_sent
    assert sum(len(s) for s in X) == n_tok


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_lengths_match_per_sentence(splits, subset):
    """Every sentence has as many tags as tokens and none is empty."""
    X, y = splits[subset]
    assert all(len(xs) == len(ys) > 0 for xs, ys in zip(X, y, strict=True))


def test_tokens_are_nonempty_strings(splits):
    """Tokens are non-empty strings without whitespace."""
    X, _ = splits["all"]
    assert all(isinstance(w, str) and w and not any(c.isspace() for c in w) for s in X for w in s)


def test_tagset_is_exactly_universal(splits):
    """The tags used are exactly the 12 universal POS tags."""
    _, y = splits["all"]
    assert {t for tags in y for t in tags} == UNIVERSAL_TAGS


def test_tag_distribution(splits):
    """The tag counts over the whole corpus match the measured values."""
    _, y = splits["all"]
    counts = collections.Counter(t for tags in y for t in tags)
    assert counts == {
        "NOUN": 272967,
        "VERB": 182751,
        ".": 147565,
        "ADP": 144766,
        "DET": 134973,
        "ADJ": 74139,
        "PRON": 71311,
        "ADV": 56644,
        "CONJ": 38151,
        "PRT": 21034,
        "NUM": 14879,
        "X": 2012,
    }


def test_first_sentence(splits):
    """The first training sentence is the opening of document ca01."""
    X, y = splits["train"]
    assert X[0][:6] == ["The", "Fulton", "County", "Grand", "Jury", "said"]
    assert y[0][:6] == ["DET", "NOUN", "NOUN", "ADJ", "NOUN", "VERB"]


def test_mapping_rules_on_known_tokens(splits):
    """Contractions, negation and slashed words get the documented tags."""
    X, y = splits["all"]
    seen = collections.defaultdict(set)
    for xs, ys in zip(X, y, strict=True):
        for w, t in zip(xs, ys, strict=True):
            seen[w].add(t)
    assert seen["not"] == {"ADV"}  # '*'
    assert "PRON" in seen["it's"]  # 'pps+bez'
    assert seen["wasn't"] == {"VERB"}  # 'bedz*'
    assert seen["and/or"] == {"CONJ"}  # word containing '/'
    assert seen["/"] == {"ADP"}  # the word '/' itself


def test_all_is_train_plus_test(splits):
    """'all' has the sizes of train and test combined."""
    assert len(splits["all"][0]) == len(splits["train"][0]) + len(splits["test"][0])


def test_train_test_document_disjoint(splits):
    """Train and test are different documents, so their sentences differ."""
    Xtr, _ = splits["train"]
    Xte, _ = splits["test"]
    Xall, _ = splits["all"]
    tr = collections.Counter(tuple(s) for s in Xtr)
    te = collections.Counter(tuple(s) for s in Xte)
    # multiset union of the two subsets is exactly "all"
    assert tr + te == collections.Counter(tuple(s) for s in Xall)
    # only short stock phrases (e.g. "`` Oh , yes .") occur in both; a split
    # by sentence would share far more and longer ones
    shared = set(tr) & set(te)
    assert len(shared) == 37
    assert max(len(s) for s in shared) <= 8
    # test starts with document ca10 (the 10th file), whose first
    # sentence does not occur in train
    assert Xte[0][:3] == ["Vincent", "G.", "Ierulli"]
    assert tuple(Xte[0]) not in tr


def test_deterministic(splits):
    """Two loads of the same subset are equal."""
    assert load_brown_pos("test") == splits["test"]
    assert load_brown_pos("test") == load_brown_pos("test")


@pytest.mark.parametrize("bad", ["TRAIN", "validation", "", None, 0, ["train"]])
def test_bad_subset_raises(bad):
    """An unknown subset raises ValueError naming the valid values."""
    with pytest.raises(ValueError) as exc:
        load_brown_pos(bad)
    msg = str(exc.value)
    for valid in ("'train'", "'test'", "'all'"):
        assert valid in msg


def test_default_subset_is_train(splits):
    """Calling without arguments returns the training subset."""
    X, y = load_brown_pos()
    assert len(X) == SIZES["train"][0]
    assert X[:5] == splits["train"][0][:5]
    assert y[:5] == splits["train"][1][:5]


def test_returned_lists_are_copies():
    """Mutating a returned result does not affect the next load."""
    X, y = load_brown_pos("test")
    first_x, first_y = list(X[0]), list(y[0])
    sent, tags = X[0], y[0]
    sent[0] = "MUTATED"
    sent.append("MUTATED")
    tags.clear()
    X.clear()
    X2, y2 = load_brown_pos("test")
    assert X2[0] == first_x
    assert y2[0] == first_y
    assert X2[0] is not sent and y2[0] is not tags
    assert len(X2) == SIZES["test"][0]


def test_package_exports():
    """skrnn.datasets exports load_brown_pos through __all__."""
    import skrnn.datasets as ds

    assert "load_brown_pos" in ds.__all__
    assert ds.load_brown_pos is load_brown_pos
