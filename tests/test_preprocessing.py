"""Tests for skrnn.preprocessing.TokenNormalizer."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from sklearn.utils.validation import check_is_fitted

from skrnn.preprocessing import TokenNormalizer

X_TOKENS = [["Zoë", "paid", "€12.50", "in", "Köln"], ["Ⅻ", "ﬁne", "٣"], []]


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
        check_estimator_cloneable,
    ],
    ids=lambda check: check.__name__,
)
def test_sklearn_data_free_checks(check):
    """TokenNormalizer passes sklearn's checks that need no 2-D data."""
    check("TokenNormalizer", TokenNormalizer())


def test_defaults_only_lowercase():
    """By default tokens are lowercased and nothing else changes."""
    assert TokenNormalizer().fit_transform(X_TOKENS) == [
        ["zoë", "paid", "€12.50", "in", "köln"],
        ["ⅻ", "ﬁne", "٣"],
        [],
    ]


def test_digits_zero_replaces_every_decimal_digit():
    """digits='zero' maps each decimal digit, ASCII or not, to '0' and keeps case if asked."""
    normalizer = TokenNormalizer(lowercase=False, digits="zero")
    assert normalizer.transform([["Born", "1984", "€12.50", "٣"]]) == [
        ["Born", "0000", "€00.00", "0"]
    ]


@pytest.mark.parametrize(
    ("strip_accents", "expected"),
    [("unicode", ["zoe", "koln", "ø", "日本"]), ("ascii", ["zoe", "koln", "", ""])],
)
def test_strip_accents_like_sklearn_vectorizers(strip_accents, expected):
    """'unicode' drops combining marks only; 'ascii' also drops non-ASCII letters."""
    normalizer = TokenNormalizer(strip_accents=strip_accents)
    assert normalizer.transform([["Zoë", "Köln", "ø", "日本"]]) == [expected]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("NFC", ["\u00e9", "ﬁ"]),
        ("NFD", ["e\u0301", "ﬁ"]),
        ("NFKC", ["\u00e9", "fi"]),
        ("NFKD", ["e\u0301", "fi"]),
    ],
)
def test_unicode_normalize_forms(form, expected):
    """Each Unicode form composes or decomposes, and the K forms unfold ligatures."""
    normalizer = TokenNormalizer(lowercase=False, unicode_normalize=form)
    assert normalizer.transform([["e\u0301", "ﬁ"]]) == [expected]


def test_steps_combine_in_documented_order():
    """Normalisation, accent stripping, lowercasing and digit zeroing all apply together."""
    normalizer = TokenNormalizer(digits="zero", strip_accents="unicode", unicode_normalize="NFKC")
    assert normalizer.transform([["Ⅻ", "ﬁne", "É٣"]]) == [["xii", "fine", "e0"]]


def test_str_elements_are_texts_and_stay_str():
    """A str in X is one text normalised as a whole, returned as a str."""
    normalizer = TokenNormalizer(digits="zero", unicode_normalize="NFKC")
    assert normalizer.transform(["Call 555 ﬁrst", "ok"]) == ["call 000 first", "ok"]


def test_numpy_inputs_become_lists():
    """Arrays of tokens (1-D object or 2-D str) come back as lists of lists of str."""
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.array(["A", "B"]), ["C"]
    assert TokenNormalizer().transform(ragged) == [["a", "b"], ["c"]]
    assert TokenNormalizer().transform(np.array([["A", "B"], ["C", "D"]])) == [
        ["a", "b"],
        ["c", "d"],
    ]
    result = TokenNormalizer().transform([("X", "Y")])
    assert result == [["x", "y"]] and isinstance(result[0], list)


def test_transform_returns_new_lists_and_leaves_input_alone():
    """Transform never mutates X, even when no token changes."""
    X = [["already", "lower"]]
    result = TokenNormalizer().transform(X)
    assert result == X
    assert result is not X and result[0] is not X[0]
    TokenNormalizer(digits="zero").transform([["A1"]])
    assert X == [["already", "lower"]]


tokens = st.lists(st.text(max_size=6), max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(tokens, max_size=5),
    st.booleans(),
    st.sampled_from(["keep", "zero"]),
    st.sampled_from([None, "unicode", "ascii"]),
    st.sampled_from([None, "NFC", "NFKC", "NFD", "NFKD"]),
)
def test_sequence_lengths_are_preserved(X, lowercase, digits, strip_accents, unicode_normalize):
    """Any option combination keeps the number of sequences and of tokens in each."""
    normalizer = TokenNormalizer(
        lowercase=lowercase,
        digits=digits,
        strip_accents=strip_accents,
        unicode_normalize=unicode_normalize,
    )
    result = normalizer.fit_transform(X)
    assert [len(seq) for seq in result] == [len(seq) for seq in X]
    assert all(isinstance(token, str) for seq in result for token in seq)


@settings(max_examples=50, deadline=None)
@given(st.lists(tokens, max_size=5))
def test_transform_is_idempotent_with_all_options(X):
    """Normalising twice gives the same result as normalising once."""
    normalizer = TokenNormalizer(digits="zero", strip_accents="ascii", unicode_normalize="NFKC")
    once = normalizer.transform(X)
    assert normalizer.transform(once) == once


class _RecordingTagger(BaseEstimator):
    """Records the X it was fitted on and predicts its tokens back."""

    def fit(self, X, y=None):
        self.X_seen_ = X
        return self

    def predict(self, X):
        return [np.asarray(seq) for seq in X]


def test_pipeline_passes_normalised_tokens_to_the_estimator():
    """In a Pipeline, the next step is fitted and predicts on normalised tokens."""
    pipe = make_pipeline(TokenNormalizer(digits="zero"), _RecordingTagger())
    pipe.fit([["Born", "1984"]], [["O", "B-DATE"]])
    assert pipe[-1].X_seen_ == [["born", "0000"]]
    assert pipe.predict([["In", "2001"]])[0].tolist() == ["in", "0000"]
    pipe.set_params(tokennormalizer__lowercase=False)
    assert pipe.predict([["In", "2001"]])[0].tolist() == ["In", "0000"]


def test_pipeline_set_output_default_keeps_working():
    """Pipeline.set_output(transform='default') is accepted; a table output is refused."""
    pipe = make_pipeline(TokenNormalizer(), _RecordingTagger())
    assert pipe.set_output(transform="default") is pipe
    with pytest.raises(ValueError, match="cannot become a 'pandas' container"):
        TokenNormalizer().set_output(transform="pandas")


def test_clone_and_get_params_round_trip():
    """Cloning keeps every parameter and makes an independent copy."""
    normalizer = TokenNormalizer(
        lowercase=False, digits="zero", strip_accents="ascii", unicode_normalize="NFKD"
    )
    copy = clone(normalizer)
    assert copy is not normalizer
    assert copy.get_params() == {
        "lowercase": False,
        "digits": "zero",
        "strip_accents": "ascii",
        "unicode_normalize": "NFKD",
    }


def test_stateless_transform_needs_no_fit():
    """An unfitted normaliser counts as fitted and transforms directly."""
    normalizer = TokenNormalizer()
    check_is_fitted(normalizer)
    assert normalizer.transform([["A"]]) == [["a"]]
    assert normalizer.__sklearn_tags__().requires_fit is False


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"digits": "drop"}, "digits"),
        ({"strip_accents": "latin"}, "strip_accents"),
        ({"unicode_normalize": "nfc"}, "unicode_normalize"),
        ({"lowercase": "yes"}, "lowercase"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_invalid_parameters_are_refused_on_fit_and_transform(params, name, method):
    """A bad parameter value raises sklearn's InvalidParameterError naming the parameter."""
    normalizer = TokenNormalizer(**params)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        getattr(normalizer, method)([["a"]])


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (None, "got NoneType"),
        (3, "got int"),
        ("Harry Potter", r"got a single str. To transform one text, pass \[X\]"),
        (b"bytes", "got bytes"),
        ([1, 2, 3], r"X\[0\] is of type int"),
        ([["a", 2]], r"token X\[0\]\[1\] is of type int, not str"),
        ([np.array([["a"]])], r"X\[0\] is an array of shape \(1, 1\)"),
        (np.float64(1.0), "got float64"),
        (np.array("a"), "got ndarray"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_bad_input_is_a_type_error_saying_what_was_expected(X, message, method):
    """Input that is not a list of token sequences or texts is refused with a TypeError."""
    with pytest.raises(TypeError, match="X must be a list of token sequences") as info:
        getattr(TokenNormalizer(), method)(X)
    assert info.match(message)
