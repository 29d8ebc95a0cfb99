"""Input checks at the edges: numpy scalars as tokens and labels, extreme numbers,
class weights, sampling budgets, user tokens spelled like reserved ones and the outputs
of a Seq2Seq (empty ones, of the other kind, unknown ones, decoding parameters).

Every model here is tiny (hidden_size 4, one or two epochs, fixed random_state):
the tests are about what goes in and comes out, not about learning.
"""

import copy
import math
import warnings

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit
from sklearn.metrics import r2_score
from sklearn.utils.class_weight import compute_class_weight

import skrnn
import skrnn.language_model as lm_module
from skrnn import (
    LanguageModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceRegressor,
    SequenceTagger,
    Vocabulary,
)
from skrnn._validation import check_label_sequences, check_sequences
from skrnn.classifier import _check_label_types
from skrnn.vocab import BOS, EOS, PAD, UNK

TINY = dict(hidden_size=4, max_epochs=1, random_state=0, device="cpu")
TINY_TEXT = dict(TINY, embedding_dim=4)
WORDS = [["the", "dog", "ran"], ["a", "cat", "sat"], ["the", "cat", "ran"]] * 4


def tiny_classifier(**kw):
    return SequenceClassifier(**{**TINY_TEXT, "char_embedding_dim": None, **kw})


def tiny_lm(**kw):
    return LanguageModel(**{**TINY_TEXT, "num_layers": 1, "early_stopping": False, **kw})


def tiny_seq2seq(**kw):
    return Seq2Seq(**{**TINY_TEXT, "early_stopping": False, **kw})


def all_builtin_str(tokens):
    return all(type(t) is str for t in tokens)


# -- 1. numpy.str_ tokens become builtin str -------------------------------------------


def test_numpy_str_tokens_are_returned_as_builtin_str():
    """Token arrays, lists of numpy.str_ and numpy.str_ strings come back as builtin str."""
    arrays = [np.array(["the", "dog"]), np.array(["a", "cat"])]
    seqs, kind = check_sequences(arrays)
    assert kind == "tokens" and seqs == [["the", "dog"], ["a", "cat"]]
    assert all(all_builtin_str(s) for s in seqs)
    listed, _ = check_sequences([list(a) for a in arrays])  # numpy.str_ elements
    assert all(all_builtin_str(s) for s in listed)
    objects, _ = check_sequences([np.array(["x", np.str_("y")], dtype=object)])
    assert objects == [["x", "y"]] and all_builtin_str(objects[0])
    chars, kind = check_sequences([np.str_("abc"), "de"])
    assert kind == "chars" and chars == ["abc", "de"] and all_builtin_str(chars)
    chars_array, _ = check_sequences(np.array(["abc", "de"]))
    assert all_builtin_str(chars_array)


def test_plain_str_tokens_pass_unchanged():
    """Builtin str tokens are kept as given (the fast path converts nothing)."""
    tok = "dog"
    seqs, _ = check_sequences([["the", tok]])
    assert seqs[0][1] is tok


def _np_str_tokens():
    return [np.array(s) for s in WORDS]


@pytest.mark.parametrize("make, X, y", [
    (lambda: SequenceTagger(**TINY_TEXT, char_embedding_dim=4, char_filters=4),
     _np_str_tokens(), [["D", "N", "V"]] * len(WORDS)),
    (lambda: tiny_classifier(), [list(s) for s in _np_str_tokens()],
     [i % 2 for i in range(len(WORDS))]),
    (lambda: tiny_lm(), _np_str_tokens(), None),
    (lambda: tiny_lm(), [np.str_("abcab"), np.str_("bca")] * 3, None),
    (lambda: tiny_seq2seq(), _np_str_tokens(), [np.array(s[::-1]) for s in WORDS]),
    (lambda: tiny_seq2seq(), [np.str_("abc"), np.str_("ba")] * 3,
     [np.str_("cba"), np.str_("")] * 3),
], ids=["tagger", "classifier", "word-lm", "char-lm", "word-seq2seq", "char-seq2seq"])
def test_fitted_on_numpy_str_saves_and_loads(tmp_path, make, X, y):
    """A model fitted on numpy.str_ tokens saves, loads and predicts the same."""
    est = quiet_fit(make(), X, y)
    assert all_builtin_str(est.vocabulary_.itos)
    if getattr(est, "char_vocabulary_", None) is not None:
        assert all_builtin_str(est.char_vocabulary_.itos)
    path = tmp_path / "m.skrnn"
    est.save(path)
    loaded = skrnn.load(path)
    assert loaded.vocabulary_ == est.vocabulary_
    if isinstance(est, Seq2Seq):
        assert all_builtin_str(est.target_vocabulary_.itos)
        assert loaded.target_vocabulary_ == est.target_vocabulary_
        predicted = est.predict(X)
        assert loaded.predict(X) == predicted
        if est.target_kind_ == "chars":
            assert all(type(p) is str for p in predicted)
        else:
            assert all(type(p) is list and all_builtin_str(p) for p in predicted)
        np.testing.assert_array_equal(loaded.log_likelihood(X, y), est.log_likelihood(X, y))
    elif isinstance(est, LanguageModel):
        prefixes = X[:2] if est.input_kind_ == "chars" else [list(X[0][:1]), []]
        np.testing.assert_array_equal(loaded.predict_proba(prefixes), est.predict_proba(prefixes))
        assert loaded.sample(3, max_length=5, random_state=0) == est.sample(
            3, max_length=5, random_state=0)
    elif isinstance(est, SequenceTagger):
        for a, b in zip(loaded.predict(X), est.predict(X)):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_sample_prefix_of_numpy_str_gives_builtin_str():
    """A prefix given as a numpy array of tokens comes back as builtin str in the samples."""
    lm = quiet_fit(tiny_lm(), WORDS)
    prefix = np.array(["the", "dog"])
    out = lm.sample(2, max_length=3, prefix=prefix, random_state=0)
    assert all(s[:2] == ["the", "dog"] and all_builtin_str(s) for s in out)
    assert out == lm.sample(2, max_length=3, prefix=["the", "dog"], random_state=0)
    chars = quiet_fit(tiny_lm(), ["abcab", "bca"] * 3)
    (text,) = chars.sample(1, max_length=3, prefix=np.str_("ab"), random_state=0)
    assert type(text) is str and text.startswith("ab")


# -- 2. integer labels must fit in int64 -------------------------------------------------


def test_tagger_label_beyond_int64_names_the_problem():
    """A label like 2**70 says it does not fit in int64 and suggests str labels."""
    with pytest.raises(ValueError, match=r"does not fit in a signed 64-bit.*str labels"):
        check_label_sequences([[2**70, 1], [1]], [["a", "b"], ["c"]], "tokens")


@pytest.mark.parametrize("y", [
    [np.uint64([2**64 - 1, 2**64 - 2]), [-1, -2]],
    [list(np.uint64([2**64 - 1, 2**64 - 2])), [-1, -2]],
    [[2**63, 1], [1, 2]],
    [[1e30, 1.0], [1.0, 2.0]],
], ids=["uint64-array", "uint64-list", "python-int", "float"])
def test_tagger_labels_beyond_int64_are_refused(y):
    """Integer labels beyond int64 raise a ValueError, never merge into one float class."""
    with pytest.raises(ValueError, match="does not fit in a signed 64-bit integer"):
        check_label_sequences(y, [["a", "b"], ["c", "d"]], "tokens")


def test_tagger_integer_labels_become_int64():
    """uint64, int32 and mixed numpy/Python ints become int64: concatenation stays exact."""
    big = 2**53 + 1  # float64 would round it to 2**53
    y = [np.uint64([5, 6]), [-1, -2], np.int32([7, 8]), [np.uint64(big), np.uint64(big - 1)]]
    X = [["a", "b"]] * 4
    out = check_label_sequences(y, X, "tokens")
    assert [o.dtype for o in out] == [np.dtype(np.int64)] * 4
    flat = np.concatenate(out)
    assert flat.dtype == np.int64 and flat.tolist() == [5, 6, -1, -2, 7, 8, big, big - 1]
    assert len(np.unique(flat)) == 8


def test_tagger_fit_on_mixed_uint64_labels_keeps_every_class():
    """A tagger fitted on uint64 labels in one sequence and negatives in another keeps both."""
    X = [["a", "b"], ["c", "d"]] * 3
    y = [np.uint64([2**62, 2**62 + 1]), [-1, -2]] * 3
    tagger = quiet_fit(SequenceTagger(**TINY_TEXT, char_embedding_dim=None), X, y)
    assert tagger.classes_.dtype == np.int64
    assert tagger.classes_.tolist() == [-2, -1, 2**62, 2**62 + 1]


def test_tagger_bool_labels_stay_bool():
    """Bool labels are left as they are."""
    out = check_label_sequences([[True, False], [False]], [["a", "b"], ["c"]], "tokens")
    assert all(o.dtype == bool for o in out)


@pytest.mark.parametrize("y", [
    list(np.uint64([2**64 - 1, 2**64 - 2])) + [-1, -2],
    [2**64 - 1, -1, 2**64 - 2, -2],
    [2**63, 1, 2**63 + 1, 2],
    [2**70, 1, 2, 3],
    np.array([np.uint64(2**64 - 1), -1, 2, 3], dtype=object),
], ids=["uint64-and-negative", "huge-and-negative", "2**63", "2**70", "object-array"])
def test_classifier_labels_beyond_int64_are_refused(y):
    """The classifier says the label does not fit in int64 (not "continuous target")."""
    X = [["a"], ["b"], ["c"], ["d"]]
    with pytest.raises(ValueError, match=r"does not fit in a signed 64-bit.*str labels"):
        tiny_classifier().fit(X, y)


def test_classifier_mixed_uint64_and_negative_labels_stay_distinct():
    """numpy.uint64 labels next to negative ints keep distinct classes (no float rounding)."""
    big = 2**53 + 1
    y = [np.uint64(big), np.uint64(big - 1), -1, np.uint64(big), np.uint64(big - 1), -1]
    exact = _check_label_types(y)
    assert exact.dtype == np.int64 and exact.tolist()[:3] == [big, big - 1, -1]
    clf = quiet_fit(tiny_classifier(), [["a"], ["b"], ["c"]] * 2, y)
    assert clf.classes_.tolist() == [-1, big - 1, big]
    assert set(clf.predict([["a"], ["c"]]).tolist()) <= {-1, big - 1, big}


def test_classifier_uint64_array_labels_still_work():
    """A plain uint64 array (no mixing) was handled correctly and still is."""
    y = np.array([2**64 - 1, 2**64 - 2] * 3, dtype=np.uint64)
    clf = quiet_fit(tiny_classifier(), [["a"], ["b"]] * 3, y)
    assert clf.classes_.tolist() == [2**64 - 2, 2**64 - 1]


# -- 3. class_weight --------------------------------------------------------------------

CW_X = [["a", "b"], ["b"], ["c", "a"], ["c"]] * 2
CW_Y = [0, 1, 0, 1] * 2


@pytest.mark.parametrize("weights, match", [
    ({0: -1.0}, "finite number > 0.*negative weight"),
    ({0: 0}, r"finite number > 0.*Zero is refused.*0/0"),
    ({1: 0.0}, "Zero is refused"),
    ({0: float("nan")}, "finite number > 0"),
    ({0: float("inf")}, "finite number > 0"),
    ({0: 1e300}, "outside the range of float32"),
    ({0: 1e-300}, "outside the range of float32"),
    ({0: "2"}, r"class_weight\[0\] is str.*must be a number"),
    ({0: None}, "must be a number"),
    ({0: True}, "must be a number"),
    ({5: 1.0}, r"keys that are not labels of y: \[5\]; the classes are \[0, 1\]"),
    ({"0": 1.0}, "keys that are not labels of y"),
])
def test_bad_class_weights_are_refused_at_fit(weights, match):
    """Weights that are not finite positive numbers, or keys that are no labels, raise."""
    clf = tiny_classifier(class_weight=weights)  # __init__ accepts anything
    with pytest.raises(ValueError, match=match):
        clf.fit(CW_X, CW_Y)
    assert not hasattr(clf, "module_")


def test_valid_class_weights_accept_numpy_keys_and_values():
    """numpy scalars are fine as keys and values; classes left out weigh 1."""
    clf = quiet_fit(tiny_classifier(class_weight={np.int64(1): np.float32(2.5)}), CW_X, CW_Y)
    assert clf._class_weights.tolist() == [1.0, 2.5]


def test_partial_fit_refuses_balanced():
    """As SGDClassifier: "balanced" with partial_fit says how to compute the weights once."""
    clf = tiny_classifier(class_weight="balanced")
    with pytest.raises(ValueError, match=r"compute_class_weight\('balanced'.*as a dict"):
        clf.partial_fit(CW_X, CW_Y, classes=[0, 1])
    fitted = quiet_fit(tiny_classifier(), CW_X, CW_Y)
    fitted.set_params(class_weight="balanced")
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        fitted.partial_fit(CW_X, CW_Y)


def test_set_params_class_weight_takes_effect_in_partial_fit():
    """A dict set with set_params is used by the next partial_fit (weights and loss)."""
    clf = tiny_classifier(class_weight={0: 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(CW_X, CW_Y, classes=[0, 1, 2])
    assert clf._class_weights.tolist() == [1.0, 1.0, 1.0]
    same, heavy = copy.deepcopy(clf), copy.deepcopy(clf)
    heavy.set_params(class_weight={1: 50.0, 2: 3.0})
    quiet_partial_fit(same, CW_X, CW_Y)
    quiet_partial_fit(heavy, CW_X, CW_Y)
    assert heavy._class_weights.tolist() == [1.0, 50.0, 3.0]
    assert same._class_weights.tolist() == [1.0, 1.0, 1.0]
    # Same start, same batches: only the weights differ, and so does the loss.
    assert heavy.loss_curve_[-1] != pytest.approx(same.loss_curve_[-1])
    heavy.set_params(class_weight=None)
    quiet_partial_fit(heavy, CW_X, CW_Y)
    assert heavy._class_weights is None


def test_warm_start_recomputes_balanced_from_its_own_y():
    """A warm_start fit computes "balanced" weights from the y it is given."""
    clf = quiet_fit(tiny_classifier(class_weight="balanced"), CW_X, CW_Y)
    assert clf._class_weights.tolist() == [1.0, 1.0]
    y2 = [0, 0, 0, 1] * 2
    clf.set_params(warm_start=True)
    quiet_fit(clf, CW_X, y2)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=np.array(y2))
    np.testing.assert_allclose(clf._class_weights, expected)


def test_partial_fit_class_weight_may_name_classes_absent_from_the_batch():
    """A dict key that is in `classes` but not in this batch's y is fine."""
    clf = tiny_classifier(class_weight={2: 4.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(CW_X, CW_Y, classes=[0, 1, 2])
    assert clf._class_weights.tolist() == [1.0, 1.0, 4.0]


# -- 4. numeric X: float32 overflow and object arrays ------------------------------------


@pytest.mark.parametrize("X", [
    [np.array([[1e39, 1.0], [2.0, 3.0]])],
    [[[1e39], [1.0]]],
    [[[10**40], [1]]],
    [[[10**400], [1]]],
    np.array([[1e39, 2.0]]),
    [[10**400, 1]],
], ids=["array", "nested-float", "python-int", "int-beyond-float64", "2-D table", "int-table"])
def test_float32_overflow_is_named_without_numpy_warnings(X):
    """A finite value beyond float32 says so (3.4e38, scale the data), with no numpy warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"too large for float32.*3\.4e38.*StandardScaler"):
            check_sequences(X)


def test_real_nan_and_inf_still_say_so():
    """NaN / infinity in the data keeps its own message, also next to huge values."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bad in (np.nan, np.inf):
            with pytest.raises(ValueError, match="NaN or infinity"):
                check_sequences([np.array([[1e39], [bad]])])


def test_regressor_fit_on_float32_overflow_raises_clearly():
    """The message reaches the user through an estimator too."""
    X = [np.array([[1.0], [1e39]]), np.array([[2.0]])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large for float32"):
            SequenceRegressor(**TINY).fit(X, [1.0, 2.0])


def test_object_2d_numeric_sequence_reads_like_a_float_array():
    """A 2-D object array of numbers as one sequence is read as numbers."""
    obj = np.array([[1.0, 2.0], [3.0, 4]], dtype=object)
    seqs, kind = check_sequences([obj, np.ones((1, 2))])
    assert kind == "numeric" and seqs[0].dtype == np.float32
    np.testing.assert_array_equal(seqs[0], [[1.0, 2.0], [3.0, 4.0]])
    reg = quiet_fit(SequenceRegressor(**TINY), [obj, np.ones((3, 2))], [1.0, 2.0])
    np.testing.assert_array_equal(reg.predict([obj]), reg.predict([obj.astype(float)]))


@pytest.mark.parametrize("entries, match", [
    ([["a", 2.0], [3.0, 4.0]], r"object array of shape \(2, 2\).*\['float', 'str'\]"),
    ([[None, 2.0]], r"\['NoneType', 'float'\]"),
])
def test_object_2d_sequence_with_non_numbers_is_explained(entries, match):
    """A 2-D object array holding non-numbers gets a message naming the value types."""
    obj = np.array(entries, dtype=object)
    with pytest.raises(ValueError, match=match) as info:
        check_sequences([obj])
    assert "expected 1-D tokens" not in str(info.value)


def test_2d_string_array_as_one_sequence_is_explained():
    """A 2-D array of str is neither tokens nor numbers: the message says what is."""
    with pytest.raises(ValueError, match="1-D list of str tokens or a 2-D numeric array"):
        check_sequences([np.array([["a", "b"], ["c", "d"]])])


# -- 5. LanguageModel.sample: token budget and chunks -------------------------------------


@pytest.fixture(scope="module")
def char_lm():
    return quiet_fit(tiny_lm(max_epochs=2), ["abcab", "bca", "cab"] * 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_samples=10**9), r"n_samples \* max_length = 200000000000.*several calls"),
    (dict(n_samples=1, max_length=2**28), "lower max_length to at most 134217728"),
])
def test_sample_refuses_more_than_the_token_budget(char_lm, kwargs, match):
    """A call that could generate over 2**27 tokens raises before allocating anything."""
    with pytest.raises(ValueError, match=match):
        char_lm.sample(**kwargs)


def test_sample_budget_boundary_is_allowed(char_lm, monkeypatch):
    """Exactly the budget is allowed: the check is on n_samples * max_length only."""
    monkeypatch.setattr(lm_module, "SAMPLE_TOKEN_BUDGET", 12)
    assert len(char_lm.sample(3, max_length=4, random_state=0)) == 3
    with pytest.raises(ValueError, match="more than the 12"):
        char_lm.sample(13, max_length=1)


def test_sample_in_chunks_is_deterministic_and_bounded(char_lm, monkeypatch):
    """Chunked sampling bounds rows per step; its first chunk equals an unchunked call."""
    unchunked = char_lm.sample(7, max_length=6, random_state=3)
    first_two = char_lm.sample(2, max_length=6, random_state=3)
    calls = []
    real = lm_module.sample_steps

    def spy(step, state, tokens, **kw):
        calls.append(tokens.shape[0])
        return real(step, state, tokens, **kw)

    monkeypatch.setattr(lm_module, "sample_steps", spy)
    monkeypatch.setattr(lm_module, "_SAMPLE_LOGITS_BUDGET", 2 * len(char_lm.vocabulary_))
    chunked = char_lm.sample(7, max_length=6, random_state=3)
    assert calls == [2, 2, 2, 1]
    assert len(chunked) == 7 and all(isinstance(s, str) and len(s) <= 6 for s in chunked)
    assert chunked[:2] == first_two
    assert chunked == char_lm.sample(7, max_length=6, random_state=3)  # reproducible
    calls.clear()
    with_prefix = char_lm.sample(3, max_length=2, prefix="ab", random_state=1)
    assert calls == [2, 1] and all(s.startswith("ab") for s in with_prefix)
    monkeypatch.undo()
    assert char_lm.sample(7, max_length=6, random_state=3) == unchunked


# -- 6. user tokens spelled like reserved specials ----------------------------------------


@pytest.fixture(scope="module")
def word_lm():
    return quiet_fit(tiny_lm(max_epochs=2), WORDS)


def test_literal_markers_read_as_unk_in_a_bos_eos_vocabulary():
    """With bos_eos, literal "<bos>", "<eos>", "<pad>" and "<unk>" all encode as <unk>."""
    v = Vocabulary.build([["a", BOS, "b", EOS]], bos_eos=True)
    assert BOS not in v.itos[4:] and EOS not in v.itos[4:]
    assert v.encode([BOS, EOS, PAD, UNK]).tolist() == [v.unk_id] * 4
    assert v.encode(["a", "b"]).tolist() == [v.stoi["a"], v.stoi["b"]]
    assert BOS not in v and EOS not in v and PAD not in v and "a" in v
    # stoi still names the markers' columns (predict_proba[:, v.stoi["<eos>"]]).
    assert (v.stoi[BOS], v.stoi[EOS]) == (v.bos_id, v.eos_id)
    back = Vocabulary.from_state(v.to_state())
    assert back == v and back.stoi == v.stoi
    tokens = [BOS, "a", EOS, PAD, UNK, "zzz"]
    assert back.encode(tokens).tolist() == v.encode(tokens).tolist()


def test_literal_markers_are_ordinary_tokens_without_bos_eos():
    """Without bos_eos (taggers, classifiers) "<bos>" is a token like any other."""
    v = Vocabulary.build([["a", BOS, EOS]])
    assert BOS in v and v.encode([BOS]).tolist() == [v.stoi[BOS]] != [v.unk_id]


def test_language_model_scores_literal_markers_as_unk(word_lm):
    """score is finite for input with literal markers, equal to the same input with <unk>."""
    for seq in (["<bos>", "the"], ["the", "<eos>", "cat"], ["<pad>", "a"]):
        got = word_lm.score([seq])
        assert math.isfinite(got)
        as_unk = ["<unk>" if t in ("<bos>", "<eos>", "<pad>") else t for t in seq]
        assert got == pytest.approx(word_lm.score([as_unk]))


def test_language_model_predict_proba_with_literal_markers(word_lm):
    """Prefixes with literal markers give proper distributions, the same as with <unk>."""
    proba = word_lm.predict_proba([["<bos>"], ["the", "<eos>"], ["<pad>"], ["<unk>"]])
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(proba[0], proba[3], rtol=1e-6)
    v = word_lm.vocabulary_
    assert (proba[:, [v.pad_id, v.bos_id]] == 0).all()


def test_language_model_fitted_on_literal_markers_never_samples_them():
    """Training data holding literal markers trains; samples never generate them."""
    X = [["<bos>", "the", "cat"], ["a", "<eos>", "dog"], ["the", "dog", "<pad>"]] * 3
    lm = quiet_fit(tiny_lm(max_epochs=2), X)
    assert set(lm.vocabulary_.itos[4:]) == {"the", "cat", "a", "dog"}
    assert math.isfinite(lm.score(X))
    samples = lm.sample(30, max_length=8, random_state=0, temperature=2.0)
    samples += lm.sample(10, max_length=8, prefix=["<bos>", "a"], random_state=1)
    for s in samples[:30] + [s[2:] for s in samples[30:]]:
        assert not set(s) & {"<bos>", "<eos>", "<pad>", "<unk>"}


def test_saved_language_model_reads_literal_markers_the_same(word_lm, tmp_path):
    """After save / load a literal "<bos>" is still read as <unk>."""
    word_lm.save(tmp_path / "lm.skrnn")
    loaded = skrnn.load(tmp_path / "lm.skrnn")
    seq = [["<bos>", "the", "<eos>"]]
    assert math.isfinite(word_lm.score(seq)) and loaded.score(seq) == word_lm.score(seq)


# -- 7. regressor validation R² of constant targets --------------------------------------


def test_score_outputs_follows_r2_score_force_finite():
    """Constant targets score 1.0 if predicted exactly, else 0.0; others as r2_score."""
    reg = SequenceRegressor()
    targets = torch.tensor([[0.0, 1.0, 2.0], [0.0, 2.0, 2.0], [0.0, 4.0, 2.0]])
    pred = torch.tensor([[0.0, 1.5, 2.5], [0.0, 2.0, 2.0], [0.0, 3.0, 2.0]])
    _, r2 = reg._score_outputs(pred, targets)
    expected = r2_score(targets.numpy(), pred.numpy(), multioutput="raw_values",
                        force_finite=True)
    assert expected.tolist()[0] == 1.0 and expected.tolist()[2] == 0.0
    assert r2 == pytest.approx(expected.mean(), rel=1e-6)


def test_constant_target_validation_scores_are_bounded():
    """Early stopping on a constant y: validation R² is 0.0 or 1.0, never about -5.7e9."""
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(2, 5), 2) for _ in range(20)]
    y = np.full(20, 3.0)
    reg = quiet_fit(SequenceRegressor(**{**TINY, "max_epochs": 2}, early_stopping=True,
                                      validation_fraction=0.25, n_iter_no_change=2), X, y)
    assert reg.validation_scores_ and all(s in (0.0, 1.0) for s in reg.validation_scores_)
    assert -1.0 <= reg.best_validation_score_ <= 1.0
    assert reg.score(X, y) in (0.0, 1.0)


# -- 8. Seq2Seq outputs: empty, of the other kind, unknown, bounded ----------------------

S2S_X = ["abc", "ba", "cab", "b"] * 3
S2S_Y = ["cba", "", "bac", "b"] * 3


@pytest.fixture(scope="module")
def char_seq2seq():
    """String outputs, one in four empty."""
    return quiet_fit(tiny_seq2seq(max_epochs=2), S2S_X, S2S_Y)


def test_seq2seq_empty_outputs_next_to_others_are_learned_and_scored(char_seq2seq):
    """Empty strings among the outputs train (as an immediate <eos>) and score finitely."""
    assert char_seq2seq.target_kind_ == "chars" and char_seq2seq.longest_output_ == 3
    ll = char_seq2seq.log_likelihood(S2S_X[:4], ["", "", "a", ""])
    assert ll.shape == (4,) and np.isfinite(ll).all() and (ll < 0).all()
    assert 0.0 <= char_seq2seq.score(S2S_X[:4], ["", "ab", "", "b"]) <= 1.0
    weights = char_seq2seq.attention_weights(S2S_X[:2], ["", "ab"])
    assert [w.shape for w in weights] == [(0, 3), (2, 2)]


def test_seq2seq_only_empty_token_outputs_predict_empty_lists():
    """Every output an empty token list: the model can only emit <eos>; predictions are []."""
    est = quiet_fit(tiny_seq2seq(), S2S_X, [[]] * len(S2S_X))
    assert est.target_kind_ == "tokens" and len(est.target_vocabulary_) == 4
    assert est.predict(S2S_X[:3]) == [[], [], []]
    assert est.score(S2S_X[:3], [[], [], []]) == 1.0
    assert est.sample(S2S_X[:2], random_state=0) == [[], []]


def test_seq2seq_only_empty_string_outputs_keep_the_string_kind():
    """Every output the empty string: the model still returns strings (target_kind_ chars)."""
    est = quiet_fit(tiny_seq2seq(), S2S_X, [""] * len(S2S_X))
    assert est.target_kind_ == "chars"
    assert est.predict(S2S_X[:2]) == ["", ""]


@pytest.mark.parametrize("method", ["score", "log_likelihood", "attention_weights",
                                    "partial_fit"])
def test_seq2seq_all_empty_outputs_score_on_a_chars_model(char_seq2seq, method):
    """Outputs that happen to be all empty are valid string outputs for every method."""
    est = copy.deepcopy(char_seq2seq) if method == "partial_fit" else char_seq2seq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(est, method)(S2S_X[:2], ["", ""])


def test_seq2seq_attention_weights_when_every_prediction_is_empty():
    """attention_weights(X) works when predict(X) gives only empty strings."""
    # Trained to emit <eos> at once for (almost) everything.
    est = quiet_fit(tiny_seq2seq(max_epochs=5, learning_rate=0.03), S2S_X,
                    ["", "", "", "a"] * 3)
    X = S2S_X[:2]
    assert est.target_kind_ == "chars" and est.predict(X) == ["", ""]
    assert [w.shape for w in est.attention_weights(X)] == [(0, 3), (0, 2)]


@pytest.mark.parametrize("method", ["score", "log_likelihood", "attention_weights",
                                    "partial_fit"])
def test_seq2seq_outputs_of_the_other_kind_are_refused(char_seq2seq, method):
    """Token lists for a model fitted on strings are refused, saying which is which."""
    est = copy.deepcopy(char_seq2seq) if method == "partial_fit" else char_seq2seq
    with pytest.raises(ValueError, match="y holds tokens but the model was fitted with chars"):
        getattr(est, method)(S2S_X[:2], [["c", "b"], ["a"]])


def test_seq2seq_unknown_output_tokens_score_as_unk_but_do_not_train(char_seq2seq):
    """An output token never seen in fit reads as <unk> in log_likelihood and counts as an
    error in score; partial_fit refuses it by name."""
    X = S2S_X[:2]
    ll = char_seq2seq.log_likelihood(X, ["cz", "q"])
    np.testing.assert_array_equal(ll, char_seq2seq.log_likelihood(X, ["cy", "w"]))
    assert np.isfinite(ll).all()
    assert char_seq2seq.score(X, ["zzz", "zzz"]) == 0.0
    est = copy.deepcopy(char_seq2seq)
    with pytest.raises(ValueError, match=r"y\[1\] holds output tokens the model was not "
                                         r"fitted with: \['q'\]"):
        est.partial_fit(X, ["cb", "q"])


@pytest.mark.parametrize("method", ["fit", "score", "log_likelihood", "attention_weights"])
def test_seq2seq_x_and_y_of_different_lengths(char_seq2seq, method):
    """One output per input, or a ValueError that counts both."""
    est = tiny_seq2seq() if method == "fit" else char_seq2seq
    with pytest.raises(ValueError, match="3 input sequences but 2 outputs"):
        getattr(est, method)(S2S_X[:3], S2S_Y[:2])


def test_seq2seq_literal_markers_in_outputs_read_as_unk():
    """Output tokens spelled "<eos>", "<bos>" or "<pad>" are <unk>: never real output tokens,
    never predicted or sampled, scored like "<unk>"."""
    X = [["a", "b"], ["b"], ["a"]] * 3
    y = [["<eos>", "x"], ["<bos>"], ["y", "<pad>"]] * 3
    est = quiet_fit(tiny_seq2seq(max_epochs=2), X, y)
    assert est.target_vocabulary_.itos[4:] == ["x", "y"]
    as_unk = [[UNK if t.startswith("<") else t for t in s] for s in y]
    np.testing.assert_array_equal(est.log_likelihood(X, y), est.log_likelihood(X, as_unk))
    outputs = est.predict(X) + est.sample(X, temperature=3.0, random_state=0)
    assert all(set(o) <= {"x", "y"} for o in outputs)


@pytest.mark.parametrize("X, match", [
    ([np.array([[1e39]]), np.ones((2, 1))], "too large for float32"),
    ([np.array([[np.nan]]), np.ones((2, 1))], "NaN or infinity"),
])
def test_seq2seq_numeric_inputs_with_nan_or_overflow(X, match):
    """NaN or float32 overflow in numeric input is named at fit and at predict."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=match):
            tiny_seq2seq().fit(X, ["a", "b"])
    est = quiet_fit(tiny_seq2seq(), [np.ones((2, 1)), np.zeros((1, 1))], ["a", "b"])
    with pytest.raises(ValueError, match=match):
        est.predict(X[:1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=0), "temperature must be a positive finite number"),
    (dict(temperature=float("inf")), "temperature must be a positive finite number"),
    (dict(temperature=float("nan")), "temperature must be a positive finite number"),
    # Drawable: "a", "b", "c" and <eos>.
    (dict(top_k=0), r"top_k must be None or an int in \[1, 4\]"),
    (dict(top_k=5), r"top_k must be None or an int in \[1, 4\]"),
    (dict(max_length=0), "max_length must be None or an int >= 1"),
    (dict(stop_at_eos=False), "stop_at_eos=False needs max_length"),
])
def test_seq2seq_sample_argument_bounds(char_seq2seq, kwargs, match):
    """sample's arguments out of range name themselves and their range."""
    with pytest.raises(ValueError, match=match):
        char_seq2seq.sample(S2S_X[:2], **kwargs)


def test_seq2seq_sample_bounds_are_inclusive(char_seq2seq):
    """top_k = every drawable token and max_length = 1 are allowed; stop_at_eos=False gives
    exactly max_length tokens."""
    n = len(char_seq2seq.target_vocabulary_) - 3
    assert len(char_seq2seq.sample(S2S_X[:2], top_k=n, random_state=0)) == 2
    assert all(len(s) <= 1 for s in char_seq2seq.sample(S2S_X[:4], max_length=1))
    fixed = char_seq2seq.sample(S2S_X[:4], stop_at_eos=False, max_length=4, random_state=0)
    assert [len(s) for s in fixed] == [4] * 4


def test_seq2seq_sample_refuses_more_than_the_token_budget(char_seq2seq):
    """A sample call that could generate over 2**27 tokens raises before decoding."""
    with pytest.raises(ValueError, match="max_length"):
        # Uniform draws end at <eos> within a few steps while the bug stands.
        char_seq2seq.sample(S2S_X[:1], max_length=2**28, temperature=1e6, random_state=0)


def test_seq2seq_beam_search_with_max_output_length_one(char_seq2seq):
    """beam_size > 1 with max_output_length=1: at most one token per output, beam or not."""
    est = copy.deepcopy(char_seq2seq).set_params(beam_size=4, max_output_length=1)
    predicted = est.predict(S2S_X)
    assert len(predicted) == len(S2S_X) and all(len(p) <= 1 for p in predicted)
    weights = est.attention_weights(S2S_X[:3], ["a", "", "b"])
    assert [w.shape for w in weights] == [(1, 3), (0, 2), (1, 3)]


@pytest.mark.parametrize("param, value", [("beam_size", 0), ("beam_size", 2.5),
                                          ("max_output_length", "x"),
                                          ("max_output_length", 0)])
def test_seq2seq_decoding_parameters_set_after_fit_are_checked(char_seq2seq, param, value):
    """An invalid beam_size / max_output_length set after fit is refused by predict by name."""
    est = copy.deepcopy(char_seq2seq).set_params(**{param: value})
    with pytest.raises(ValueError, match=param):
        est.predict(S2S_X[:2])


def test_seq2seq_huge_max_output_length():
    """A max_output_length beyond int64 is refused (at fit or predict) by name."""
    with pytest.raises(ValueError, match="max_output_length"):
        est = quiet_fit(tiny_seq2seq(max_output_length=10**30), S2S_X, S2S_Y)
        est.predict(S2S_X[:1])
