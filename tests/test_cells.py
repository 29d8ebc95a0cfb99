"""Tests for skrnn.cells: the cell table, the peephole LSTM, and every cell in every estimator."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, same_weights, weights
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

import skrnn
from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn.cells import CELLS, PeepholeLSTM, _PeepholeFunction, cell_of


def reference_peephole(layer, x, hx=None):
    """Gers & Schmidhuber's peephole LSTM written out step by step, from the equations.

    i = s(W_i x + U_i h + b_i + p_i * c), f = s(W_f x + U_f h + b_f + p_f * c),
    c' = f c + i tanh(W_g x + U_g h + b_g), o = s(W_o x + U_o h + b_o + p_o * c'),
    h' = o tanh(c').
    """
    n, steps, _ = x.shape
    hidden = layer.hidden_size
    inputs, h_n, c_n = x, [], []
    for k in range(layer.num_layers):
        zeros = torch.zeros(n, hidden, dtype=x.dtype)
        h = zeros if hx is None else hx[0][k]
        c = zeros if hx is None else hx[1][k]
        w_ih, w_hh = getattr(layer, f"weight_ih_l{k}"), getattr(layer, f"weight_hh_l{k}")
        b = getattr(layer, f"bias_ih_l{k}") + getattr(layer, f"bias_hh_l{k}")
        p_i, p_f, p_o = getattr(layer, f"weight_peephole_l{k}").view(3, hidden)
        outs = []
        for t in range(steps):
            z_i, z_f, z_g, z_o = (inputs[:, t] @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=1)
            i = torch.sigmoid(z_i + p_i * c)
            f = torch.sigmoid(z_f + p_f * c)
            c = f * c + i * torch.tanh(z_g)
            o = torch.sigmoid(z_o + p_o * c)
            h = o * torch.tanh(c)
            outs.append(h)
        inputs = torch.stack(outs, dim=1)
        h_n.append(h)
        c_n.append(c)
    return inputs, (torch.stack(h_n), torch.stack(c_n))


def _loss(out, h_n, c_n, seed=0):
    """A loss that reads every output, h_n and c_n with distinct weights."""
    g = torch.Generator().manual_seed(seed)
    return ((out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
            + (h_n * torch.randn(h_n.shape, generator=g, dtype=out.dtype)).sum()
            + (c_n * torch.randn(c_n.shape, generator=g, dtype=out.dtype)).sum())


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("with_state", [False, True])
def test_peephole_equals_the_reference_equations(num_layers, with_state):
    """Outputs, final states and every gradient equal the step-by-step reference."""
    torch.manual_seed(0)
    layer = PeepholeLSTM(4, 6, num_layers).double()
    x = torch.randn(3, 7, 4, dtype=torch.double, requires_grad=True)
    hx = None
    if with_state:
        hx = tuple(torch.randn(num_layers, 3, 6, dtype=torch.double) for _ in range(2))
    out, (h_n, c_n) = layer(x, hx)
    ref, (h_ref, c_ref) = reference_peephole(layer, x, hx)
    for got, want in ((out, ref), (h_n, h_ref), (c_n, c_ref)):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    params = [x, *layer.parameters()]
    grads = torch.autograd.grad(_loss(out, h_n, c_n), params)
    grads_ref = torch.autograd.grad(_loss(ref, h_ref, c_ref), params)
    for got, want in zip(grads, grads_ref):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


def test_peephole_backward_passes_gradcheck():
    """The hand-written backward agrees with finite differences, for every input."""
    torch.manual_seed(0)
    steps, n, hidden = 5, 3, 4
    args = (torch.randn(steps, n, 4 * hidden), torch.randn(n, hidden), torch.randn(n, hidden),
            torch.randn(4 * hidden, hidden), torch.randn(3 * hidden))
    args = tuple(a.double().requires_grad_() for a in args)
    assert torch.autograd.gradcheck(_PeepholeFunction.apply, args)


def test_zero_peepholes_equal_an_lstm_with_the_same_weights():
    """With its peephole weights at 0 the layer is nn.LSTM: outputs, states and gradients."""
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 7, 2, batch_first=True)
    peephole = PeepholeLSTM(5, 7, 2)
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            getattr(peephole, name).copy_(param)
        for k in range(2):
            getattr(peephole, f"weight_peephole_l{k}").zero_()
    x = torch.randn(4, 9, 5)
    out, (h, c) = lstm(x)
    out_p, (h_p, c_p) = peephole(x)
    for got, want in ((out_p, out), (h_p, h), (c_p, c)):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    grads = torch.autograd.grad(_loss(out, h, c), list(lstm.parameters()))
    grads_p = torch.autograd.grad(_loss(out_p, h_p, c_p),
                                  [getattr(peephole, n) for n, _ in lstm.named_parameters()])
    for got, want in zip(grads_p, grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_peephole_weights_matter():
    """Non-zero peepholes change the outputs (the zero test above is not vacuous)."""
    torch.manual_seed(0)
    peephole = PeepholeLSTM(3, 4)
    x = torch.randn(2, 6, 3)
    before = peephole(x)[0]
    with torch.no_grad():
        peephole.weight_peephole_l0.add_(1.0)
    assert not torch.allclose(peephole(x)[0], before, atol=1e-3)


def test_peephole_inference_path_equals_training_path():
    """Without gradients the layer skips saving for backward; the numbers are the same."""
    torch.manual_seed(0)
    layer = PeepholeLSTM(3, 5, 2)
    x = torch.randn(2, 8, 3)
    with torch.no_grad():
        fast = layer(x)[0]
    torch.testing.assert_close(layer(x)[0].detach(), fast, rtol=0, atol=0)


def test_peephole_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    layer = PeepholeLSTM(3, 5, 2, dropout=0.5)
    x = torch.randn(2, 8, 3)
    assert not torch.equal(layer.train()(x)[0], layer.train()(x)[0])
    assert torch.equal(layer.eval()(x)[0], layer.eval()(x)[0])


@pytest.mark.parametrize("name", sorted(CELLS))
def test_state_split_and_join_are_inverse(name):
    cell = CELLS[name]
    layer = cell.layer(3, 4, 2, batch_first=True)
    _, h_n = layer(torch.randn(5, 6, 3))
    states = cell.split(h_n)
    assert len(states) == 2 and all(len(s) == cell.n_states for s in states)
    joined = cell.join(states)
    for a, b in zip(joined if cell.n_states > 1 else (joined,),
                    h_n if cell.n_states > 1 else (h_n,)):
        assert torch.equal(a, b)
    assert cell_of(layer) is cell
    assert all(z.shape == (5, 4) and not z.any() for z in cell.zeros(5, 4))


def test_cell_of_refuses_an_unknown_layer():
    with pytest.raises(TypeError, match="not a layer of the cell table"):
        cell_of(nn.Linear(2, 2))


# --- every cell, every estimator ---------------------------------------------------------

TINY = dict(hidden_size=8, max_epochs=2, random_state=0, device="cpu")


def test_parameter_check_names_every_cell_of_the_table(toy_data):
    X, y = toy_data
    with pytest.raises(InvalidParameterError) as info:
        SequenceTagger(cell="transformer").fit(X, y)
    assert all(repr(name) in str(info.value) for name in CELLS)


@pytest.mark.parametrize("cls", [SequenceTagger, SequenceClassifier, SequenceRegressor,
                                 LanguageModel])
def test_docstrings_point_to_the_cell_table_instead_of_listing_cells(cls):
    doc = cls.__doc__
    section = doc[doc.index("    cell :"):]
    section = section[: section.index("\n    hidden_size")]
    assert "skrnn.cells.CELLS" in section and '"peephole"' not in section


def test_peephole_tagger_deep_bidirectional_learns_and_round_trips(toy_data, tmp_path):
    """A deep bidirectional peephole tagger with dropout learns, saves, loads and pickles."""
    X, y = toy_data
    est = quiet_fit(SequenceTagger("peephole", num_layers=2, dropout=0.2, hidden_size=16,
                                   max_epochs=15, random_state=0, device="cpu"), X, y)
    assert est.score(X, y) > 0.9
    assert any(k.endswith("weight_peephole_l0") for k in weights(est))
    est.save(tmp_path / "m.skrnn")
    loaded = skrnn.load(tmp_path / "m.skrnn")
    assert same_weights(weights(loaded), weights(est))
    for a, b in zip(loaded.predict_proba(X), est.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    unpickled = pickle.loads(pickle.dumps(est))
    assert same_weights(weights(unpickled), weights(est))


def test_peephole_is_exact_on_padded_batches(toy_data):
    """A sentence gets the same probabilities alone and batched with longer ones."""
    X, y = toy_data
    est = quiet_fit(SequenceTagger("peephole", **TINY), X, y)
    together = est.predict_proba(X)
    for i in (0, 5, len(X) - 1):
        np.testing.assert_allclose(est.predict_proba([X[i]])[0], together[i], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("cls", [SequenceClassifier, SequenceRegressor])
def test_peephole_many_to_one(cls):
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(3, 9), 2).astype(np.float32) for _ in range(30)]
    y = (np.array([x[:, 0].sum() > 0 for x in X]) if cls is SequenceClassifier
         else np.array([x[:, 0].sum() for x in X]))
    est = quiet_fit(cls(cell="peephole", **TINY), X, y)
    assert est.module_.encoder.stack.forward_layers[0].__class__ is PeepholeLSTM
    assert len(est.predict(X)) == 30


def test_peephole_language_model_samples_as_its_forward_pass_says():
    """Sampling runs the peephole's single-step equations; a prefix is read by the fused
    pass and continued by the stepper: greedy sampling follows the model's argmax."""
    text = ["abcabcabc", "bcabca", "cabcab"] * 5
    lm = quiet_fit(LanguageModel("peephole", num_layers=2, embedding_dim=8, hidden_size=16,
                                 max_epochs=30, learning_rate=2e-2, random_state=0,
                                 device="cpu"), text)
    drawn = lm.sample(3, prefix="ab", max_length=6, temperature=1e-6, random_state=0)
    for s in drawn:
        assert s.startswith("ab")
        # Greedy: each next character is the most probable one under predict_proba.
        for t in range(2, len(s)):
            proba = lm.predict_proba([s[:t]])[0]
            assert lm.vocabulary_.itos[int(np.argmax(proba))] == s[t]


def test_grid_search_over_lstm_and_peephole(toy_data):
    X, y = toy_data
    search = GridSearchCV(SequenceTagger(**TINY), {"cell": ["lstm", "peephole"]}, cv=2)
    quiet_fit(search, X, y)
    assert search.best_params_["cell"] in {"lstm", "peephole"}
    assert clone(search.best_estimator_).get_params()["cell"] == search.best_params_["cell"]
    assert len(search.cv_results_["mean_test_score"]) == 2
