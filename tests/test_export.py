"""Tests for skrnn.export: exported models (TorchScript, ONNX) reproduce the estimators."""

import sys

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, same_weights, weights
from sklearn.exceptions import NotFittedError

from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn.crf import viterbi_numpy
from skrnn.export import to_exported_program

# TorchScript is deprecated upstream; torch.jit.trace says so on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.*` is deprecated:DeprecationWarning"
)

TINY = dict(hidden_size=8, max_epochs=1, random_state=0, device="cpu")


def _series(n, seed, n_features=2, longest=12):
    """Random series of 1 to ``longest`` steps, the last one of a single step."""
    rng = np.random.RandomState(seed)
    lengths = list(rng.randint(1, longest + 1, size=n - 1)) + [1]
    return [rng.randn(t, n_features).astype(np.float32) for t in lengths]


def _words(toy_factory):
    X, y = toy_factory(n=40, seed=0)
    # A one-step sentence and an unknown, long word (cut to 12 + 8 characters).
    X += [["the", "Supercalifragilisticexpialidocious", "runs"], ["dog"]]
    y += [["DET", "NOUN", "VERB"], ["NOUN"]]
    return X, y


# Each case: a fitted estimator and X to export with (ragged, ending with a 1-step sequence).
@pytest.fixture(scope="module")
def cases(toy_factory):
    X_words, y_words = _words(toy_factory)
    X_num = _series(40, 0)
    y_cls = np.array(["a" if x[:, 0].mean() > 0 else "b" for x in X_num])
    y_reg = np.array([x[:, 1].sum() * 10 + 50 for x in X_num])
    text = ["abcab", "ba", "c", "abcabcab", "cab"] * 4
    strings = [" ".join(s) for s in X_words] + ["a"]  # character-level tagging
    return {
        "tagger-lstm-bi-chars": (quiet_fit(SequenceTagger(
            embedding_dim=8, char_embedding_dim=4, char_filters=4, **TINY), X_words, y_words),
            X_words),
        "tagger-gru-uni-str": (quiet_fit(SequenceTagger(
            "gru", bidirectional=False, embedding_dim=8, **TINY),
            strings, [["V" if c in "aeiou" else "C" for c in s] for s in strings]), strings),
        "classifier-gru-bi-last": (quiet_fit(SequenceClassifier(
            "gru", pooling="last", num_layers=2, **TINY), X_num, y_cls), X_num),
        "regressor-lstm-uni-mean": (quiet_fit(SequenceRegressor(
            bidirectional=False, **TINY), X_num, y_reg), X_num),
        "lm-lstm-2layers": (quiet_fit(LanguageModel(embedding_dim=8, **TINY), text), text + [""]),
        # The peephole LSTM has no fused torch layer: its own loop must export too.
        "tagger-peephole-bi": (quiet_fit(SequenceTagger(
            "peephole", embedding_dim=8, **TINY), X_words, y_words), X_words),
        # Chain decoding (a CRF; a tag scheme without one): Viterbi outside the graph.
        "tagger-crf-bi-chars": (quiet_fit(SequenceTagger(
            embedding_dim=8, char_embedding_dim=4, char_filters=4, crf=True, **TINY),
            X_words, _entity_tags(y_words)), X_words),
        "tagger-scheme-gru-uni": (quiet_fit(SequenceTagger(
            "gru", bidirectional=False, embedding_dim=8, **TINY), X_words,
            _entity_tags(y_words)), X_words),
        "classifier-peephole-bi-2layers": (quiet_fit(SequenceClassifier(
            "peephole", num_layers=2, **TINY), X_num, y_cls), X_num),
        "lm-peephole-2layers": (quiet_fit(LanguageModel("peephole", embedding_dim=8, **TINY),
                                          text), text + [""]),
    }


CASES = ["tagger-lstm-bi-chars", "tagger-gru-uni-str", "classifier-gru-bi-last",
         "regressor-lstm-uni-mean", "lm-lstm-2layers", "tagger-peephole-bi",
         "classifier-peephole-bi-2layers", "lm-peephole-2layers", "tagger-crf-bi-chars",
         "tagger-scheme-gru-uni"]


def _entity_tags(tags):
    """POS tags made IOB2 entity tags (NOUN runs are entities): a tag scheme to decode with."""
    out = []
    for seq in tags:
        row, prev = [], None
        for t in seq:
            row.append("O" if t != "NOUN" else ("I-N" if prev == "NOUN" else "B-N"))
            prev = t
        out.append(row)
    return out
#: Batches of several sizes and lengths: one 1-step sequence (N = L = 1), a
#: few, and all of them in an order unlike the estimator's length buckets.
SLICES = [slice(-1, None), slice(3, 7), slice(None, None, -1)]


def _check_outputs(est, X, out, lengths):
    """Assert that exported outputs ``out`` for X equal the estimator's own results."""
    tol = dict(rtol=1e-5, atol=1e-6)
    if isinstance(out, (tuple, list)) and len(out) == 1:
        out = out[0]
    if isinstance(out, (tuple, list)):
        # A chain tagger: scores and transition scores; Viterbi gives predict's labels.
        scores, transitions, start, end = (np.asarray(o) for o in out)
        assert est.tag_scheme_ is not None
        ids = viterbi_numpy(scores, lengths, transitions, start, end)
        for got, want in zip(ids, est.predict(X)):
            np.testing.assert_array_equal(est.classes_[got], want)
        steps = np.arange(scores.shape[1])
        assert np.all(scores[steps >= lengths[:, None]] == 0)
        return
    if isinstance(est, LanguageModel):
        # Step t: the next-token distribution after the first t tokens.
        banned = [est.vocabulary_.pad_id, est.vocabulary_.bos_id]
        for i, seq in enumerate(X):
            prefixes = [seq[:t] for t in range(len(seq) + 1)]
            np.testing.assert_allclose(np.exp(out[i, : lengths[i]]), est.predict_proba(prefixes),
                                       **tol)
            assert np.all(out[i, : lengths[i], banned] == -np.inf)
    elif isinstance(est, SequenceTagger):
        for i, proba in enumerate(est.predict_proba(X)):
            np.testing.assert_allclose(out[i, : lengths[i]], proba, **tol)
    elif isinstance(est, SequenceClassifier):
        np.testing.assert_allclose(out, est.predict_proba(X), **tol)
    else:
        np.testing.assert_allclose(out, est.predict(X), **tol)
    if out.ndim == 3:
        steps = np.arange(out.shape[1])
        assert np.all(out[steps >= lengths[:, None]] == 0)


@pytest.mark.parametrize("case", CASES)
def test_torchscript_matches_estimator(cases, case, tmp_path):
    """A saved and reloaded TorchScript export reproduces the estimator on ragged batches."""
    est, X = cases[case]
    est.to_torchscript(tmp_path / "model.pt")
    module = torch.jit.load(tmp_path / "model.pt")
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        with torch.no_grad():
            out = _numpy(module(*map(torch.from_numpy, arrays.values())))
        _check_outputs(est, X[part], out, arrays["lengths"])


def _numpy(out):
    if isinstance(out, (tuple, list)):
        return tuple(o.detach().numpy() for o in out)
    return out.detach().numpy()


#: ONNX cases of the default run. Each ONNX export takes seconds, so the default run
#: exports the richest tagger (bidirectional LSTM with a character CNN) and the language
#: model (two layers, log-probabilities per step); the other cases are ``slow``.
ONNX_DEFAULT_CASES = {"tagger-lstm-bi-chars", "lm-lstm-2layers", "tagger-peephole-bi",
                      "lm-peephole-2layers", "tagger-crf-bi-chars"}


@pytest.mark.parametrize("case", [
    c if c in ONNX_DEFAULT_CASES else pytest.param(c, marks=pytest.mark.slow) for c in CASES
])
def test_onnx_matches_estimator(cases, case, tmp_path):
    """An ONNX export run by ONNX Runtime reproduces the estimator on ragged batches."""
    ort = pytest.importorskip("onnxruntime")
    est, X = cases[case]
    path = est.to_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == list(est.export_inputs(X[:1]))
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        out = session.run(None, arrays)
        _check_outputs(est, X[part], out, arrays["lengths"])


@pytest.mark.parametrize("case", ["tagger-lstm-bi-chars", "lm-peephole-2layers",
                                  "tagger-crf-bi-chars"])
def test_exported_program_matches_estimator(cases, case):
    """``to_exported_program`` keeps batch and time dynamic and reproduces the estimator."""
    est, X = cases[case]
    program = to_exported_program(est)
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        out = _numpy(program.module()(*map(torch.from_numpy, arrays.values())))
        _check_outputs(est, X[part], out, arrays["lengths"])


def test_language_model_log_likelihood_from_export(cases):
    """Summing the exported log-probabilities of the true next tokens gives ``score``."""
    est, X = cases["lm-lstm-2layers"]
    X = X[:5]
    module = est.to_torchscript()
    arrays = est.export_inputs(X)
    with torch.no_grad():
        logp = module(*map(torch.from_numpy, arrays.values())).numpy()  # (N, L, V)
    v = est.vocabulary_
    targets = [np.append(v.encode(s), v.eos_id) for s in X]
    total = sum(logp[i, np.arange(len(t)), t].sum() for i, t in enumerate(targets))
    count = sum(len(t) for t in targets)
    np.testing.assert_allclose(total / count, est.score(X), rtol=1e-5)


def test_regressor_export_keeps_target_shape():
    """A regressor fitted on 2-D y exports (N, n_outputs) predictions in the target units."""
    X = _series(12, 1)
    y = np.stack([[x[:, 0].mean() * 100, -3.0 + x[:, 1].max()] for x in X])
    est = quiet_fit(SequenceRegressor(pooling="max", **TINY), X, y)
    arrays = est.export_inputs(X)
    with torch.no_grad():
        out = est.to_torchscript()(*map(torch.from_numpy, arrays.values())).numpy()
    assert out.shape == (12, 2)
    np.testing.assert_allclose(out, est.predict(X), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def plain_rnn(toy_factory):
    """A tagger with cell='rnn' (a plain RNN) and the X to export it with."""
    X, y = toy_factory(n=20, seed=2)
    est = quiet_fit(SequenceTagger("rnn", embedding_dim=8, char_embedding_dim=None, **TINY), X, y)
    return est, X


def test_plain_rnn_exports_with_dynamic_axes(plain_rnn):
    """cell='rnn' (a plain RNN, exported as a while loop) exports exactly too."""
    est, X = plain_rnn
    program = to_exported_program(est)
    module = est.to_torchscript()
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        tensors = list(map(torch.from_numpy, arrays.values()))
        with torch.no_grad():
            _check_outputs(est, X[part], module(*tensors).numpy(), arrays["lengths"])
            _check_outputs(est, X[part], program.module()(*tensors).numpy(), arrays["lengths"])


def test_plain_rnn_onnx_matches_estimator(plain_rnn, tmp_path):
    """cell='rnn' exported to ONNX (its RNN stood in for by a GRU) reproduces the estimator."""
    ort = pytest.importorskip("onnxruntime")
    est, X = plain_rnn
    session = ort.InferenceSession(str(est.to_onnx(tmp_path / "rnn.onnx")))
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        _check_outputs(est, X[part], session.run(None, arrays)[0], arrays["lengths"])


def test_export_leaves_estimator_untouched(cases):
    """Exporting changes neither the estimator's network (weights, mode) nor torch's global seed."""
    est, X = cases["classifier-gru-bi-last"]
    before = weights(est)
    proba = est.predict_proba(X)
    rng_state = torch.get_rng_state()
    est.module_.train()
    try:
        est.to_torchscript()
        assert est.module_.training
    finally:
        est.module_.eval()
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert same_weights(weights(est), before)
    assert all(p.requires_grad for p in est.module_.parameters())
    np.testing.assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("method", ["to_torchscript", "to_onnx", "export_inputs"])
def test_unfitted_estimator_raises(method, tmp_path):
    """Exporting an unfitted estimator raises NotFittedError."""
    args = {"to_torchscript": (), "to_onnx": (tmp_path / "m.onnx",), "export_inputs": ([["a"]],)}
    with pytest.raises(NotFittedError):
        getattr(SequenceTagger(), method)(*args[method])


@pytest.mark.parametrize("missing", ["onnx", "onnxscript"])
def test_to_onnx_without_extra_names_it(cases, missing, monkeypatch, tmp_path):
    """Without onnx or onnxscript, to_onnx raises an ImportError naming it and the extra."""
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    est, _ = cases["regressor-lstm-uni-mean"]
    # Blocking onnx breaks importing onnxscript too: the message may name both.
    with pytest.raises(ImportError, match=rf"(?s)\b{missing}\b.*\bexport\b"):
        est.to_onnx(tmp_path / "m.onnx")


def test_export_inputs_layout(cases):
    """export_inputs pads right, gives int64 lengths and cuts long words to 12 + 8 characters."""
    est, X = cases["tagger-lstm-bi-chars"]
    arrays = est.export_inputs([["dog"], ["the", "Supercalifragilisticexpialidocious"]])
    assert list(arrays) == ["inputs", "lengths", "chars"]
    assert arrays["lengths"].tolist() == [1, 2] and arrays["lengths"].dtype == np.int64
    assert arrays["inputs"].shape == (2, 2) and arrays["inputs"][0, 1] == 0
    assert arrays["chars"].shape == (2, 2, 20)
    word = "Supercalifragilisticexpialidocious"
    expected = est.char_vocabulary_.encode(word[:12] + word[-8:])
    np.testing.assert_array_equal(arrays["chars"][1, 1], expected)
    assert arrays["chars"][0, 1].tolist() == [0] * 20  # a padded step


def test_rnn_as_gru_computes_the_same_steps():
    """The GRU standing in for a plain tanh RNN gives the same outputs and final state."""
    from skrnn.cells import rnn_as_gru as _rnn_as_gru

    gen = torch.Generator().manual_seed(0)
    rnn = torch.nn.RNN(3, 5, num_layers=2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for param in rnn.parameters():
            param.copy_(torch.randn(param.shape, generator=gen))  # large weights: saturation
    x = torch.randn(4, 7, 3, generator=gen) * 3
    with torch.no_grad():
        expected, h_expected = rnn(x)
        got, h_got = _rnn_as_gru(rnn)(x)
    # Equal up to float rounding (the GRU adds the same terms in another order).
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_got, h_expected, rtol=1e-5, atol=1e-5)
