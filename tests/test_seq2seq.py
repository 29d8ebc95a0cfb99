"""Tests for skrnn.Seq2Seq and skrnn.decoding: tiny tasks a correct model must solve, decoding
invariants, the sklearn contract, persistence and clear errors."""

import gc
import pickle
import weakref

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, same_weights, weights
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import skrnn
from skrnn import Seq2Seq
from skrnn.cells import CELLS
from skrnn.data import collate
from skrnn.decoding import beam_search, greedy_steps, select_rows

TINY = dict(hidden_size=32, embedding_dim=16, random_state=0, device="cpu")


def words(n, seed, letters="abcdefg", lo=2, hi=7):
    rng = np.random.RandomState(seed)
    return ["".join(rng.choice(list(letters), rng.randint(lo, hi))) for _ in range(n)]


@pytest.fixture(scope="module")
def reverser():
    """Reverse a string: needs the whole input and attention to the right position."""
    X = words(1200, 0)
    return quiet_fit(Seq2Seq(max_epochs=12, **TINY), X, [w[::-1] for w in X])


@pytest.fixture(scope="module")
def test_words():
    X = words(150, 1)
    return X, [w[::-1] for w in X]


def test_reverses_strings(reverser, test_words):
    """Exact-match accuracy on unseen words far above the copy baseline (palindromes only)."""
    X, y = test_words
    baseline = np.mean([x == t for x, t in zip(X, y)])
    assert reverser.score(X, y) > 0.85 > baseline + 0.5
    assert all(isinstance(p, str) for p in reverser.predict(X[:5]))


@pytest.mark.parametrize("attention", ["bahdanau", None])
def test_other_attentions_learn_to_copy(attention):
    """Copying is solvable with additive attention and (short words) without attention."""
    X = words(800, 2, lo=2, hi=5)
    model = quiet_fit(Seq2Seq(attention=attention, max_epochs=12, **TINY), X, X)
    Xt = words(100, 3, lo=2, hi=5)
    assert model.score(Xt, Xt) > 0.6


def test_token_outputs_of_another_length():
    """Token lists in, token lists out: a word's letters -> its length spelled out, sorted."""
    X = words(1500, 4, lo=1, hi=6)
    names = ["zero", "one", "two", "three", "four", "five", "six"]
    y = [[names[len(w)], *sorted(set(w))] for w in X]
    # A fixed 15 epochs: early stopping (held-out inputs never seen in training)
    # stops at epoch 6 of this tiny model, before the length word is learnt.
    model = quiet_fit(Seq2Seq(max_epochs=15, early_stopping=False, **TINY),
                      [list(w) for w in X], y)
    Xt = words(80, 5, lo=1, hi=6)
    yt = [[names[len(w)], *sorted(set(w))] for w in Xt]
    predicted = model.predict([list(w) for w in Xt])
    assert all(isinstance(p, list) for p in predicted)
    # The length word: 5 lengths, the most frequent a fifth of the words (measured 0.74).
    assert np.mean([p[:1] == t[:1] for p, t in zip(predicted, yt)]) > 0.6
    assert model.score([list(w) for w in Xt], yt) > 0.5


def test_numeric_inputs():
    """Series in, symbols out: the sign of each step (a tagging task of another shape)."""
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(2, 6), 1).astype(np.float32) for _ in range(1600)]
    y = ["".join("+" if v > 0 else "-" for v in x[:, 0]) for x in X]
    model = quiet_fit(Seq2Seq(max_epochs=12, **TINY), X[:1500], y[:1500])
    # Held-out series; a constant guess gets about 2 ** -3.5 of them right.
    assert model.score(X[1500:], y[1500:]) > 0.8


def test_beam_search_is_not_worse_than_greedy_in_log_likelihood(reverser, test_words):
    X, _ = test_words
    greedy = reverser.predict(X)
    beam = clone(reverser).set_params(beam_size=5)
    beam.__dict__.update({k: v for k, v in reverser.__dict__.items() if k.endswith("_")})
    beamed = beam.predict(X)
    ll_greedy = reverser.log_likelihood(X, greedy)
    ll_beam = reverser.log_likelihood(X, beamed)
    # Beam search picks by log-probability per token (<eos> included): by that measure
    # it is never worse than greedy, sentence by sentence. (Its total log-likelihood may
    # be lower: length normalisation can prefer a longer output.)
    per_token = [ll / np.array([len(o) + 1 for o in out])
                 for ll, out in ((ll_greedy, greedy), (ll_beam, beamed))]
    assert np.all(per_token[1] >= per_token[0] - 1e-5)
    assert ll_beam.mean() >= ll_greedy.mean() - 0.05


def test_batched_decoding_equals_one_at_a_time(reverser, test_words):
    X, _ = test_words
    together = reverser.predict(X[:20])
    assert together == [reverser.predict([x])[0] for x in X[:20]]
    beam = pickle.loads(pickle.dumps(reverser)).set_params(beam_size=3)
    assert beam.predict(X[:10]) == [beam.predict([x])[0] for x in X[:10]]


def test_attention_rows_sum_to_one(reverser, test_words):
    X, y = test_words
    for x, a, t in zip(X[:10], reverser.attention_weights(X[:10], y[:10]), y[:10]):
        assert a.shape == (len(t), len(x))
        np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)
    # Reversal: output position t attends mostly to input position len - 1 - t.
    hits = [np.argmax(a, axis=1) == np.arange(len(x))[::-1]
            for x, a in zip(X[:30], reverser.attention_weights(X[:30], y[:30]))]
    assert np.mean(np.concatenate(hits)) > 0.8
    predicted = reverser.attention_weights(X[:3])
    assert [a.shape[0] for a in predicted] == [len(p) for p in reverser.predict(X[:3])]


def test_log_likelihood_is_a_log_probability(reverser, test_words):
    X, y = test_words
    ll = reverser.log_likelihood(X[:20], y[:20])
    assert ll.shape == (20,) and (ll <= 0).all()
    wrong = reverser.log_likelihood(X[:20], X[:20])  # the unreversed words
    assert ll.mean() > wrong.mean()


def test_sample_ends_at_eos_or_at_a_fixed_length(reverser, test_words):
    X, _ = test_words
    a = reverser.sample(X[:10], random_state=0)
    assert a == reverser.sample(X[:10], random_state=0)
    assert a != reverser.sample(X[:10], temperature=5.0, random_state=1)
    fixed = reverser.sample(X[:10], stop_at_eos=False, max_length=9, random_state=0)
    assert [len(s) for s in fixed] == [9] * 10
    greedy = reverser.sample(X[:10], temperature=1e-9, random_state=0)
    assert greedy == reverser.predict(X[:10])
    with pytest.raises(ValueError, match="needs max_length"):
        reverser.sample(X[:2], stop_at_eos=False)
    with pytest.raises(ValueError, match="temperature"):
        reverser.sample(X[:2], temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        reverser.sample(X[:2], top_k=0)


def test_max_output_length_bounds_the_outputs(reverser, test_words):
    X, _ = test_words
    short = pickle.loads(pickle.dumps(reverser)).set_params(max_output_length=2)
    assert all(len(p) <= 2 for p in short.predict(X[:20]))
    assert all(len(p) <= 2 for p in short.set_params(beam_size=3).predict(X[:20]))
    assert reverser.longest_output_ == 6 and reverser.output_length_ratio_ == 1.0


def test_save_load_and_pickle_are_bit_identical(reverser, test_words, tmp_path):
    X, y = test_words
    reverser.save(tmp_path / "m.skrnn")
    loaded = skrnn.load(tmp_path / "m.skrnn")
    unpickled = pickle.loads(pickle.dumps(reverser))
    for other in (loaded, unpickled):
        assert same_weights(weights(other), weights(reverser))
        assert other.predict(X) == reverser.predict(X)
        assert other.sample(X[:10], random_state=3) == reverser.sample(X[:10], random_state=3)
        np.testing.assert_array_equal(other.log_likelihood(X, y), reverser.log_likelihood(X, y))
    one, two = pickle.loads(pickle.dumps(reverser)), loaded
    quiet_partial_fit(one, X, y)
    quiet_partial_fit(two, X, y)
    assert same_weights(weights(one), weights(two))
    assert clone(reverser).get_params() == reverser.get_params()


def test_grid_search_over_cell_and_attention():
    X = words(120, 6, lo=2, hi=4)
    search = GridSearchCV(Seq2Seq(max_epochs=2, **TINY),
                          {"cell": ["gru", "peephole"], "attention": ["luong", None]}, cv=2)
    quiet_fit(search, X, [w[::-1] for w in X])
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_params_["cell"] in {"gru", "peephole"}


def test_partial_fit_refuses_unknown_output_tokens():
    X = words(30, 7)
    model = quiet_partial_fit(Seq2Seq(**TINY), X, X)
    with pytest.raises(ValueError, match="not fitted with"):
        model.partial_fit(["abc"], ["xyz"])


@pytest.mark.parametrize("X, y, match", [
    (["ab", "cd"], ["ba"], "different lengths"),
    (["ab", ""], ["ba", "dc"], "empty"),
    (["ab", "cd"], ["ba", 3], "y"),
    (["ab", "cd"], None, "needs y"),
])
def test_clear_errors(X, y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Seq2Seq(max_epochs=1, **TINY).fit(X, y)


def test_invalid_parameters():
    with pytest.raises(InvalidParameterError, match="beam_size"):
        Seq2Seq(beam_size=0).fit(["ab"], ["ba"])
    with pytest.raises(InvalidParameterError, match="attention"):
        Seq2Seq(attention="dot").fit(["ab"], ["ba"])
    with pytest.raises(InvalidParameterError, match="max_output_length"):
        Seq2Seq(max_output_length=0).fit(["ab"], ["ba"])


def test_unfitted_estimator_says_so():
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "sample", "attention_weights"):
        with pytest.raises(NotFittedError):
            getattr(Seq2Seq(), method)(["ab"])


def test_single_graph_exports_point_to_to_onnx(reverser):
    with pytest.raises(TypeError, match="two graphs"):
        reverser.to_torchscript()


# Each export takes ~10 s: the other cell / attention pairs run with -m slow.
@pytest.mark.parametrize("cell, attention", [
    ("lstm", "luong"), pytest.param("peephole", "bahdanau", marks=pytest.mark.slow),
    pytest.param("gru", None, marks=pytest.mark.slow)])
def test_onnx_greedy_decoding_equals_predict(cell, attention, tmp_path):
    """The encoder and decoder-step graphs, driven by onnx_greedy_decode in onnxruntime,
    give predict's outputs on ragged batches of unseen words."""
    pytest.importorskip("onnxruntime")
    from skrnn.seq2seq import onnx_greedy_decode

    X = words(300, 9)
    model = quiet_fit(Seq2Seq(cell=cell, attention=attention, num_layers=2, max_epochs=3,
                              **TINY), X, [w[::-1] for w in X])
    path = model.to_onnx(tmp_path / "exported")
    for Xt in (words(25, 10, hi=12), ["a"]):
        arrays = model.export_inputs(Xt)
        decoded = onnx_greedy_decode(path, arrays["inputs"], arrays["lengths"])
        assert ["".join(t) for t in decoded] == model.predict(Xt)


def test_empty_outputs_are_learned_as_immediate_eos():
    X = words(200, 8)
    y = ["" if len(w) < 4 else w for w in X]
    model = quiet_fit(Seq2Seq(max_epochs=10, **TINY), X, y)
    assert model.predict(["ab"])[0] == ""


# --- the decoding core on a hand-made model ------------------------------------------------


def _markov_step(table):
    """A step function whose next-token log-probabilities depend on the last token only."""
    logits = torch.log(torch.as_tensor(table, dtype=torch.float32))

    def step(tokens, state):
        return logits[tokens].clone(), state + 1
    return step


def test_beam_search_finds_what_greedy_misses():
    # From <bos> (0): token 1 is likelier (0.6) but leads to a flat distribution; token 2
    # (0.4) leads to <eos> (3) with certainty. Best sequence: 2, 3 (p=0.4) vs 1, x (<= 0.6/3).
    table = [[1e-9, 0.6, 0.4, 1e-9], [1e-9, 1 / 3, 1 / 3, 1 / 3], [1e-9, 1e-9, 1e-9, 1.0],
             [1e-9, 1e-9, 1e-9, 1.0]]
    start = torch.zeros(2, dtype=torch.long)
    state = torch.zeros(2)
    greedy, lp_greedy = greedy_steps(_markov_step(table), state, start, max_steps=4, eos_id=3,
                                     banned=[0])
    beam, lp_beam = beam_search(_markov_step(table), state, start, beam_size=2, max_steps=4,
                                eos_id=3, banned=[0], length_normalize=False)
    assert greedy[0, 0] == 1 and beam[0].tolist()[:2] == [2, 3]
    assert (lp_beam > lp_greedy).all()
    assert torch.allclose(lp_beam, torch.log(torch.tensor(0.4)).expand(2), atol=1e-5)


@pytest.mark.parametrize("attention", ["luong", "bahdanau", None])
@pytest.mark.parametrize("cell", list(CELLS))
def test_decoder_steps_equal_teacher_forcing(cell, attention):
    """Stepping the decoder on the true previous tokens gives the teacher-forced logits, for
    every cell (two layers) and attention."""
    X = words(12, 5)
    model = quiet_fit(Seq2Seq(cell=cell, attention=attention, num_layers=2, max_epochs=1,
                              **TINY), X, [w[::-1] for w in X])
    data, _ = model._pairs(X, [w[::-1] for w in X])
    batch = collate(data, np.arange(len(X)), "cpu")
    targets_in = batch.targets[:, :-1].clamp(min=0)
    module = model.module_
    with torch.no_grad():
        expected = module(batch, targets_in)  # (N, T, V)
        step, state = module.stepper(), module.decoder_start(batch)
        for t in range(targets_in.shape[1]):
            logits, state = step(targets_in[:, t], state)
            torch.testing.assert_close(logits, expected[:, t], rtol=1e-4, atol=1e-5)


def test_decoder_stepper_is_cached_and_follows_the_weights(reverser, test_words):
    """predict builds the decoder's stepper once; changed weights get a new one that decodes
    as a model built afresh with them; the cache does not keep the network alive."""
    model = pickle.loads(pickle.dumps(reverser))
    X = test_words[0][:20]
    net = model.module_
    step = net.stepper()
    assert net.stepper() is step
    assert model.predict(X) == reverser.predict(X) and net.stepper() is step
    with torch.no_grad():
        for p in net.decoder.parameters():
            p.mul_(0.8)
    assert net.stepper() is not step
    fresh = pickle.loads(pickle.dumps(model))
    for beam in (1, 3):
        model.set_params(beam_size=beam)
        assert model.predict(X) == fresh.set_params(beam_size=beam).predict(X)
    ref = weakref.ref(net)
    del model, net, step
    gc.collect()
    assert ref() is None


def test_select_rows_reorders_any_nesting():
    state = {"a": torch.arange(3), "b": [(torch.arange(6).view(3, 2),)], "c": None}
    picked = select_rows(state, torch.tensor([2, 0]))
    assert picked["a"].tolist() == [2, 0] and picked["b"][0][0].tolist() == [[4, 5], [0, 1]]
    assert picked["c"] is None


def test_validation_split_keeps_pairs_of_one_input_together():
    # Every input has two outputs: a pair-by-pair split would put one of them in
    # training and score the other as "held out".
    from skrnn._base import grouped_holdout

    words = [f"w{i}" for i in range(40)]
    groups = np.array([w for w in words for _ in range(2)], dtype=object)
    perm = np.random.RandomState(0).permutation(len(groups))
    valid, train = grouped_holdout(perm, groups, 9)
    assert len(valid) >= 9 and len(valid) + len(train) == len(groups)
    assert not set(groups[valid]) & set(groups[train])
    with pytest.raises(ValueError, match="leave none for training"):
        grouped_holdout(np.arange(4), np.array(["a", "a", "a", "a"], dtype=object), 1)

    X = [w for w in words for _ in range(2)] * 13
    y = [o for w in words for o in (w[::-1], w + w)] * 13
    model = Seq2Seq(hidden_size=8, embedding_dim=8, max_epochs=1, early_stopping=True,
                    random_state=0).fit(X, y)
    assert model.best_validation_score_ is not None
