"""Tests for skrnn._validation: every bad input gets a clear error."""

import numpy as np
import pytest

from skrnn._validation import check_label_sequences, check_sequences


def test_token_chars_and_numeric_kinds():
    """The three kinds of input are recognised and canonicalised."""
    assert check_sequences([["a", "b"], ("c",)]) == ([["a", "b"], ["c"]], "tokens")
    assert check_sequences(["ab", "c"])[1] == "chars"
    seqs, kind = check_sequences([np.ones((3, 2)), [[1, 2]]])
    assert kind == "numeric" and seqs[1].dtype == np.float32 and seqs[1].shape == (1, 2)


def test_equal_length_number_rows_are_univariate_series():
    """A list of equal-length rows of numbers reads like a 2-D array."""
    seqs, kind = check_sequences([[1, 2, 3], [4, 5, 6]])
    assert kind == "numeric" and [s.shape for s in seqs] == [(3, 1), (3, 1)]


def test_numeric_arrays_2d_and_3d():
    """A 2-D array is univariate series, a 3-D array multivariate ones."""
    seqs, _ = check_sequences(np.zeros((4, 7)))
    assert len(seqs) == 4 and seqs[0].shape == (7, 1)
    seqs, _ = check_sequences(np.zeros((4, 7, 3)))
    assert seqs[0].shape == (7, 3)


def test_object_array_and_series_like():
    """A 1-D object array of token lists is accepted."""
    X = np.empty(2, dtype=object)
    X[0], X[1] = ["a"], ["b", "c"]
    assert check_sequences(X)[0] == [["a"], ["b", "c"]]


@pytest.mark.parametrize(
    "X, exc, match",
    [
        ([], ValueError, "X is empty"),
        (None, TypeError, "X must be a list of sequences"),
        (5, TypeError, "got int"),
        ("The cat sat", TypeError, "wrap it in a list"),
        ([["a"], []], ValueError, r"X\[1\] is an empty sequence"),
        ([["a"], ""], ValueError, r"X\[1\] is an empty sequence"),
        ([None], TypeError, r"X\[0\] is NoneType"),
        ([3, 4], TypeError, r"X\[0\] is int"),
        ([[1.0, 2.0], [3.0]], ValueError, "ragged 2-D list of numbers"),
        ([np.arange(3.0), np.arange(2.0)], ValueError, "ragged 2-D list of numbers"),
        ([np.ones((2, 1)), np.arange(3.0)], ValueError, "flat sequence of numbers"),
        ([["a", 3]], TypeError, r"X\[0\]\[1\] is int"),
        ([["a"], np.ones((2, 2))], ValueError, "mixes kinds"),
        ([np.array([[1.0, np.nan]])], ValueError, "NaN or infinity"),
        ([np.array([[np.inf]])], ValueError, "NaN or infinity"),
        ([np.ones((3, 2)), np.ones((1, 2)), np.array([[0.0, 1.0], [np.nan, 0.0]])],
         ValueError, r"X\[2\] contains NaN"),  # found in one pass over all steps
        ([np.ones((1, 1)), np.array([[1e39]])], ValueError, r"X\[1\] holds values too large"),
        ([np.ones((2, 2)), np.ones((2, 3))], ValueError, "3 features per step"),
        ([np.zeros((0, 2))], ValueError, "empty sequence"),
        (np.zeros(3), ValueError, "must be 2-D"),
    ],
)
def test_bad_X_messages(X, exc, match):
    """Each malformed X raises a ValueError/TypeError that names the problem."""
    with pytest.raises(exc, match=match):
        check_sequences(X)


def test_str_subclass_tokens_become_builtin_str():
    """A numpy.str_ token among plain str tokens is accepted and returned as a builtin str."""
    seqs, kind = check_sequences([["a", "b"], ["c", np.str_("d")]])
    assert kind == "tokens" and seqs == [["a", "b"], ["c", "d"]]
    assert all(type(t) is str for s in seqs for t in s)


def test_kind_and_n_features_at_predict_time():
    """Input of another kind or width than at fit time is refused."""
    with pytest.raises(ValueError, match="fitted on sequences that are a list of str tokens"):
        check_sequences(["abc"], kind="tokens")
    with pytest.raises(ValueError, match="fitted with 3"):
        check_sequences([np.ones((2, 2))], n_features=3)


@pytest.mark.parametrize(
    "y, exc, match",
    [
        (None, ValueError, "y is required"),
        ([["A", "B"]], ValueError, "different numbers of sequences: 2 and 1"),
        (["A", "B"], TypeError, "Did you pass a flat list of labels"),
        ([["A"], ["B", "C"]], ValueError, r"X\[0\] has 2 steps but y\[0\] has 1 labels"),
        ([["A", "B"], [1]], TypeError, "mixes str and int labels"),
        ([[0.5, 1.0], [1.0]], ValueError, "non-integer float labels"),
        ([[np.nan, 1.0], [1.0]], ValueError, "NaN"),
        ([[None, "A"], ["B"]], TypeError, "labels must be all str or all int"),
        ([3, 4], TypeError, "flat list of labels"),
    ],
)
def test_bad_y_messages(y, exc, match):
    """Each malformed y raises an error that names the problem."""
    X = [["a", "b"], ["c"]]
    with pytest.raises(exc, match=match):
        check_label_sequences(y, X, "tokens")


def test_untokenised_sentence_hint():
    """A raw sentence string with per-word labels suggests tokenising."""
    with pytest.raises(ValueError, match=r"tokenize the sentences first"):
        check_label_sequences([["DET", "NOUN"]], ["The cat"], "chars")


def test_string_labels_for_character_input():
    """For character input, a label string gives one label per character."""
    out = check_label_sequences(["BIE"], ["abc"], "chars")
    assert out[0].tolist() == ["B", "I", "E"]
