"""Tests for skrnn.LanguageModel: learning, scoring, sampling, errors."""

import json
import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV

from skrnn import LanguageModel
from skrnn import language_model as lm_module
from skrnn.data import IGNORE_INDEX

PATTERN = ["abcabc", "abc", "abcabcabc"] * 10


def small_lm(**kw):
    params = dict(hidden_size=32, num_layers=1, embedding_dim=16, max_epochs=60,
                  learning_rate=1e-2, random_state=0, device="cpu")
    return LanguageModel(**{**params, **kw})


def quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


@pytest.fixture(scope="module")
def pattern_lm():
    """A character model fitted on a deterministic repeating pattern (not to be mutated)."""
    return quiet_fit(small_lm(), PATTERN)


@pytest.fixture(scope="module")
def word_lm():
    """A word-level model fitted on a tiny deterministic grammar (not to be mutated)."""
    X = [["the", "cat", "sat"], ["the", "dog", "ran"], ["a", "cat", "sat"]] * 10
    return quiet_fit(small_lm(), X)


# -- learning and scoring -------------------------------------------------------------


def test_learns_pattern_to_near_zero_loss(pattern_lm):
    """On a deterministic pattern the loss per token falls far below the uniform baseline."""
    uniform = np.log(3 + 1)  # a, b, c, <eos>
    assert pattern_lm.loss_curve_[-1] < 0.35 < uniform
    # every step but "after abc: continue or stop?" is certain
    proba = pattern_lm.predict_proba(["", "a", "ab"])
    v = pattern_lm.vocabulary_.stoi
    assert proba[0, v["a"]] > 0.9 and proba[1, v["b"]] > 0.9 and proba[2, v["c"]] > 0.9


def test_greedy_sampling_reproduces_pattern(pattern_lm):
    """With temperature -> 0 sampling is greedy and continues the pattern."""
    out = pattern_lm.sample(n_samples=3, prefix="abca", max_length=2, temperature=1e-3,
                            random_state=0)
    assert out == ["abcabc"] * 3


def test_score_is_sum_of_next_token_log_probabilities(pattern_lm):
    """score equals the mean of log predict_proba over every prefix, <eos> included."""
    text = "abcab"
    v = pattern_lm.vocabulary_
    prefixes = [text[:i] for i in range(len(text) + 1)]
    nexts = list(text) + ["<eos>"]
    proba = pattern_lm.predict_proba(prefixes)
    manual = np.mean([np.log(proba[i, v.stoi[t]]) for i, t in enumerate(nexts)])
    assert pattern_lm.score([text]) == pytest.approx(manual, rel=1e-4)
    assert pattern_lm.perplexity([text]) == pytest.approx(np.exp(-manual), rel=1e-4)


def test_score_weights_tokens_not_sequences(pattern_lm):
    """The score of two sequences is the token-weighted mean of their scores."""
    a, b = "abc", "abcabcabc"
    sa, sb = pattern_lm.score([a]), pattern_lm.score([b])
    both = pattern_lm.score([a, b])
    assert both == pytest.approx((4 * sa + 10 * sb) / 14, rel=1e-5)


def test_unknown_tokens_are_scored_as_unk(pattern_lm):
    """Unseen characters are read as <unk>: scores stay finite and lower."""
    assert np.isfinite(pattern_lm.score(["abzabc"]))
    assert pattern_lm.score(["abzabc"]) < pattern_lm.score(["abcabc"])
    assert pattern_lm.predict_proba(["zz"]).shape == (1, len(pattern_lm.vocabulary_))


def test_predict_proba_rows_and_banned_columns(pattern_lm):
    """Next-token distributions sum to 1 and never put mass on <pad> or <bos>."""
    proba = pattern_lm.predict_proba(["", "abc", "abcabcab"])
    v = pattern_lm.vocabulary_
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert (proba[:, [v.pad_id, v.bos_id]] == 0).all()
    assert pattern_lm.predict(["a", "ab"]).tolist() == ["b", "c"]


def test_word_level_model(word_lm):
    """Token lists give a word-level model that predicts and samples token lists."""
    assert word_lm.input_kind_ == "tokens"
    assert word_lm.predict([["the", "cat"]]).tolist() == ["sat"]
    sample = word_lm.sample(prefix=["a"], max_length=5, temperature=1e-3, random_state=0)[0]
    assert sample == ["a", "cat", "sat"]


def test_long_text_as_one_sequence_trains():
    """A single long string (cut into windows with carried state) is learned."""
    text = "hello world. " * 200
    lm = quiet_fit(small_lm(window_length=20, max_epochs=15), [text])
    assert lm.early_stopping == "auto" and lm.validation_scores_ is None
    assert lm.score(["hello world. hello world. "]) > -0.5
    out = lm.sample(prefix="hello w", max_length=5, temperature=1e-3, random_state=0)[0]
    assert out == "hello world."


# -- sampling ----------------------------------------------------------------------------


def test_sampling_stops_at_eos_and_respects_max_length(pattern_lm):
    """Samples end at <eos> (not included) and are never longer than max_length."""
    free = pattern_lm.sample(n_samples=20, max_length=50, random_state=1)
    assert all(s and set(s) <= set("abc") for s in free)
    assert any(len(s) < 50 for s in free)  # it learned to stop
    capped = pattern_lm.sample(n_samples=5, max_length=2, prefix="abc", random_state=1)
    assert all(s.startswith("abc") and len(s) <= 5 for s in capped)


def test_sampling_to_a_fixed_length_never_draws_eos(pattern_lm, word_lm):
    """stop_at_eos=False: the course notes' other way to end a sample, exactly max_length."""
    for lm, n in ((pattern_lm, 40), (word_lm, 7)):
        drawn = lm.sample(6, max_length=n, stop_at_eos=False, random_state=0)
        assert [len(s) for s in drawn] == [n] * 6
        assert all("<eos>" not in s for s in drawn)
    ended = pattern_lm.sample(6, max_length=400, random_state=0)
    assert max(len(s) for s in ended) < 400  # the default still ends at <eos>


def test_same_random_state_same_samples(pattern_lm):
    """The same random_state gives the same samples, a shorter max_length their starts."""
    a = pattern_lm.sample(n_samples=10, max_length=30, random_state=3)
    b = pattern_lm.sample(n_samples=10, max_length=30, random_state=3)
    assert a == b
    short = pattern_lm.sample(n_samples=10, max_length=4, random_state=3)
    assert [s[:4] for s in a] == short


def test_top_k_one_is_greedy(pattern_lm):
    """top_k=1 draws the most likely token at every step."""
    out = pattern_lm.sample(n_samples=4, prefix="ab", max_length=4, top_k=1, random_state=0)
    assert out == ["abcabc"] * 4


def test_sample_does_not_touch_global_rng(pattern_lm):
    """Sampling uses its own generator, not the global torch RNG."""
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    pattern_lm.sample(n_samples=2, max_length=5, random_state=0)
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_length": 0}, "max_length must be an int >= 1"),
        ({"n_samples": 0}, "n_samples must be an int >= 1"),
        ({"temperature": 0}, "temperature must be a positive finite number"),
        ({"temperature": -1.0}, "temperature must be a positive"),
        ({"temperature": float("nan")}, "temperature must be a positive"),
        ({"top_k": 0}, "top_k must be an int >= 1"),
        ({"top_k": 100}, "top_k=100 exceeds the 4 tokens"),
    ],
)
def test_bad_sampling_arguments(pattern_lm, kwargs, match):
    """Invalid sampling arguments raise ValueError naming the argument and the valid range."""
    with pytest.raises(ValueError, match=match):
        pattern_lm.sample(**kwargs)


def test_prefix_of_the_wrong_kind(pattern_lm, word_lm):
    """A char model needs a str prefix; a word model needs a token list."""
    with pytest.raises(TypeError, match="prefix must be a str"):
        pattern_lm.sample(prefix=["a"])
    with pytest.raises(TypeError, match="prefix must be a list of str tokens"):
        word_lm.sample(prefix="the cat")


def _fresh_copy(lm):
    """The same fitted model with a network of its own (nothing built for it yet)."""
    return pickle.loads(pickle.dumps(lm))


def test_sample_reuses_its_stepper_until_the_weights_change(pattern_lm):
    """One stepper serves every call; partial_fit, warm_start and loaded weights get a new
    one, which samples exactly as a model built afresh with those weights."""
    lm = _fresh_copy(pattern_lm)
    first = lm.sample(5, max_length=20, random_state=1)
    stepper = lm_module._stepper(lm.module_)
    assert lm.sample(5, max_length=20, random_state=1) == first
    assert lm_module._stepper(lm.module_) is stepper
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lm.partial_fit(PATTERN)
    assert lm_module._stepper(lm.module_) is not stepper
    assert lm.sample(8, max_length=20, random_state=4) == _fresh_copy(lm).sample(
        8, max_length=20, random_state=4)
    stepper = lm_module._stepper(lm.module_)
    quiet_fit(lm.set_params(warm_start=True, max_epochs=1), PATTERN)
    assert lm_module._stepper(lm.module_) is not stepper
    other = quiet_fit(small_lm(max_epochs=3, random_state=1), PATTERN)
    assert other.sample(8, max_length=20, random_state=4) != lm.sample(8, max_length=20,
                                                                       random_state=4)
    lm.module_.load_state_dict(other.module_.state_dict())  # weights changed in place
    assert lm.sample(8, max_length=20, random_state=4) == other.sample(8, max_length=20,
                                                                       random_state=4)


def test_cached_stepper_is_not_pickled_saved_or_cloned(pattern_lm, tmp_path):
    """The cache lives outside the estimator and its network: pickles, saved files, clones
    and the fitted attributes are the same before and after sampling."""
    lm = _fresh_copy(pattern_lm)
    attrs, module_attrs = set(vars(lm)), set(vars(lm.module_))
    pickled = pickle.dumps(lm)
    lm.save(tmp_path / "before.skrnn")
    lm.sample(3, max_length=10, random_state=0)
    assert lm_module._stepper(lm.module_) is not None
    assert set(vars(lm)) == attrs and set(vars(lm.module_)) == module_attrs
    after = pickle.dumps(lm)
    assert b"RecurrentStepper" not in after and len(after) == len(pickled)
    lm.save(tmp_path / "after.skrnn")
    assert _saved(tmp_path / "after.skrnn") == _saved(tmp_path / "before.skrnn")
    assert clone(lm).get_params() == lm.get_params() and not hasattr(clone(lm), "module_")


def _saved(path):
    """A saved file's header (parsed: its metadata's key order varies) and tensor bytes."""
    blob = path.read_bytes()
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + size])
    header["__metadata__"] = {k: json.loads(v) if v.startswith("{") else v
                              for k, v in header["__metadata__"].items()}
    return header, blob[8 + size:]


def test_threads_sampling_a_cold_model_agree_with_sequential_calls(pattern_lm):
    """Threads that sample one model whose stepper is not built yet get the sequential
    samples."""
    lm = _fresh_copy(pattern_lm)
    seeds = list(range(16))
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda s: lm.sample(3, max_length=30, random_state=s), seeds))
    assert threaded == [pattern_lm.sample(3, max_length=30, random_state=s) for s in seeds]


# -- training mechanics ----------------------------------------------------------------


def test_long_sequences_stream_with_carried_state():
    """Long sequences are laid end to end in rows, <bos> targets masked, windows carry state."""
    lm = small_lm(batch_size=2, window_length=2, max_epochs=1)
    X = ["abc", "cdef", "fgh"]
    quiet_fit(lm, X)
    batches = lm._epoch_batches(lm._encode_inputs(X), np.random.RandomState(0))(0)
    assert all(b.stateful for b in batches)
    inputs = torch.cat([b.inputs for b in batches], dim=1).flatten().tolist()
    targets = torch.cat([b.targets for b in batches], dim=1).flatten().tolist()
    v = lm.vocabulary_
    assert inputs.count(v.bos_id) == 3 and targets.count(v.eos_id) == 3
    assert all(t == IGNORE_INDEX for i, t in zip(inputs[1:], targets) if i == v.bos_id)
    assert [b.carry for b in batches] == [False] + [True] * (len(batches) - 1)
    # 10 tokens + 3 <bos> + 3 <eos> = 16 steps, 15 input/target pairs in 2 rows of 8:
    # one padded step without a target.
    assert len(inputs) == 16 and targets.count(IGNORE_INDEX) == 3


def test_short_sequences_train_from_a_fresh_state():
    """Sequences that fit in a window are padded batches read from <bos>, as when scoring."""
    lm = small_lm(batch_size=4, window_length=10, max_epochs=1)
    X = ["ab", "cde", "f"]
    quiet_fit(lm, X)
    (batch,) = lm._epoch_batches(lm._encode_inputs(X), np.random.RandomState(0))(0)
    batch = batch()  # short batches are built lazily
    v = lm.vocabulary_
    assert not batch.stateful and not batch.carry
    assert (batch.inputs[:, 0] == v.bos_id).all()
    for row, length in zip(batch.targets.tolist(), batch.lengths.tolist()):
        assert row[length - 1] == v.eos_id and set(row[length:]) <= {IGNORE_INDEX}


def test_same_seed_same_model():
    """The same random_state gives identical weights."""
    a = quiet_fit(small_lm(max_epochs=3), PATTERN)
    b = quiet_fit(small_lm(max_epochs=3), PATTERN)
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_early_stopping_auto_with_many_sequences(pattern_lm):
    """With 10+ sequences "auto" holds some out and records validation scores."""
    assert pattern_lm.validation_scores_ is not None
    assert pattern_lm.best_validation_score_ == max(pattern_lm.validation_scores_)


def test_partial_fit_and_warm_start():
    """partial_fit adds epochs to the same model."""
    lm = small_lm()
    lm.partial_fit(PATTERN)
    lm.partial_fit(PATTERN)
    assert lm.n_iter_ == 2


def test_pickle_roundtrip_same_samples(pattern_lm):
    """A pickled model scores and samples identically."""
    restored = pickle.loads(pickle.dumps(pattern_lm))
    assert restored.score(PATTERN) == pattern_lm.score(PATTERN)
    assert restored.sample(5, random_state=2) == pattern_lm.sample(5, random_state=2)


# -- errors and sklearn -------------------------------------------------------------------


def test_bidirectional_is_rejected_with_reason():
    """bidirectional=True explains why a language model cannot read backwards."""
    with pytest.raises(ValueError, match="backward direction would read the token"):
        LanguageModel(bidirectional=True).fit(["abc"])


@pytest.mark.parametrize(
    "X, exc, match",
    [
        ([], ValueError, "X is empty"),
        (["abc", ""], ValueError, r"X\[1\] is an empty sequence"),
        (["abc", 5], TypeError, r"X\[1\] is int"),
        ([["a", 1]], TypeError, r"tokens must be str"),
        ([np.ones((3, 2))], ValueError, "This estimator takes sequences"),
        ("abc", TypeError, "wrap it in a list"),
    ],
)
def test_bad_training_input(X, exc, match):
    """Bad X raises a clear error before any training."""
    with pytest.raises(exc, match=match):
        small_lm().fit(X)


def test_unfitted_model():
    """Scoring or sampling before fit raises NotFittedError."""
    with pytest.raises(NotFittedError):
        LanguageModel().sample()
    with pytest.raises(NotFittedError):
        LanguageModel().score(["abc"])


def test_grid_search_uses_score():
    """GridSearchCV over cell and hidden_size works on plain strings with the default score."""
    search = GridSearchCV(small_lm(max_epochs=20, early_stopping=False),
                          {"cell": ["gru", "lstm"], "hidden_size": [8, 32]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(PATTERN)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(scores < 0) and len(scores) == 4
    assert clone(search.best_estimator_).get_params()["cell"] in {"gru", "lstm"}
