"""Tests for the edit-distance metrics of skrnn.metrics (sequences of any length)."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, KFold

from skrnn import metrics
from skrnn.metrics import (
    edit_distance,
    exact_match_accuracy,
    exact_match_accuracy_scorer,
    token_error_rate,
    token_error_rate_scorer,
)

# Short sequences over a small alphabet, so that random pairs share many tokens.
_SEQUENCES = st.one_of(
    st.text(alphabet="abc", max_size=12),
    st.lists(st.sampled_from(["AH", "B", "K", 3, None]), max_size=12),
)


def _random_corpus(rng, n, alphabet="abcd", max_len=10, min_len=0):
    """``n`` random token lists drawn from ``alphabet``."""
    return [[rng.choice(alphabet) for _ in range(rng.randint(min_len, max_len))] for _ in range(n)]


# --------------------------------------------------------------------------- edit_distance


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("kitten", "sitting", 3),
        ("sitting", "kitten", 3),
        ("flaw", "lawn", 2),
        ("intention", "execution", 5),
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("abc", "cba", 2),
        (["K", "AE", "T"], ["K", "AA", "T", "S"], 2),
        (("K", "AE", "T"), ["K", "AE", "T"], 0),
        (np.array(["K", "AE", "T"]), ["K", "AE", "T"], 0),
        ([1, 2, 3, 4], [2, 3, 4, 5], 2),
        ([(1, 2), (3,)], [(3,), (1, 2)], 2),
        ("abc", ["a", "b", "c"], 0),
        (range(5), [0, 1, 2, 3, 4], 0),
    ],
)
def test_edit_distance_hand_cases(reference, hypothesis, expected):
    """Known distances: kitten/sitting is 3, empty against n tokens is n, ..."""
    distance = edit_distance(reference, hypothesis)
    assert distance == expected
    assert type(distance) is int


def test_strings_compare_characters_and_lists_compare_tokens():
    """A phoneme list counts whole phonemes; the joined string counts characters."""
    assert edit_distance(["AH", "B"], ["AA", "B"]) == 1
    assert edit_distance("AH B", "AA B") == 1
    assert edit_distance(["AH0", "B"], ["AH", "B"]) == 1
    assert edit_distance("AH0 B", "AH B") == 1


@settings(max_examples=200, deadline=None)
@given(_SEQUENCES, _SEQUENCES)
def test_edit_distance_is_a_bounded_symmetric_metric(a, b):
    """d(a, b) = d(b, a), d(a, a) = 0, and |len a - len b| <= d <= max(len a, len b)."""
    distance = edit_distance(a, b)
    assert distance == edit_distance(b, a)
    assert edit_distance(a, a) == 0
    assert abs(len(a) - len(b)) <= distance <= max(len(a), len(b))
    assert (distance == 0) == (list(a) == list(b))


@settings(max_examples=200, deadline=None)
@given(_SEQUENCES, _SEQUENCES, _SEQUENCES)
def test_edit_distance_satisfies_the_triangle_inequality(a, b, c):
    """d(a, c) <= d(a, b) + d(b, c) for random triples."""
    assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)


def test_numpy_rows_equal_the_python_dp():
    """The numpy row update gives the pure-Python DP's distance, short and long."""
    rng = random.Random(0)
    for _ in range(100):
        a, b = _random_corpus(rng, 2, alphabet="abc", max_len=60, min_len=1)
        expected = metrics._levenshtein_python(a, b)
        assert metrics._levenshtein_numpy(*metrics._codes(a, b)) == expected
        a, b = "".join(a), "".join(b)
        assert metrics._levenshtein_numpy(*metrics._codes(a, b)) == expected


def test_long_sequences_with_unhashable_tokens_use_the_python_dp():
    """Tokens that cannot be hashed are still compared (with ==), however long."""
    a = [[i % 3] for i in range(50)]
    b = [[i % 3] for i in range(1, 51)]
    assert edit_distance(a, b) == 2


def test_edit_distance_matches_rapidfuzz():
    """On ~200 random string and token-list pairs, the distance is rapidfuzz's."""
    levenshtein = pytest.importorskip("rapidfuzz.distance").Levenshtein
    rng = random.Random(1)
    for i in range(200):
        # Lengths up to 80 reach both the pure-Python and the numpy code paths.
        max_len = 80 if i % 4 == 0 else 12
        a, b = _random_corpus(rng, 2, alphabet="abcd", max_len=max_len)
        assert edit_distance(a, b) == levenshtein.distance(a, b)
        words_a = [rng.choice(["AH", "B", "K", "T"]) for _ in a]
        words_b = [rng.choice(["AH", "B", "K", "T"]) for _ in b]
        assert edit_distance(words_a, words_b) == levenshtein.distance(words_a, words_b)
        assert edit_distance("".join(a), "".join(b)) == levenshtein.distance("".join(a), "".join(b))


@pytest.mark.parametrize(
    ("reference", "error", "match"),
    [
        (3, TypeError, "reference is of type int, not a sequence"),
        (None, TypeError, "reference is of type NoneType"),
        (b"abc", TypeError, "decode it to str"),
        (np.array([["a", "b"]]), ValueError, r"got an array of shape \(1, 2\)"),
        (iter("abc"), TypeError, "not a sequence"),
    ],
)
def test_edit_distance_refuses_non_sequences(reference, error, match):
    """Numbers, bytes, 2-D arrays and iterators are refused with what to pass instead."""
    with pytest.raises(error, match=match):
        edit_distance(reference, "abc")


# --------------------------------------------------------------------------- token_error_rate


def test_token_error_rate_is_corpus_level():
    """Summed edits over summed reference lengths, not a mean of per-pair rates."""
    y_true = [["K", "AE", "T"], ["D", "AO", "G", "Z", "A", "B"]]
    y_pred = [["K", "AA", "T", "S"], ["D", "AO", "G", "Z", "A", "B"]]
    assert token_error_rate(y_true, y_pred) == pytest.approx(2 / 9)
    assert token_error_rate(["kitten", "dog"], ["sitting", "dog"]) == pytest.approx(3 / 9)
    assert isinstance(token_error_rate(y_true, y_pred), float)


def test_token_error_rate_is_zero_when_exact_and_may_exceed_one():
    """Exact predictions score 0; insertions can push the rate above 1."""
    assert token_error_rate(["abc", "d"], ["abc", "d"]) == 0.0
    assert token_error_rate(["a"], ["bcd"]) == pytest.approx(3.0)


def test_token_error_rate_weights_sequences():
    """A sequence's weight multiplies both its errors and its reference length."""
    y_true = ["abcd", "ab"]
    y_pred = ["abcd", "xy"]
    assert token_error_rate(y_true, y_pred, sample_weight=[1, 3]) == pytest.approx(6 / 10)
    with pytest.raises(ValueError, match=r"one weight per sequence, shape \(2,\)"):
        token_error_rate(y_true, y_pred, sample_weight=[1, 2, 3])


def test_token_error_rate_accepts_predict_output_arrays():
    """Arrays of strings, as an estimator's predict returns, score like lists."""
    y_true = [["K", "AE", "T"], ["D", "AO", "G"]]
    y_pred = [np.array(["K", "AE", "T"]), np.array(["D", "AA", "G", "Z"])]
    assert token_error_rate(y_true, y_pred) == pytest.approx(2 / 6)
    assert token_error_rate(np.array(["ab", "cd"]), ["ab", "cx"]) == pytest.approx(1 / 4)


def test_token_error_rate_allows_some_empty_references():
    """An empty reference adds its prediction's tokens as insertions (as jiwer does)."""
    assert token_error_rate(["ab", ""], ["ab", "c"]) == pytest.approx(1 / 2)


def test_token_error_rate_with_no_reference_token_says_what_to_do():
    """References without a single token leave the rate undefined: a clear error."""
    with pytest.raises(ValueError, match="undefined. Count the edits with edit_distance"):
        token_error_rate(["", []], ["a", []])
    with pytest.raises(ValueError, match="zero weight"):
        token_error_rate(["ab"], ["ab"], sample_weight=[0])


def test_token_error_rate_matches_jiwer():
    """On ~200 random pairs (10 corpora of 20), the rate is jiwer's wer and cer."""
    jiwer = pytest.importorskip("jiwer")
    rng = random.Random(2)
    words = ["the", "cat", "sat", "on", "a", "mat"]
    for _ in range(10):
        y_true = _random_corpus(rng, 20, alphabet=words, max_len=8, min_len=1)
        y_pred = _random_corpus(rng, 20, alphabet=words, max_len=8)
        expected = jiwer.wer([" ".join(s) for s in y_true], [" ".join(s) for s in y_pred])
        assert token_error_rate(y_true, y_pred) == pytest.approx(expected)

        chars_true = ["".join(s) for s in _random_corpus(rng, 20, max_len=15, min_len=1)]
        chars_pred = ["".join(s) for s in _random_corpus(rng, 20, max_len=15)]
        expected = jiwer.cer(chars_true, chars_pred)
        assert token_error_rate(chars_true, chars_pred) == pytest.approx(expected)


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("metric", [token_error_rate, exact_match_accuracy])
def test_count_mismatch_is_refused(metric):
    """y_true and y_pred with different numbers of sequences are refused."""
    with pytest.raises(ValueError, match="y_true has 2 sequences but y_pred has 1"):
        metric(["ab", "c"], ["ab"])


@pytest.mark.parametrize("metric", [token_error_rate, exact_match_accuracy])
def test_empty_input_is_refused(metric):
    """No sequence at all is an error, not a score."""
    with pytest.raises(ValueError, match="y_true is empty"):
        metric([], [])


@pytest.mark.parametrize("metric", [token_error_rate, exact_match_accuracy])
def test_a_single_string_is_not_a_corpus(metric):
    """A bare string for y_true is refused, pointing to edit_distance for one pair."""
    with pytest.raises(TypeError, match=r"y_true must be a list of sequences.*edit_distance"):
        metric("kitten", "sitting")


@pytest.mark.parametrize("metric", [token_error_rate, exact_match_accuracy])
def test_non_sequence_items_are_named(metric):
    """An item that is not a sequence is refused with its position."""
    with pytest.raises(TypeError, match=r"y_pred\[1\] is of type int"):
        metric(["ab", "cd"], ["ab", 4])
    with pytest.raises(TypeError, match=r"y_true\[0\] is bytes; decode it"):
        metric([b"ab"], ["ab"])


@pytest.mark.parametrize("metric", [token_error_rate, exact_match_accuracy])
def test_multi_reference_must_be_a_bool(metric):
    """multi_reference takes True or False only."""
    with pytest.raises(TypeError, match="multi_reference must be True or False"):
        metric(["ab"], ["ab"], multi_reference="yes")


# --------------------------------------------------------------------------- several references


def test_multi_reference_counts_the_closest_reference():
    """Each item counts the edits and the length of its closest reference."""
    y_true = [
        [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]],
        [["D", "AO", "G"]],
    ]
    y_pred = [["T", "AH", "M", "AA", "T", "OW"], ["D", "AA", "G"]]
    assert token_error_rate(y_true, y_pred, multi_reference=True) == pytest.approx(1 / 9)
    # Against the first reference only, "tomato" has one error more.
    first_only = [refs[0] for refs in y_true]
    assert token_error_rate(first_only, y_pred) == pytest.approx(2 / 9)


def test_multi_reference_takes_the_length_of_the_closest_reference():
    """The closest reference, not the longest, gives the denominator; ties go to the first."""
    # "ab" is 1 edit from "abc" (length 3) and 2 from "xyzab" (length 5).
    assert token_error_rate([["xyzab", "abc"]], ["ab"], multi_reference=True) == pytest.approx(
        1 / 3
    )
    # "bc" is 1 edit from both "abc" and "bb": the first listed counts, in either order.
    assert token_error_rate([["abc", "bb"]], ["bc"], multi_reference=True) == pytest.approx(1 / 3)
    assert token_error_rate([["bb", "abc"]], ["bc"], multi_reference=True) == pytest.approx(1 / 2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_SEQUENCES, _SEQUENCES), min_size=1, max_size=5))
def test_one_reference_each_equals_the_plain_rate(pairs):
    """Wrapping every reference in a list of one changes nothing."""
    y_true = [ref for ref, _ in pairs]
    y_pred = [pred for _, pred in pairs]
    if not any(len(ref) for ref in y_true):
        return
    wrapped = [[ref] for ref in y_true]
    assert token_error_rate(wrapped, y_pred, multi_reference=True) == token_error_rate(
        y_true, y_pred
    )
    assert exact_match_accuracy(wrapped, y_pred, multi_reference=True) == exact_match_accuracy(
        y_true, y_pred
    )


def test_multi_reference_refuses_a_bare_string_item():
    """With multi_reference=True a string item is refused (it is not a list of references)."""
    with pytest.raises(TypeError, match=r"y_true\[0\] is of type str.*\['colour'\]"):
        token_error_rate(["colour"], ["color"], multi_reference=True)


def test_multi_reference_refuses_an_item_without_references():
    """An empty list of alternatives is refused with its position."""
    with pytest.raises(ValueError, match=r"y_true\[1\] lists no reference"):
        exact_match_accuracy([["ab"], []], ["ab", "c"], multi_reference=True)


# --------------------------------------------------------------------------- exact match


def test_exact_match_accuracy_allows_any_length():
    """A prediction of another length is wrong, not an error."""
    assert exact_match_accuracy(["cat", "dog"], ["cat", "dogs"]) == 0.5
    assert exact_match_accuracy([["K", "AE", "T"]], [np.array(["K", "AE", "T"])]) == 1.0
    assert exact_match_accuracy(["cat"], [["c", "a", "t"]]) == 1.0
    assert exact_match_accuracy([""], [[]]) == 1.0


def test_exact_match_accuracy_with_alternatives_and_weights():
    """Any listed reference may match; weights are per sequence."""
    y_true = [["color", "colour"], ["grey", "gray"], ["cat"]]
    y_pred = ["colour", "grae", "cat"]
    assert exact_match_accuracy(y_true, y_pred, multi_reference=True) == pytest.approx(2 / 3)
    assert exact_match_accuracy(
        y_true, y_pred, multi_reference=True, sample_weight=[1, 2, 1]
    ) == pytest.approx(2 / 4)


# --------------------------------------------------------------------------- scorers


class _Rewriter(BaseEstimator):
    """Predicts each input reversed or unchanged (a stand-in for a seq2seq model)."""

    def __init__(self, reverse=False):
        self.reverse = reverse

    def fit(self, X, y):
        return self

    def predict(self, X):
        return [list(x[::-1]) if self.reverse else list(x) for x in X]


def test_scorers_equal_their_metrics():
    """The error-rate scorer returns the negated rate; the accuracy scorer the accuracy."""
    X = ["abc", "xy", "pq"]
    y = ["cba", "xy", "qpr"]
    model = _Rewriter(reverse=True)
    rate = token_error_rate(y, model.predict(X))
    assert token_error_rate_scorer(model, X, y) == pytest.approx(-rate)
    assert exact_match_accuracy_scorer(model, X, y) == pytest.approx(1 / 3)


def test_error_rate_scorer_drives_grid_search():
    """GridSearchCV picks the setting with the lower token error rate."""
    X = ["abc", "hello", "xyz", "rnn", "seq"] * 2
    y = [x[::-1] for x in X]
    for scoring in (token_error_rate_scorer, exact_match_accuracy_scorer):
        search = GridSearchCV(_Rewriter(), {"reverse": [False, True]}, scoring=scoring, cv=KFold(2))
        search.fit(X, y)
        assert search.best_params_ == {"reverse": True}


def test_multi_reference_scorer_from_make_scorer():
    """make_scorer passes multi_reference through, for held-out sets with alternatives."""
    scorer = make_scorer(token_error_rate, greater_is_better=False, multi_reference=True)
    model = _Rewriter()
    assert scorer(model, ["ab", "cd"], [["xx", "ab"], ["cd"]]) == 0.0
