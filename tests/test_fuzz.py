"""Property-based reliability tests: arbitrary input to every estimator.

Each property feeds hypothesis-generated input (ragged, empty, length 1,
very long, unicode with lone surrogates, mixed types, NaN / inf, nested
wrong types, numpy object arrays, pandas Series, generators, dicts, bytes)
to one public method and accepts exactly two outcomes:

- it works, and the result honours the contract (one prediction per input
  sequence with the sequence's length, labels from ``classes_``,
  probabilities finite and summing to 1, finite scores; for a Seq2Seq one
  output per input, of the fitted kind, within its length bound, and
  attention rows that sum to 1); or
- it raises ``ValueError`` / ``TypeError`` (``NotFittedError`` is a
  ``ValueError``) raised by skrnn or scikit-learn, whose message names the
  problem -- not a message leaked from torch, numpy or Python internals.

Anything else (``IndexError``, ``RuntimeError``, ``KeyError``, ...) fails.
Where the input is valid (a clean X, and for Seq2Seq a y of the fitted
kind) an error fails too.

Lone surrogates (``"\\ud800"``) are ordinary characters to skrnn: tokens
and characters are only dictionary keys, never encoded to bytes, so they
are learnt like any other character and unknown ones read as ``<unk>``.

Runs: the default run tries ``FUZZ_EXAMPLES`` (60) cases per property; the
``slow`` variants (``pytest -m slow tests/test_fuzz.py``) try
``FUZZ_SLOW_EXAMPLES`` (1000); the environment variables of the same names
(prefixed ``SKRNN_``) change them. Both are derandomized, so CI sees the same
cases; ``SKRNN_FUZZ_RANDOM=1`` draws new ones.
The number of cases tried and their outcomes per property are printed at
the end of the module; with ``SKRNN_FUZZ_COUNTS=<path>`` set they are also
written to that JSON file, together with a sample of the error messages seen.
"""

import collections
import json
import math
import os
import re
import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from _helpers import quiet_fit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import skrnn
from skrnn import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

FUZZ_EXAMPLES = int(os.environ.get("SKRNN_FUZZ_EXAMPLES", 60))
FUZZ_SLOW_EXAMPLES = int(os.environ.get("SKRNN_FUZZ_SLOW_EXAMPLES", 1000))
#: Where to save the per-property counts as JSON (not saved when unset).
COUNTS_FILE = os.environ.get("SKRNN_FUZZ_COUNTS")

_BASE_SETTINGS = settings(
    deadline=None,
    # Fixed cases for CI; SKRNN_FUZZ_RANDOM=1 explores new ones (locally, to hunt bugs).
    derandomize=os.environ.get("SKRNN_FUZZ_RANDOM") != "1",
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)

#: Per property: how many cases ran and how each ended.
COUNTS = collections.defaultdict(collections.Counter)
#: Per property: a few distinct error messages seen (saved with the counts, for review).
MESSAGES = collections.defaultdict(dict)

TINY = dict(hidden_size=4, embedding_dim=4, max_epochs=1, early_stopping=False,
            random_state=0, device="cpu")
CHAR_CNN = dict(char_embedding_dim=4, char_filters=4)

# -- what counts as a clear error ------------------------------------------------

#: Phrases of messages that leak from torch, numpy or Python internals.
_INTERNAL = re.compile(
    r"size mismatch|Expected .*tensor|\btensor\b|Tensor|index \d+ is out of|out of bounds|"
    r"out of range|not enough values to unpack|has no len|unhashable type|"
    r"could not convert|invalid literal|setting an array element|only integer scalar|"
    r"'NoneType' object|object is not|not subscriptable|not iterable|ufunc|broadcast|"
    r"must be real number|unsupported operand|takes \d+ positional|got an unexpected keyword|"
    r"probability tensor|multinomial|cannot reshape|inhomogeneous"
)
#: A clear message names what was wrong.
_SPECIFIC = re.compile(
    r"\b(X|y|prefix|temperature|max_length|top_k|n_samples|attention|classes?|labels?|sequences?|"
    r"features?|tokens?|samples?|steps?|dtype|array|NaN|infinity|empty|fitted|target|outputs?|"
    r"seed|random_state|[Cc]omplex)\b"
)
#: The packages whose own checks may raise: skrnn's and scikit-learn's source directories.
_ALLOWED_RAISERS = tuple(os.path.join(os.path.dirname(os.path.realpath(m.__file__)), "")
                         for m in (skrnn, sklearn))


def _raiser(exc):
    """The file of the frame that raised ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].filename if frames else ""


def _check_error(exc):
    msg = str(exc)
    assert len(msg) >= 20, f"{type(exc).__name__} with an uninformative message: {msg!r}"
    assert not _INTERNAL.search(msg), f"internal message leaked: {type(exc).__name__}: {msg}"
    assert _SPECIFIC.search(msg), f"message names nothing specific: {msg}"
    where = os.path.realpath(_raiser(exc))
    assert where.startswith(_ALLOWED_RAISERS), (
        f"{type(exc).__name__} raised inside {where}, not by skrnn's checks: {msg}"
    )


def _attempt(prop, fn, tag=""):
    """Run ``fn()``; return ``(result, None)`` or ``(None, exc)`` for a clear ValueError/TypeError.

    Any other exception, and a ValueError / TypeError with an internal or
    vague message, fails the property.
    """
    counts = COUNTS[prop]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn()
    except (ValueError, TypeError) as exc:
        _check_error(exc)
        counts[f"{tag}raised {type(exc).__name__}"] += 1
        seen = MESSAGES[prop]
        if len(seen) < 40:
            seen.setdefault(str(exc)[:50], f"{type(exc).__name__}: {exc}"[:300])
        return None, exc
    except Exception as exc:  # noqa: BLE001 - the failure this suite exists to catch
        raise AssertionError(
            f"{type(exc).__name__} escaped instead of a ValueError/TypeError: {exc}"
        ) from exc
    counts[f"{tag}worked"] += 1
    return result, None


# -- strategies -----------------------------------------------------------------------

_chars = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
)
_text = st.text(_chars, min_size=0, max_size=6)
_finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
_atom = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), _any_float, st.binary(max_size=3),
    st.just(np.int64(3)), st.just(np.float32(np.nan)), st.just(np.str_("a")),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.just(()),
    st.just({"a"}), st.just(1 + 2j),
)


def _numeric_seq(n_features, *, finite=True, min_len=1, max_len=5):
    return hnp.arrays(
        np.float64, st.tuples(st.integers(min_len, max_len), st.just(n_features)),
        elements=_finite if finite else _any_float,
    )


def _long_seq(kind, tokens, n_features):
    """A sequence of 1000 to 2000 steps (built, not drawn element by element)."""
    n = st.sampled_from([1000, 2000])
    if kind == "tokens":
        return st.builds(lambda t, k: [t] * k, st.sampled_from(tokens), n)
    if kind == "chars":
        return st.builds(lambda t, k: (t * k)[:k], st.sampled_from(tokens), n)
    return st.builds(lambda k: np.random.RandomState(k).randn(k, n_features), n)


def _good_seq(kind, tokens, n_features):
    """A well-formed sequence of ``kind``: known and unknown tokens, unicode, length >= 1."""
    tok = st.one_of(st.sampled_from(tokens), st.text(_chars, min_size=1, max_size=4))
    if kind == "tokens":
        return st.one_of(
            st.lists(tok, min_size=1, max_size=6),
            st.lists(tok, min_size=1, max_size=3).map(tuple),
            st.lists(tok, min_size=1, max_size=3).map(np.array),  # dtype '<U'
        )
    if kind == "chars":
        return st.one_of(
            st.text(st.sampled_from("".join(tokens)), min_size=1, max_size=8),
            st.text(_chars, min_size=1, max_size=8),
        )
    return st.one_of(_numeric_seq(n_features), _numeric_seq(n_features).map(lambda a: a.tolist()))


def _bad_seq(kind, tokens, n_features):
    """A sequence a user might pass by mistake."""
    tok = st.sampled_from(tokens)
    nf = n_features or 1
    return st.one_of(
        st.just([]), st.just(""), st.just(()), st.just(np.zeros((0, nf))),
        _numeric_seq(nf, finite=False),  # NaN / inf
        _numeric_seq(nf + 1),  # wrong feature count
        st.lists(_finite, min_size=1, max_size=4),  # flat numbers
        hnp.arrays(np.float64, st.integers(1, 4), elements=_finite),  # 1-D array
        hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.just(nf), st.just(2)),
                   elements=_finite),  # 3-D array
        _atom,
        st.lists(st.one_of(tok, _atom), min_size=1, max_size=4),  # tokens mixed with junk
        st.lists(st.one_of(tok, st.integers(0, 9)), min_size=1, max_size=4),  # int tokens
        st.lists(st.lists(tok, min_size=1, max_size=2), min_size=1, max_size=3),  # too deep
        st.builds(lambda t: [[[t]]], tok),  # far too deep
        st.builds(lambda t: iter([t]), tok),  # a generator as a sequence
        st.builds(lambda t: np.array([t, 1, None], dtype=object), tok),
        st.lists(st.lists(st.one_of(_finite, st.none(), st.text(max_size=1)), min_size=1,
                          max_size=3), min_size=1, max_size=3),  # ragged / junk rows
        st.binary(min_size=1, max_size=4),
        _good_seq("tokens", tokens, nf), _good_seq("chars", tokens, nf),
        _good_seq("numeric", tokens, nf),  # other kinds than fitted
        _long_seq(kind, tokens, nf),
    )


def _outer(seqs, container):
    """Wrap a list of sequences in one of the containers users pass."""
    if container == "list":
        return seqs
    if container == "tuple":
        return tuple(seqs)
    if container == "generator":
        return (s for s in seqs)
    if container in ("objarray", "series"):
        arr = np.empty(len(seqs), dtype=object)
        for i, s in enumerate(seqs):
            arr[i] = s
        return pd.Series(arr) if container == "series" else arr
    raise AssertionError(container)


_CONTAINERS = ["list", "tuple", "objarray", "series", "generator"]


def _weird_outer(n_features):
    nf = n_features or 1
    return st.one_of(
        st.none(), _text, st.integers(), st.binary(max_size=4), _any_float,
        st.dictionaries(st.text(max_size=2), st.lists(st.text(max_size=2)), max_size=2),
        st.just(set()), st.just({"a", "b"}), st.just([]), st.just(np.array([])),
        hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3),
                   elements=_any_float),
        hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4), st.just(nf)),
                   elements=_finite),  # 3-D (n, T, n_features)
        hnp.arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(1, 4)),
                   elements=st.integers(-3, 3)),  # 2-D univariate series
        hnp.arrays(np.complex128, st.tuples(st.integers(1, 2), st.integers(1, 3))),
        hnp.arrays(np.str_, st.tuples(st.integers(1, 3), st.integers(1, 3)),
                   elements=st.text(max_size=2)),
        st.builds(lambda a: np.array(a, dtype=object),
                  st.lists(st.lists(st.one_of(_finite, st.text(max_size=1)), min_size=2,
                                    max_size=2), min_size=1, max_size=3)),
        st.builds(lambda a: pd.DataFrame(a),
                  st.lists(st.lists(_finite, min_size=2, max_size=2), min_size=1, max_size=3)),
        st.builds(lambda s: pd.Series(s), st.lists(_text, min_size=1, max_size=3)),
        st.builds(lambda s: pd.Series(s, dtype=float), st.lists(_any_float, min_size=1,
                                                                 max_size=3)),
    )


@st.composite
def arbitrary_X(draw, kind, tokens, n_features):
    """``(X, lengths)``: X as a user might pass it; lengths if it is one sequence per element."""
    mode = draw(st.sampled_from(["clean", "clean", "mixed", "outer"]))
    if mode == "outer":
        return draw(_weird_outer(n_features)), None
    good = _good_seq(kind, tokens, n_features)
    elem = good if mode == "clean" else st.one_of(good, _bad_seq(kind, tokens, n_features))
    seqs = draw(st.lists(elem, min_size=0, max_size=4))
    container = draw(st.sampled_from(_CONTAINERS))
    lengths = [len(s) if hasattr(s, "__len__") else None for s in seqs]
    return _outer(seqs, container), (None if None in lengths else lengths)


def _expected_lengths(X, lengths):
    """Sequence lengths implied by X (a numeric array's rows are series of its width)."""
    if lengths is not None:
        return lengths
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.ndim >= 2:
        return [X.shape[1]] * X.shape[0]
    if isinstance(X, pd.Series) and all(hasattr(s, "__len__") for s in X):
        return [len(s) for s in X]
    return None


_LABEL_ATOMS = st.one_of(
    st.sampled_from(["A", "B", "C"]), st.integers(0, 3), _any_float, st.none(), st.booleans(),
    st.just(["A"]), st.just({"k": 1}), st.just(("A",)), st.binary(max_size=2), _text,
    st.just(np.str_("A")), st.just(np.int64(1)), st.just(1 + 1j),
)


@st.composite
def step_labels(draw, lengths, classes=("A", "B", "C")):
    """y for a tagger: label sequences of the right or wrong lengths, of good or bad labels."""
    mode = draw(st.sampled_from(["good", "good", "int", "bad"]))
    if lengths is None or mode == "bad":
        return draw(st.one_of(
            st.none(), st.just([]), st.lists(_LABEL_ATOMS, max_size=4),
            st.lists(st.lists(_LABEL_ATOMS, max_size=4), max_size=4),
            hnp.arrays(np.float64, st.integers(0, 4)),
            st.builds(lambda n: [["A"] * (k + 1) for k in range(n)], st.integers(0, 4)),
            st.lists(st.text(st.sampled_from("AB"), min_size=1, max_size=4), max_size=4),
        ))
    pool = st.sampled_from(list(classes)) if mode == "good" else st.integers(0, 2)
    y = [draw(st.lists(pool, min_size=n, max_size=n)) for n in lengths]
    shape = draw(st.sampled_from(["list", "list", "arrays", "objarray", "offbyone", "mixed"]))
    if shape == "arrays":
        y = [np.array(s) for s in y]
    elif shape == "objarray":
        y = _outer(y, "objarray")
    elif shape == "offbyone" and y:
        y[-1] = y[-1] + y[-1][:1] if y[-1] else ["A"]
    elif shape == "mixed" and y and y[0]:
        y[0][0] = draw(_LABEL_ATOMS)
    return y


@st.composite
def sample_labels(draw, n, classes=("A", "B")):
    """y for a classifier: one label per sequence, good or bad."""
    mode = draw(st.sampled_from(["good", "good", "bad"]))
    if n is None or mode == "bad":
        return draw(st.one_of(
            st.none(), st.just([]), st.lists(_LABEL_ATOMS, max_size=5),
            hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                       elements=_any_float),
            st.lists(st.lists(st.sampled_from(classes), min_size=1, max_size=2), max_size=4),
            st.builds(lambda s: pd.Series(s), st.lists(_LABEL_ATOMS, max_size=4)),
        ))
    if n >= 2 and draw(st.booleans()):  # every class present: fit can succeed
        y = [classes[i % len(classes)] for i in range(n)]
    else:
        y = draw(st.lists(st.sampled_from(list(classes)), min_size=n, max_size=n))
    if draw(st.booleans()) and n:
        y = np.array(y)
    return y


@st.composite
def sample_targets(draw, n):
    """y for a regressor: floats (1-D or 2-D), NaN, strings, wrong lengths."""
    mode = draw(st.sampled_from(["good", "good", "bad"]))
    if n is None or mode == "bad":
        return draw(st.one_of(
            st.none(), st.just([]), st.lists(_LABEL_ATOMS, max_size=5),
            hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                       elements=_any_float),
            st.lists(st.lists(_finite, min_size=1, max_size=3), max_size=4),
            st.builds(lambda s: pd.Series(s, dtype=object), st.lists(_LABEL_ATOMS, max_size=4)),
        ))
    n_out = draw(st.sampled_from([None, 1, 2]))
    shape = (n,) if n_out is None else (n, n_out)
    return draw(hnp.arrays(np.float64, shape, elements=_finite))


_OTHER_OUTPUT_KIND = {"chars": "tokens", "tokens": "chars"}


@st.composite
def output_sequences(draw, n, kind, tokens):
    """y for a Seq2Seq: ``(y, y_list, valid)``.

    Valid: one output per input, all of ``kind`` (str for "chars", token lists
    for "tokens"), empty outputs and unknown tokens included, in a list,
    object array, Series or generator. Otherwise outputs of the other kind, a
    length mismatch, junk elements or no sequences at all. ``y_list`` is y as
    a list (None where it is not a container of outputs).
    """
    mode = draw(st.sampled_from(["good", "good", "good", "other kind", "bad"]))
    if n is None or mode == "bad":
        y = draw(st.one_of(
            st.none(), _atom, st.just([]), st.lists(_LABEL_ATOMS, max_size=4),
            st.lists(st.lists(_LABEL_ATOMS, max_size=3), max_size=4),
            hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
                       elements=_any_float),
            st.lists(st.text(_chars, max_size=4), max_size=5),  # any number of str
            st.lists(st.lists(st.text(_chars, max_size=3), max_size=3), max_size=5),
        ))
        return y, (y if isinstance(y, list) else None), False
    out_kind = kind if mode == "good" else _OTHER_OUTPUT_KIND[kind]
    tok = st.one_of(st.sampled_from(tokens), st.text(_chars, min_size=1, max_size=3))
    if out_kind == "chars":
        elem = st.one_of(st.text(st.sampled_from("".join(tokens)), max_size=6),
                         st.text(_chars, max_size=6))
    else:
        elem = st.one_of(st.lists(tok, max_size=5), st.lists(tok, max_size=3).map(tuple),
                         st.lists(tok, min_size=1, max_size=3).map(np.array))  # dtype '<U'
    y = draw(st.lists(elem, min_size=n, max_size=n))
    valid = mode == "good"
    shape = draw(st.sampled_from(["list", "list", "objarray", "series", "generator",
                                  "offbyone", "junk"]))
    if shape == "offbyone":
        y = y[:-1] if y and draw(st.booleans()) else y + (y[:1] or [""])
        valid = False
    elif shape == "junk" and y:
        y[draw(st.integers(0, len(y) - 1))] = draw(_LABEL_ATOMS)
        valid = False
    if shape in ("objarray", "series", "generator"):
        return _outer(y, shape), y, valid
    return y, y, valid


# -- fitted tiny models (module scope, never mutated) -------------------------------------

_WORDS = ["the", "dog", "runs", "a", "cat", "sleeps", "Ünï", "😀"]


@pytest.fixture(scope="module")
def models():
    """Tiny fitted models of every estimator and input kind."""
    rng = np.random.RandomState(0)
    tok_X = [["the", "dog", "runs"], ["a", "cat", "sleeps"], ["Ünï", "😀"], ["the", "cat"]]
    tok_tags = [["D", "N", "V"], ["D", "N", "V"], ["X", "X"], ["D", "N"]]
    num_X = [rng.randn(t, 2) for t in (3, 1, 5, 2)]
    num_tags = [[0, 1, 0], [1], [0, 0, 1, 1, 2], [2, 1]]
    chars_X = ["abc", "ab\ud800", "cab", "é😀"]
    return {
        "tagger_tokens": quiet_fit(SequenceTagger(**TINY, **CHAR_CNN), tok_X, tok_tags),
        "tagger_numeric": quiet_fit(SequenceTagger(**TINY), num_X, num_tags),
        "tagger_chars": quiet_fit(SequenceTagger(**TINY), chars_X,
                                  [[c.isalpha() for c in s] for s in chars_X]),
        # A CRF with IOB2 constraints (Viterbi, marginals) on odd tokens.
        "tagger_crf": quiet_fit(SequenceTagger(**TINY, **CHAR_CNN, crf=True), tok_X,
                                [["O", "B-N", "I-N"], ["B-N", "O", "O"], ["O", "B-X"],
                                 ["O", "O"]]),
        "lm_chars": quiet_fit(LanguageModel(**TINY, num_layers=1), chars_X),
        "lm_tokens": quiet_fit(LanguageModel(**TINY, num_layers=1), tok_X),
        "clf_tokens": quiet_fit(SequenceClassifier(**TINY, **CHAR_CNN), tok_X,
                                ["A", "B", "A", "C"]),
        "clf_numeric": quiet_fit(SequenceClassifier(**TINY), rng.randn(6, 4),
                                 [0, 1, 0, 1, 2, 2]),
        "reg_numeric": quiet_fit(SequenceRegressor(**TINY), num_X, [0.5, -1.0, 2.0, 0.0]),
        "reg_tokens": quiet_fit(SequenceRegressor(**TINY, **CHAR_CNN), tok_X,
                                np.arange(8.0).reshape(4, 2)),
        # Outputs of other lengths than the inputs, an empty one in each; the three
        # attentions, greedy and beam search, "auto" and an int max_output_length.
        "s2s_chars": quiet_fit(Seq2Seq(**TINY), chars_X, ["cba", "", "bac", "😀é"]),
        "s2s_tokens": quiet_fit(Seq2Seq(**TINY, attention="bahdanau", beam_size=2), tok_X,
                                [["D", "N", "V"], ["V"], [], ["N", "N", "D", "X"]]),
        "s2s_numeric": quiet_fit(Seq2Seq(**TINY, attention=None, beam_size=3,
                                         max_output_length=1), num_X, ["a", "bc", "", "cab"]),
    }


def _model_spec(est):
    """``(kind, tokens, n_features)`` of a fitted model, to generate its input."""
    kind = est.input_kind_
    if kind == "numeric":
        return kind, ["a", "the"], est.n_features_in_
    tokens = [t for t in est.vocabulary_.itos if not t.startswith("<")]
    return kind, tokens, None


def _output_tokens(est):
    """The real output tokens of a fitted Seq2Seq (no specials)."""
    return [t for t in est.target_vocabulary_.itos if not t.startswith("<")]


# -- checks of results --------------------------------------------------------------------

def _check_proba(P, n_rows, n_cols):
    P = np.asarray(P)
    assert P.shape == (n_rows, n_cols)
    assert np.isfinite(P).all() and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)


def _check_tagger_result(est, method, X, lengths, result):
    n_classes = len(est.classes_)
    if method == "score":
        assert 0.0 <= result <= 1.0
        return
    if lengths is not None:
        assert len(result) == len(lengths)
    for i, res in enumerate(result):
        if lengths is not None:
            assert len(res) == lengths[i], f"sequence {i}: {len(res)} outputs, {lengths[i]} steps"
        if method == "predict":
            assert np.isin(res, est.classes_).all()
        else:
            _check_proba(res, len(res), n_classes)


def _check_many_to_one_result(est, method, lengths, result):
    n = len(lengths) if lengths is not None else len(result)
    if method == "score":
        # R² of a single sample is undefined: scikit-learn returns NaN (with a warning).
        assert isinstance(result, float) and (n == 1 or not math.isnan(result))
        return
    result = np.asarray(result)
    assert len(result) == n
    if method != "predict" or isinstance(est, SequenceRegressor):
        assert np.isfinite(result.astype(np.float64)).all()
    if isinstance(est, SequenceClassifier):
        if method == "predict":
            assert np.isin(result, est.classes_).all()
        elif method == "predict_proba":
            _check_proba(result, n, len(est.classes_))
        elif method == "predict_log_proba":
            _check_proba(np.exp(result), n, len(est.classes_))
    elif isinstance(est, SequenceRegressor):
        assert result.shape[1:] == (() if est._y_1d else (len(est.y_mean_),))


def _check_lm_result(est, method, lengths, result):
    v = est.vocabulary_
    if method in ("score", "perplexity"):
        assert np.isfinite(result)
        return
    n = len(lengths) if lengths is not None else len(result)
    if method == "predict":
        assert len(result) == n
        assert set(result) <= set(v.itos) - {"<pad>", "<bos>"}
    else:
        _check_proba(result, n, len(v))
        assert (result[:, [v.pad_id, v.bos_id]] == 0).all()


_SPECIALS = {"<pad>", "<bos>", "<unk>", "<eos>"}


def _check_outputs(est, lengths, result, *, max_length=None, exact=False):
    """Seq2Seq predict / sample: one output per input, of the fitted kind, within its bound
    (``max_length`` if given, else ``max_output_length``'s), of real output tokens only."""
    if lengths is not None:
        assert len(result) == len(lengths)
        bounds = (est._bounds(np.asarray(lengths, dtype=np.int64)) if max_length is None
                  else [max_length] * len(lengths))
    real = set(est.target_vocabulary_.itos) - _SPECIALS
    for i, out in enumerate(result):
        if est.target_kind_ == "chars":
            assert type(out) is str
        else:
            assert type(out) is list and all(type(t) is str for t in out)
        assert set(out) <= real, f"output {i} holds {set(out) - real}"
        if lengths is not None:
            assert len(out) == bounds[i] if exact else len(out) <= bounds[i], (
                f"output {i} has {len(out)} tokens, bound {bounds[i]}")


def _check_attention(lengths, y_list, result):
    """attention_weights: per pair a finite (output length, input length) array, rows summing
    to 1."""
    if lengths is not None:
        assert len(result) == len(lengths)
    for i, a in enumerate(result):
        assert isinstance(a, np.ndarray) and a.ndim == 2 and np.isfinite(a).all()
        if lengths is not None:
            assert a.shape[1] == lengths[i]
        if y_list is not None:
            assert a.shape[0] == len(y_list[i])
        if a.size:
            np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-4)


# -- properties ---------------------------------------------------------------------------

_METHODS = {
    SequenceTagger: ["predict", "predict_proba", "score"],
    SequenceClassifier: ["predict", "predict_proba", "predict_log_proba", "decision_function",
                         "score"],
    SequenceRegressor: ["predict", "score"],
    LanguageModel: ["score", "perplexity", "predict", "predict_proba"],
}


def _prop_predict(models, name, data):
    """Inference methods on a fitted model work or fail clearly on arbitrary X."""
    COUNTS[f"{name}.predict-family"]["cases"] += 1
    est = models[name]
    kind, tokens, nf = _model_spec(est)
    X, lengths = data.draw(arbitrary_X(kind, tokens, nf), label="X")
    method = data.draw(st.sampled_from(_METHODS[type(est)]), label="method")
    lengths = _expected_lengths(X, lengths)
    args = (X,)
    if method == "score" and not isinstance(est, LanguageModel):
        if isinstance(est, SequenceTagger):
            y = data.draw(step_labels(lengths, classes=tuple(est.classes_.tolist())), label="y")
        elif isinstance(est, SequenceClassifier):
            n = None if lengths is None else len(lengths)
            y = data.draw(sample_labels(n, classes=tuple(est.classes_.tolist())), label="y")
        else:
            y = data.draw(sample_targets(None if lengths is None else len(lengths)), label="y")
        args = (X, y)
    result, exc = _attempt(f"{name}.predict-family", lambda: getattr(est, method)(*args))
    if exc is not None:
        return
    if isinstance(est, SequenceTagger):
        _check_tagger_result(est, method, X, lengths, result)
    elif isinstance(est, LanguageModel):
        _check_lm_result(est, method, lengths, result)
    else:
        _check_many_to_one_result(est, method, lengths, result)


_ints = st.one_of(st.integers(-2, 4), st.just(True), st.just(2.0), st.none(), st.just("3"),
                  st.just(np.int64(2)), st.just(10**20))


def _prop_sample(models, name, data):
    """LanguageModel.sample works or fails clearly for arbitrary arguments."""
    COUNTS[f"{name}.sample"]["cases"] += 1
    est = models[name]
    kind, tokens, _ = _model_spec(est)
    tok = st.one_of(st.sampled_from(tokens), st.text(_chars, max_size=3))
    if data.draw(st.sampled_from([True, True, False]), label="clean"):
        prefix = data.draw(st.one_of(st.none(), st.text(_chars, max_size=5) if kind == "chars"
                                     else st.lists(tok, max_size=4)), label="prefix")
        kwargs = dict(
            n_samples=data.draw(st.integers(1, 3), label="n_samples"),
            max_length=data.draw(st.integers(1, 8), label="max_length"),
            temperature=data.draw(st.one_of(st.floats(1e-3, 10), st.just(1e-300)),
                                  label="temperature"),
            top_k=data.draw(st.one_of(st.none(), st.integers(1, len(est.vocabulary_) - 3)),
                            label="top_k"),
            random_state=data.draw(st.one_of(st.none(), st.integers(0, 10)), label="seed"),
        )
        result, exc = _attempt(f"{name}.sample", lambda: est.sample(prefix=prefix, **kwargs))
        assert exc is None, f"valid arguments refused: {exc}"
        _check_samples(kind, prefix, kwargs, result)
        return
    prefix = data.draw(st.one_of(
        st.none(), st.text(_chars, max_size=5), st.lists(tok, max_size=4),
        st.lists(st.one_of(tok, _atom), max_size=3), _atom, st.just(np.array(["a", "b"])),
        st.builds(lambda t: iter([t]), tok), st.builds(lambda t: [[t]], tok),
        st.builds(lambda t: t * 500, st.text(_chars, min_size=1, max_size=2)),
    ), label="prefix")
    kwargs = dict(
        # n_samples * max_length stays small: large values are legal, only slow.
        n_samples=data.draw(st.one_of(st.integers(1, 3), _ints.filter(lambda v: v != 10**20)),
                            label="n_samples"),
        max_length=data.draw(st.one_of(st.integers(1, 8), _ints.filter(lambda v: v != 10**20),
                                       st.just(300)), label="max_length"),
        temperature=data.draw(st.one_of(st.floats(0.05, 5), _any_float, st.just(1e-300),
                                        st.just(1e-40), st.just(1e300), st.integers(-1, 3),
                                        st.just("hot"), st.none(), st.just(np.float32(0.5))),
                              label="temperature"),
        top_k=data.draw(st.one_of(st.none(), _ints, st.integers(1, len(est.vocabulary_) + 2)),
                        label="top_k"),
        random_state=data.draw(st.one_of(st.integers(0, 3), st.none(), st.just("x"),
                                         st.just(-1)), label="random_state"),
    )
    result, exc = _attempt(f"{name}.sample", lambda: est.sample(prefix=prefix, **kwargs))
    if exc is None:
        _check_samples(kind, prefix, kwargs, result)


def _check_samples(kind, prefix, kwargs, result):
    assert len(result) == kwargs["n_samples"]
    given_prefix = [] if prefix is None else list(prefix)
    for s in result:
        if kind == "chars":
            assert isinstance(s, str)
        else:
            assert isinstance(s, list) and all(isinstance(t, str) for t in s)
        assert list(s[: len(given_prefix)]) == given_prefix
        assert len(s) - len(given_prefix) <= kwargs["max_length"]
        assert not set(s[len(given_prefix):]) & {"<pad>", "<bos>", "<unk>", "<eos>"}


_SEQ2SEQ_METHODS = ["predict", "score", "log_likelihood", "attention_weights", "sample"]


def _prop_seq2seq(models, name, data):
    """Seq2Seq's inference methods work or fail clearly on arbitrary X and y; valid ones work."""
    prop = f"{name}.inference"
    COUNTS[prop]["cases"] += 1
    est = models[name]
    kind, tokens, nf = _model_spec(est)
    method = data.draw(st.sampled_from(_SEQ2SEQ_METHODS), label="method")
    clean = data.draw(st.sampled_from([True, True, False]), label="clean")
    if clean:
        seqs = data.draw(st.lists(_good_seq(kind, tokens, nf), min_size=1, max_size=4),
                         label="seqs")
        X = _outer(seqs, data.draw(st.sampled_from(_CONTAINERS), label="container"))
        lengths = [len(s) for s in seqs]
    else:
        X, lengths = data.draw(arbitrary_X(kind, tokens, nf), label="X")
        lengths = _expected_lengths(X, lengths)
    n = None if lengths is None else len(lengths)
    y, y_list, valid_y = None, None, True
    if method in ("score", "log_likelihood") or (
            method == "attention_weights" and data.draw(st.booleans(), label="with y")):
        y, y_list, valid_y = data.draw(output_sequences(n, est.target_kind_, _output_tokens(est)),
                                       label="y")
    calls = {
        "predict": lambda: est.predict(X),
        "sample": lambda: est.sample(X, random_state=0),
        "score": lambda: est.score(X, y),
        "log_likelihood": lambda: est.log_likelihood(X, y),
        "attention_weights": lambda: est.attention_weights(X, y),
    }
    result, exc = _attempt(prop, calls[method])
    has_attention = est.module_.attention is not None
    if exc is not None:
        if method == "attention_weights" and not has_attention:
            assert "attention=None" in str(exc)
            return
        assert not (clean and valid_y), f"valid input refused: {type(exc).__name__}: {exc}"
        return
    if method in ("predict", "sample"):
        _check_outputs(est, lengths, result)
    elif method == "score":
        assert isinstance(result, float) and 0.0 <= result <= 1.0
    elif method == "log_likelihood":
        result = np.asarray(result)
        assert result.ndim == 1 and np.isfinite(result).all() and (result <= 1e-6).all()
        assert lengths is None or len(result) == len(lengths)
    else:
        assert has_attention, "attention_weights of a model without attention"
        _check_attention(lengths, y_list, result)


def _prop_seq2seq_sample(models, name, data):
    """Seq2Seq.sample works or fails clearly for arbitrary arguments; valid ones work."""
    prop = f"{name}.sample"
    COUNTS[prop]["cases"] += 1
    est = models[name]
    kind, tokens, nf = _model_spec(est)
    X = data.draw(st.lists(_good_seq(kind, tokens, nf), min_size=1, max_size=3), label="X")
    lengths = [len(s) for s in X]
    n_drawable = len(est.target_vocabulary_) - 3  # less <pad>, <bos>, <unk>
    if data.draw(st.sampled_from([True, True, False]), label="clean"):
        stop = data.draw(st.booleans(), label="stop_at_eos")
        kwargs = dict(
            temperature=data.draw(st.one_of(st.floats(1e-3, 10), st.just(1e-300),
                                            st.just(1e300), st.just(np.float32(0.5))),
                                  label="temperature"),
            # A fixed length (stop_at_eos=False) never draws <eos>: one token fewer.
            top_k=data.draw(st.one_of(st.none(), st.integers(1, n_drawable - (not stop)),
                                      st.just(np.int64(1))), label="top_k"),
            random_state=data.draw(st.one_of(st.none(), st.integers(0, 10),
                                             st.builds(np.random.RandomState, st.integers(0, 3))),
                                   label="random_state"),
            stop_at_eos=stop,
            max_length=data.draw(st.integers(1, 8) if not stop
                                 else st.one_of(st.none(), st.integers(1, 8)),
                                 label="max_length"),
        )
        result, exc = _attempt(prop, lambda: est.sample(X, **kwargs))
        assert exc is None, f"valid arguments refused: {exc}"
        _check_outputs(est, lengths, result, max_length=kwargs["max_length"], exact=not stop)
        return
    kwargs = dict(
        temperature=data.draw(st.one_of(st.floats(0.05, 5), _any_float, st.just(1e-300),
                                        st.just(1e-40), st.just(1e300), st.integers(-1, 3),
                                        st.just("hot"), st.none(), st.just(True),
                                        st.just(np.float32(0.5))), label="temperature"),
        top_k=data.draw(st.one_of(st.none(), _ints, st.integers(n_drawable - 1, n_drawable + 2)),
                        label="top_k"),
        random_state=data.draw(st.one_of(st.integers(0, 3), st.none(), st.just("x"),
                                         st.just(2**32 - 1), st.just(-1), st.just(2**40)),
                               label="random_state"),
        stop_at_eos=data.draw(st.one_of(st.booleans(), st.none(), st.just(0), st.just(1)),
                              label="stop_at_eos"),
        max_length=data.draw(st.one_of(st.none(), st.integers(1, 8), _ints, st.just(300)),
                             label="max_length"),
    )
    result, exc = _attempt(prop, lambda: est.sample(X, **kwargs))
    if exc is None:
        _check_outputs(est, lengths, result, max_length=kwargs["max_length"],
                       exact=not kwargs["stop_at_eos"])


_FIT_KINDS = {
    SequenceTagger: ["tokens", "chars", "numeric"],
    LanguageModel: ["tokens", "chars"],
    SequenceClassifier: ["tokens", "chars", "numeric"],
    SequenceRegressor: ["tokens", "chars", "numeric"],
    Seq2Seq: ["tokens", "chars", "numeric"],
}


def _prop_fit(Estimator, data):
    """fit works or fails clearly on arbitrary (X, y); a fitted model predicts its own X."""
    prop = f"{Estimator.__name__}.fit"
    COUNTS[prop]["cases"] += 1
    kind = data.draw(st.sampled_from(_FIT_KINDS[Estimator]), label="kind")
    nf = data.draw(st.integers(1, 3), label="n_features")
    X, lengths = data.draw(arbitrary_X(kind, ["a", "b", "ab", "é", "😀"], nf), label="X")
    lengths = _expected_lengths(X, lengths)
    n = None if lengths is None else len(lengths)
    if Estimator is SequenceTagger:
        y = data.draw(step_labels(lengths), label="y")
    elif Estimator is SequenceClassifier:
        y = data.draw(sample_labels(n), label="y")
    elif Estimator is SequenceRegressor:
        y = data.draw(sample_targets(n), label="y")
    elif Estimator is Seq2Seq:
        out_kind = data.draw(st.sampled_from(["chars", "tokens"]), label="output kind")
        y, y_list, _ = data.draw(output_sequences(n, out_kind, ["x", "y", "xy", "😀"]),
                                 label="y")
    else:
        y = data.draw(st.one_of(st.none(), _atom), label="y")  # ignored
    # Tiny models; a generator X can be read once only, so keep a copy for predict.
    X_list = list(X) if hasattr(X, "__next__") else X
    extra = {} if Estimator in (LanguageModel, Seq2Seq) else CHAR_CNN
    est = Estimator(**TINY, **extra)
    if Estimator is LanguageModel:
        est.set_params(num_layers=1)
    if Estimator is Seq2Seq:
        est.set_params(attention=data.draw(st.sampled_from(["luong", "bahdanau", None]),
                                           label="attention"),
                       beam_size=data.draw(st.sampled_from([1, 2]), label="beam_size"))
    fitted, exc = _attempt(prop, lambda: est.fit(X if X_list is X else iter(X_list), y))
    if exc is not None:
        assert not hasattr(est, "module_"), "a failed fit left a fitted network behind"
        return
    assert fitted is est
    # Whatever fit accepted, inference on the same X must accept too.
    if Estimator is LanguageModel:
        result, exc = _attempt(prop, lambda: est.score(X_list), "then score ")
        assert exc is None and np.isfinite(result)
        return
    result, exc = _attempt(prop, lambda: est.predict(X_list), "then predict ")
    assert exc is None, f"fit accepted X but predict refused it: {exc}"
    if Estimator is Seq2Seq:
        _check_outputs(est, lengths, result)
        # Whatever fit accepted as outputs, scoring them must accept too.
        score, exc = _attempt(prop, lambda: est.score(X_list, y_list), "then score ")
        assert exc is None and 0.0 <= score <= 1.0, f"fit accepted y but score refused it: {exc}"
        ll, exc = _attempt(prop, lambda: est.log_likelihood(X_list, y_list), "then score ")
        assert exc is None and np.isfinite(ll).all() and (ll <= 1e-6).all()
        return
    if Estimator is SequenceTagger:
        _check_tagger_result(est, "predict", X_list, lengths, result)
        assert set(np.unique(np.concatenate(result)).tolist()) <= set(est.classes_.tolist())
    else:
        _check_many_to_one_result(est, "predict", lengths, result)


_PREDICT_MODELS = ["tagger_tokens", "tagger_numeric", "tagger_chars", "tagger_crf", "lm_chars",
                   "lm_tokens",
                   "clf_tokens", "clf_numeric", "reg_numeric", "reg_tokens"]
_SEQ2SEQ_MODELS = ["s2s_chars", "s2s_tokens", "s2s_numeric"]


# -- fixed cases: very long input, unicode, and every bug this suite found ------------------

def _long_input(est, n_steps=2000):
    kind, tokens, nf = _model_spec(est)
    if kind == "tokens":
        return [[tokens[i % len(tokens)] for i in range(n_steps)], tokens[:1]]
    if kind == "chars":
        return ["".join(tokens)[:3] * (n_steps // 3) + "\ud800", "\udfff"]
    return [np.random.RandomState(0).randn(n_steps, nf), np.zeros((1, nf))]


@pytest.mark.parametrize("name", _PREDICT_MODELS)
def test_very_long_and_length_one_sequences(models, name):
    """A 2,000-step sequence next to a 1-step one (lone surrogates included) gets valid outputs."""
    est = models[name]
    X = _long_input(est)
    lengths = [len(s) for s in X]
    if isinstance(est, SequenceTagger):
        _check_tagger_result(est, "predict", X, lengths, est.predict(X))
        _check_tagger_result(est, "predict_proba", X, lengths, est.predict_proba(X))
    elif isinstance(est, LanguageModel):
        assert np.isfinite(est.score(X))
        _check_lm_result(est, "predict_proba", lengths, est.predict_proba(X))
    else:
        for method in _METHODS[type(est)][:-1]:
            _check_many_to_one_result(est, method, lengths, getattr(est, method)(X))


@pytest.mark.parametrize("name", _SEQ2SEQ_MODELS)
def test_seq2seq_very_long_and_length_one_sequences(models, name):
    """A 2,000-step input next to a 1-step one gets valid outputs, samples, log-likelihoods
    and attention weights from every Seq2Seq."""
    est = models[name]
    X = _long_input(est)
    lengths = [len(s) for s in X]
    predicted = est.predict(X)
    _check_outputs(est, lengths, predicted)
    _check_outputs(est, lengths, est.sample(X, random_state=0))
    ll = est.log_likelihood(X, predicted)
    assert ll.shape == (2,) and np.isfinite(ll).all()
    if est.module_.attention is not None:
        _check_attention(lengths, predicted, est.attention_weights(X, predicted))


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e-6, 1e6, 1e40, 1e300])
@pytest.mark.parametrize("name", ["s2s_chars", "s2s_tokens"])
def test_seq2seq_sample_extreme_temperatures(models, name, temperature):
    """Extreme temperatures sample (greedy or uniform) instead of crashing in torch.multinomial."""
    est = models[name]
    out = est.sample(["ab", "c"] if est.input_kind_ == "chars" else [["the"], ["a", "cat"]],
                     temperature=temperature, max_length=5, random_state=0)
    _check_outputs(est, [2, 1] if est.input_kind_ == "chars" else [1, 2], out, max_length=5)


@pytest.mark.parametrize("random_state", [-1, "x", 2**40])
def test_seq2seq_sample_bad_random_state(models, random_state):
    """An unusable random_state in Seq2Seq.sample names the parameter, as LanguageModel's."""
    with pytest.raises(ValueError, match="random_state must be None"):
        models["s2s_chars"].sample(["ab"], random_state=random_state)


def test_seq2seq_sample_huge_max_length(models):
    """A max_length beyond any budget is a ValueError that names max_length."""
    with pytest.raises(ValueError, match="max_length"):
        models["s2s_chars"].sample(["ab"], max_length=10**20)


def test_seq2seq_attention_weights_of_a_generator(models):
    """attention_weights reads a generator X once, as predict does."""
    est = models["s2s_chars"]
    X = ["abc", "b"]
    expected = [a.shape for a in est.attention_weights(X)]
    assert [a.shape for a in est.attention_weights(s for s in X)] == expected


def test_seq2seq_fixed_length_sample_without_output_tokens():
    """A fixed-length sample from a model that can only emit <eos> is a clear ValueError."""
    est = quiet_fit(Seq2Seq(**TINY), ["ab", "c"], [[], []])  # only <eos> was ever seen
    with pytest.raises(ValueError, match="stop_at_eos"):
        est.sample(["ab"], stop_at_eos=False, max_length=2)


def test_seq2seq_attention_weights_without_attention_say_so(models):
    """attention_weights of a model fitted with attention=None is a ValueError naming it."""
    with pytest.raises(ValueError, match="no attention .attention=None"):
        models["s2s_numeric"].attention_weights([np.zeros((2, 2))])


@pytest.mark.parametrize("y, error, match", [
    ([["a", 1]], TypeError, r"y\[0\]\[1\] is int"),
    ([[None]], TypeError, r"y\[0\]\[0\] is NoneType"),
    ([b"ab"], TypeError, r"y\[0\] is bytes"),
    ([3.5], TypeError, r"y\[0\] is float"),
    ([np.zeros((2, 1))], ValueError, "list of str tokens or a str"),
    (["ab", ["a"]], ValueError, "y mixes kinds"),
    (["ab", "cd"], ValueError, "different lengths: 1 input sequences but 2 outputs"),
])
def test_seq2seq_non_string_outputs_name_y(y, error, match):
    """Outputs that are not str / token lists of str, or too many, are refused naming y."""
    with pytest.raises(error, match=match):
        Seq2Seq(**TINY).fit(["ab"], y)


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e-6, 1e6, 1e40, 1e300])
def test_sample_extreme_temperatures(models, temperature):
    """Extreme temperatures sample (greedy or uniform) instead of crashing in torch.multinomial."""
    lm = models["lm_chars"]
    out = lm.sample(n_samples=2, max_length=5, temperature=temperature, random_state=0)
    assert len(out) == 2 and all(isinstance(s, str) and len(s) <= 5 for s in out)


@pytest.mark.parametrize("random_state", [-1, "x", 2**40])
def test_sample_bad_random_state(models, random_state):
    """An unusable random_state in sample names the parameter."""
    with pytest.raises(ValueError, match="random_state must be None"):
        models["lm_chars"].sample(random_state=random_state)


@pytest.mark.parametrize("prefix", [False, 3, iter(["the"]), "the", [["the"]]])
def test_sample_word_prefix_must_be_a_token_list(models, prefix):
    """A word-level prefix that is not a list of str (a generator included) is a TypeError."""
    with pytest.raises(TypeError, match="prefix must be a list of str tokens"):
        models["lm_tokens"].sample(prefix=prefix)


@pytest.mark.parametrize("X", [np.array([[0.0, ""]], dtype=object),
                               np.array([[0.0, "a"], [1.0, 2.0]], dtype=object)])
def test_object_table_with_non_numbers(models, X):
    """A 2-D object array holding non-numbers is refused with a message about X."""
    with pytest.raises(ValueError, match="X is a 2-D object array of shape"):
        models["clf_numeric"].predict(X)


@pytest.mark.parametrize("X", [np.zeros((1, 1, 0)), [np.zeros((2, 0))]])
def test_zero_features(X):
    """Sequences with 0 features per step are refused before torch sees them."""
    with pytest.raises(ValueError, match="0 features per step"):
        SequenceTagger(**TINY).fit(X, [["A"] * len(X[0])])


def test_numeric_steps_with_junk(models):
    """Steps of different sizes or holding None name the sequence and what the steps hold."""
    with pytest.raises(ValueError, match=r"X\[0\] could not be read.*sizes \[1, 2\].*NoneType"):
        models["tagger_numeric"].predict([[[0.0], [None, None]]])


@pytest.mark.parametrize("y", [["a"], [{"k": 1}], [["A"]], [1 + 1j], [[1.0], [2.0, 3.0]]])
def test_regressor_non_numeric_targets(y):
    """Non-numeric or ragged regression targets raise a ValueError that names y."""
    X = [["a"]] * len(y)
    with pytest.raises(ValueError, match="y must hold numeric regression targets"):
        SequenceRegressor(**TINY).fit(X, y)


@pytest.mark.parametrize("y", [["A", b"\x80"], ["A", None], [{"k": 1}, "A"]])
def test_classifier_mixed_label_types(y):
    """Labels mixing str with bytes, None or dicts raise a TypeError that names y."""
    with pytest.raises(TypeError, match="y holds labels of types"):
        SequenceClassifier(**TINY).fit([["a"], ["b"]], y)


def test_regressor_overflowing_targets():
    """Targets whose spread overflows float64 are refused instead of predicting inf."""
    with pytest.raises(ValueError, match="too large to standardise"):
        SequenceRegressor(**TINY).fit([["a"]] * 4, [0.0, 1.5e154, 1.5e154, -1.5e154])


# -- the tests: default and slow variants -------------------------------------------------

_ESTIMATORS = [SequenceTagger, LanguageModel, SequenceClassifier, SequenceRegressor, Seq2Seq]


def _run(prop, n_examples, *args):
    @settings(_BASE_SETTINGS, max_examples=n_examples)
    @given(data=st.data())
    def run(data):
        prop(*args, data)

    run()


@pytest.mark.parametrize("name", _PREDICT_MODELS)
def test_inference_on_arbitrary_X(models, name):
    """Inference on arbitrary X gives well-formed results or a clear ValueError/TypeError."""
    _run(_prop_predict, FUZZ_EXAMPLES, models, name)


@pytest.mark.parametrize("name", ["lm_chars", "lm_tokens"])
def test_sample_with_arbitrary_arguments(models, name):
    """LanguageModel.sample with arbitrary arguments returns valid samples or raises clearly."""
    _run(_prop_sample, FUZZ_EXAMPLES, models, name)


@pytest.mark.parametrize("name", _SEQ2SEQ_MODELS)
def test_seq2seq_inference_on_arbitrary_X_y(models, name):
    """Seq2Seq's predict, score, log_likelihood, attention_weights and sample on arbitrary
    X and y give well-formed results or a clear ValueError/TypeError."""
    _run(_prop_seq2seq, FUZZ_EXAMPLES, models, name)


@pytest.mark.parametrize("name", ["s2s_chars", "s2s_tokens"])
def test_seq2seq_sample_with_arbitrary_arguments(models, name):
    """Seq2Seq.sample with arbitrary arguments returns valid outputs or raises clearly."""
    _run(_prop_seq2seq_sample, FUZZ_EXAMPLES, models, name)


@pytest.mark.parametrize("Estimator", _ESTIMATORS, ids=lambda E: E.__name__)
def test_fit_on_arbitrary_X_y(Estimator):
    """Fitting arbitrary (X, y) succeeds (and predicts its X) or raises a clear error."""
    _run(_prop_fit, FUZZ_EXAMPLES, Estimator)


@pytest.mark.slow
@pytest.mark.parametrize("name", _PREDICT_MODELS)
def test_inference_on_arbitrary_X_slow(models, name):
    """As test_inference_on_arbitrary_X, with many more cases."""
    _run(_prop_predict, FUZZ_SLOW_EXAMPLES, models, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lm_chars", "lm_tokens"])
def test_sample_with_arbitrary_arguments_slow(models, name):
    """As test_sample_with_arbitrary_arguments, with many more cases."""
    _run(_prop_sample, FUZZ_SLOW_EXAMPLES, models, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", _SEQ2SEQ_MODELS)
def test_seq2seq_inference_on_arbitrary_X_y_slow(models, name):
    """As test_seq2seq_inference_on_arbitrary_X_y, with many more cases."""
    _run(_prop_seq2seq, FUZZ_SLOW_EXAMPLES, models, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["s2s_chars", "s2s_tokens"])
def test_seq2seq_sample_with_arbitrary_arguments_slow(models, name):
    """As test_seq2seq_sample_with_arbitrary_arguments, with many more cases."""
    _run(_prop_seq2seq_sample, FUZZ_SLOW_EXAMPLES, models, name)


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", _ESTIMATORS, ids=lambda E: E.__name__)
def test_fit_on_arbitrary_X_y_slow(Estimator):
    """As test_fit_on_arbitrary_X_y, with many more cases."""
    _run(_prop_fit, FUZZ_SLOW_EXAMPLES, Estimator)


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    """Print the number of cases tried per property when the module ends (and save it to
    ``SKRNN_FUZZ_COUNTS`` if set)."""
    yield
    if not COUNTS:
        return
    report = {prop: dict(c) for prop, c in sorted(COUNTS.items())}
    if COUNTS_FILE:
        with open(COUNTS_FILE, "w") as f:
            json.dump({"counts": report,
                       "messages": {p: sorted(m.values()) for p, m in MESSAGES.items()}},
                      f, indent=1)
    lines = ["fuzz cases per property" + (f" (also in {COUNTS_FILE}):" if COUNTS_FILE else ":")]
    for prop, c in report.items():
        rest = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k != "cases")
        lines.append(f"  {prop}: {c.get('cases', 0)} cases ({rest})")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    tr = request.config.pluginmanager.getplugin("terminalreporter")
    if capture is not None and tr is not None:
        with capture.global_and_fixture_disabled():
            tr.write_line("")
            for line in lines:
                tr.write_line(line)
