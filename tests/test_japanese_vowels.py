"""Tests for the bundled JapaneseVowels data set (load_japanese_vowels)."""

import collections
import gzip
from importlib import resources

import numpy as np
import pytest

from skrnn.datasets import load_japanese_vowels

SPEAKERS = tuple("123456789")

# measured with tools/make_japanese_vowels.py --stats (UCI documents the same counts)
COUNTS = {
    "train": (30, 30, 30, 30, 30, 30, 30, 30, 30),
    "test": (31, 35, 88, 44, 29, 24, 40, 50, 29),
}
# (utterances, frames, shortest, longest)
SIZES = {
    "train": (270, 4274, 7, 26),
    "test": (370, 5687, 7, 29),
    "all": (640, 9961, 7, 29),
}
# first three values of the first frame of the first utterance of each source file
FIRST_VALUES = {"train": (1.860936, -0.207383, 0.261557), "test": (1.635533, 0.024848, 0.432087)}


@pytest.fixture(scope="module")
def splits():
    """Load every subset once per module."""
    return {s: load_japanese_vowels(s) for s in SIZES}


@pytest.mark.parametrize("subset", sorted(SIZES))
def test_sizes(splits, subset):
    """Each subset has exactly the measured numbers of utterances and frames and length range."""
    X, y = splits[subset]
    n_utt, n_frames, shortest, longest = SIZES[subset]
    assert len(X) == len(y) == n_utt
    lengths = [len(x) for x in X]
    assert sum(lengths) == n_frames
    assert min(lengths) == shortest and max(lengths) == longest


@pytest.mark.parametrize("subset", ["train", "test"])
def test_per_speaker_counts_and_order(splits, subset):
    """Each speaker has the measured number of utterances, and labels come sorted by speaker."""
    _, y = splits[subset]
    counts = collections.Counter(y.tolist())
    assert tuple(counts[s] for s in SPEAKERS) == COUNTS[subset]
    assert y.tolist() == sorted(y.tolist())


def test_all_is_train_then_test(splits):
    """'all' is the train utterances followed by the test utterances, unchanged."""
    Xa, ya = splits["all"]
    Xtr, ytr = splits["train"]
    Xte, yte = splits["test"]
    assert ya.tolist() == ytr.tolist() + yte.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(Xa, Xtr + Xte))


def test_shapes_dtype_and_finite(splits):
    """Every utterance is a finite float32 array of shape (T, 12), writable and C-contiguous."""
    X, _ = splits["all"]
    for x in X:
        assert isinstance(x, np.ndarray) and x.dtype == np.float32
        assert x.ndim == 2 and x.shape[1] == 12 and 7 <= x.shape[0] <= 29
        assert x.flags.writeable and x.flags.c_contiguous
        assert np.isfinite(x).all()


def test_labels_are_speaker_strings(splits):
    """Labels form a 1-D array of the strings '1'..'9', every speaker present in each split."""
    for subset in ("train", "test"):
        _, y = splits[subset]
        assert isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind == "U"
        assert set(y.tolist()) == set(SPEAKERS)


def test_values_as_in_source(splits):
    """The first frame's values equal the source's, so frames are time-major and not rounded."""
    for subset, values in FIRST_VALUES.items():
        X, _ = splits[subset]
        np.testing.assert_array_equal(X[0][0, :3], np.array(values, dtype=np.float32))
    # the train file's first utterance starts 1.860936, 1.891651 in coefficient 1 over time
    assert splits["train"][0][0][1, 0] == np.float32(1.891651)
    assert splits["train"][0][0].shape == (20, 12)


def test_coefficient_statistics(splits):
    """The extreme values over all frames are the measured source values."""
    A = np.concatenate(splits["all"][0])
    assert A.shape == (9961, 12)
    assert A[:, 0].min() == np.float32(-0.783783)
    assert A[:, 0].max() == A.max() == np.float32(2.203141)
    assert A[:, 1:].min() == A.min() == np.float32(-1.852765)
    assert 0.6 < A[:, 1:].max() < 1.4


def test_utterances_are_distinct(splits):
    """No two utterances are identical (no duplicated lines in the conversion)."""
    X, _ = splits["all"]
    assert len({x.tobytes() for x in X}) == len(X)


def test_deterministic(splits):
    """Two loads of the same subset are equal."""
    X, y = load_japanese_vowels("test")
    X0, y0 = splits["test"]
    assert y.tolist() == y0.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(X, X0))


def test_default_is_train(splits):
    """Calling without arguments returns the training set."""
    X, y = load_japanese_vowels()
    assert len(X) == 270
    assert y.tolist() == splits["train"][1].tolist()


def test_returned_arrays_are_copies():
    """Mutating returned arrays and lists does not affect the next load."""
    X, y = load_japanese_vowels("train")
    first = X[0].copy()
    X[0][:] = 99.0
    X[1] = None
    y[:] = "9"
    X.clear()
    X2, y2 = load_japanese_vowels("train")
    assert len(X2) == 270
    np.testing.assert_array_equal(X2[0], first)
    assert X2[1] is not None
    assert y2[0] == "1"


@pytest.mark.parametrize("bad", ["TRAIN", "valid", "validation", "", None, 0, ["train"]])
def test_bad_subset_raises(bad):
    """An unknown subset raises ValueError naming the valid values."""
    with pytest.raises(ValueError) as exc:
        load_japanese_vowels(bad)
    for valid in ("'train'", "'test'", "'all'"):
        assert valid in str(exc.value)


def test_data_file_format():
    """The data file is gzip text: '#' header lines, then one tab-separated utterance per line."""
    ref = resources.files("skrnn.datasets").joinpath("data", "japanese_vowels.txt.gz")
    raw = ref.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0: byte-identical rebuilds
    lines = gzip.decompress(raw).decode("ascii").splitlines()
    data = [ln for ln in lines if not ln.startswith("#")]
    assert len(data) == 640 and lines.index(data[0]) == len(lines) - 640
    assert all(ln.count("\t") == 2 and ln.split("\t")[0] in ("train", "test") for ln in data)


@pytest.mark.parametrize("name", ["japanese_vowels.txt.gz", "JAPANESE_VOWELS_LICENSE.txt"])
def test_data_and_licence_files_ship(name):
    """The data file and its licence are package resources."""
    assert resources.files("skrnn.datasets").joinpath("data", name).is_file()


def test_licence_mentions_bsd_and_citation():
    """The licence file carries sktime's BSD-3 text and the Kudo et al. citation."""
    ref = resources.files("skrnn.datasets").joinpath("data", "JAPANESE_VOWELS_LICENSE.txt")
    text = ref.read_text(encoding="ascii")
    assert "BSD 3-Clause License" in text
    assert "Copyright (c) 2019 - present, The sktime developers." in text
    assert "Multidimensional curve" in text and "Pattern Recognition" in text


def test_package_exports():
    """skrnn.datasets exports load_japanese_vowels through __all__."""
    import skrnn.datasets as ds

    assert "load_japanese_vowels" in ds.__all__
    assert ds.load_japanese_vowels is load_japanese_vowels
