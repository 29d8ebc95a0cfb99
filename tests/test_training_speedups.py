"""The training loop's speed-ups change no result: inf-norm, sparse embedding gradients,
malloc tuning; and the opt-in ``precision="bfloat16"``."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import skrnn
from skrnn import _torch
from skrnn import training as T
from skrnn.datasets import load_brown_pos


def test_max_abs_is_the_inf_norm():
    """_max_abs gives vector_norm(inf) of all gradients, nan included, 0 for none."""
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(50, 7, generator=gen) * 3, torch.randn(5, generator=gen), torch.zeros(0)]
    expected = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]), math.inf)
    assert T._max_abs(grads).item() == expected.item()
    grads[1][2] = float("nan")
    assert math.isnan(T._max_abs(grads).item())
    assert T._max_abs([]).item() == 0.0


@pytest.mark.parametrize("clip_value, clip_norm", [(0.05, None), (None, 0.3), (0.05, 0.1),
                                                   (None, None)])
def test_clipping_sparse_values_equals_clipping_dense(clip_value, clip_norm):
    """Norm, clipped flag and clipped gradient of coalesced sparse values equal the dense ones."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 40, (6, 9), generator=gen)
    out = torch.randn(6, 9, 4, generator=gen)
    dense, sparse = (torch.nn.Embedding(40, 4, padding_idx=0, sparse=s) for s in (False, True))
    sparse.load_state_dict(dense.state_dict())
    other = [torch.nn.Parameter(torch.randn(3, generator=gen)) for _ in range(2)]
    results = []
    for emb in (dense, sparse):
        params = [emb.weight, *other]
        for p in params:
            p.grad = None
        ((emb(ids) * out).sum() + sum((p * 0.2).sum() for p in other)).backward()
        grads, found = T._gradients(params)
        norm, clipped = T._clip(params, grads, clip_value, clip_norm)
        for p in found:
            p.grad = p.grad.to_dense()
        assert (emb is sparse) == (found == [emb.weight])
        results.append((norm.item(), bool(clipped), [p.grad.clone() for p in params]))
    (n0, c0, g0), (n1, c1, g1) = results
    assert n1 == pytest.approx(n0, rel=1e-6)
    assert c0 == c1
    for a, b in zip(g0, g1):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("clip_value, clip_norm", [(0.5, None), (3.0, None), (None, 2.0),
                                                   (None, 50.0), (0.5, 1.0), (5.0, 50.0)])
@pytest.mark.parametrize("special", [None, "nan", "inf", "at_bound"])
def test_cpu_clipping_equals_torch_clipping(clip_value, clip_norm, special):
    """The CPU shortcut gives exactly the norms, flags and gradients of torch's functions."""
    gen = torch.Generator().manual_seed(2)
    params = [torch.nn.Parameter(torch.zeros(s)) for s in [(20, 6), (6,), (3, 3)]]
    grads = [torch.randn(p.shape, generator=gen) * 0.3 for p in params]
    grads[2][0, 0] = 2.0
    if special == "nan":
        grads[1][0] = float("nan")
    elif special == "inf":
        grads[0][1, 1] = float("inf")
    elif special == "at_bound" and clip_value is not None:
        grads[1].zero_()
        grads[1][0] = clip_value  # its norm equals clip_value
    outs = []
    for fn in (T._clip_on_cpu, T._clip_with_torch):
        for p, g in zip(params, grads):
            p.grad = g.clone()
        got = [p.grad for p in params]
        args = (got, clip_value, clip_norm) if fn is T._clip_on_cpu else (
            params, got, clip_value, clip_norm)
        norm, clipped = fn(*args)
        outs.append((norm, clipped, [p.grad.clone() for p in params]))
    (n0, c0, g0), (n1, c1, g1) = outs
    torch.testing.assert_close(n0, n1, rtol=0, atol=0, equal_nan=True)
    assert bool(c0) == bool(c1)
    for a, b in zip(g0, g1):
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def test_sparse_embeddings_picks_large_trainable_word_tables():
    """Large nn.Embedding tables qualify; small, frozen or max_norm ones do not."""
    big = torch.nn.Embedding(T.SPARSE_MIN_ROWS, 3)
    small = torch.nn.Embedding(T.SPARSE_MIN_ROWS - 1, 3)
    frozen = torch.nn.Embedding(T.SPARSE_MIN_ROWS, 3).requires_grad_(False)
    bounded = torch.nn.Embedding(T.SPARSE_MIN_ROWS, 3, max_norm=1.0)
    module = torch.nn.ModuleList([big, small, frozen, bounded])
    assert T.sparse_embeddings(module) == [big]
    assert T.sparse_embeddings(module, min_rows=1) == [big, small]


@pytest.fixture(scope="module")
def brown():
    X, y = load_brown_pos("train")
    return X[:300], y[:300]


def _fit_tagger(data, monkeypatch, min_rows, **kw):
    monkeypatch.setattr(T, "SPARSE_MIN_ROWS", min_rows)
    est = skrnn.SequenceTagger(hidden_size=16, char_embedding_dim=None, max_epochs=2,
                               early_stopping=False, random_state=0, device="cpu", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*data)


@pytest.mark.parametrize("kw", [dict(clip_value=5.0), dict(clip_value=None, clip_norm=1.0),
                                dict(clip_value=0.01, clip_norm=0.5)])
def test_sparse_sgd_gives_the_dense_fit(brown, monkeypatch, kw):
    """Plain SGD with sparse embedding gradients and the row step equals the dense fit
    (float rounding): an absent row's dense gradient is zero, so it does not move either."""
    sparse, dense = (_fit_tagger(brown, monkeypatch, m, solver="sgd", learning_rate=0.5, **kw)
                     for m in (1, 10**9))
    assert sparse.module_.encoder.embedding.sparse is False  # switched back after training
    for a, b in zip(sparse.history_, dense.history_):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["grad_norm_mean"] == pytest.approx(b["grad_norm_mean"], rel=1e-5)
        assert a["clipped_fraction"] == b["clipped_fraction"]
    for key, value in dense.module_.state_dict().items():
        torch.testing.assert_close(sparse.module_.state_dict()[key], value, rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("kw", [dict(clip_value=5.0), dict(clip_value=None, clip_norm=1.0),
                                dict(clip_value=0.01, clip_norm=0.5, weight_decay=1e-3),
                                dict(solver="sgd", learning_rate=0.5, momentum=0.9)])
def test_sparse_gradients_give_the_dense_fit(brown, monkeypatch, kw):
    """Adam, and SGD with momentum, with sparse embedding gradients (made dense for the step)
    equal the dense fit (float rounding)."""
    sparse, dense = (_fit_tagger(brown, monkeypatch, m, **kw) for m in (1, 10**9))
    for a, b in zip(sparse.history_, dense.history_):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["clipped_fraction"] == b["clipped_fraction"]
    for key, value in dense.module_.state_dict().items():
        torch.testing.assert_close(sparse.module_.state_dict()[key], value, rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("solver, extra, rows_only", [
    ("sgd", {}, True), ("sgd", {"weight_decay": 1e-2}, False),
    ("sgd", {"momentum": 0.9}, False), ("adam", {}, False)])
def test_row_step_is_taken_only_where_it_is_the_dense_step(solver, extra, rows_only):
    """Plain SGD steps the gradient's rows alone (and leaves p.grad None); every other
    setting gets the dense gradient, from a table reused across steps; either way the
    weights equal the dense step's, absent rows included."""
    w0 = torch.randn(12, 3, generator=torch.Generator().manual_seed(2))
    ours, ref = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    wd = extra.pop("weight_decay", 0.0)
    opt = T.make_optimizer([ours], 0.05, wd, solver=solver, **extra)
    ref_opt = T.make_optimizer([ref], 0.05, wd, solver=solver, **extra)
    gen = torch.Generator().manual_seed(3)
    dense = T._DenseGradients()  # one table for the steps, as for an epoch
    for _ in range(4):
        g = torch.randn(12, 3, generator=gen)
        g[torch.randperm(12, generator=gen)[:5]] = 0  # rows absent from this batch
        ours.grad, ref.grad = g.to_sparse(sparse_dim=1).coalesce(), g.clone()
        T._sparse_step(opt, [ours], dense)
        assert (ours.grad is None) == rows_only
        if not rows_only:  # the reused table holds this batch's rows only
            assert torch.equal(ours.grad, g)
        opt.step()
        ref_opt.step()
        torch.testing.assert_close(ours.detach(), ref.detach(), rtol=1e-6, atol=1e-7)


def test_sparse_gradients_stop_at_the_first_non_finite_loss(monkeypatch):
    """Divergence with sparse gradients: the epoch ends at the bad batch, the steps before it
    are counted."""
    emb = torch.nn.Embedding(10, 2)
    module = torch.nn.ModuleDict({"emb": emb})
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    losses = iter([1.0, 1.0, float("inf"), 1.0])

    def loss_fn(m, batch):
        return m["emb"](torch.tensor([1, 2])).sum() * next(losses), 2

    result = T.train_epoch(module, opt, [None] * 4, loss_fn, sparse=[emb])
    assert not result.finite and math.isinf(result.loss)
    assert result.n_steps == 6
    assert emb.sparse is False


def test_malloc_tuning_can_be_switched_off(monkeypatch):
    """SKRNN_MALLOC_TUNING=0 switches the malloc tuning off; otherwise it runs, once."""
    monkeypatch.setenv("SKRNN_MALLOC_TUNING", "0")
    assert not _torch.malloc_tuning_enabled()
    monkeypatch.setenv("SKRNN_MALLOC_TUNING", "1")
    assert _torch.malloc_tuning_enabled()
    _torch.tune_malloc()
    _torch.tune_malloc()
    assert _torch._malloc_state["tuned"]
    torch.zeros(1 << 20).sum()
    _torch.release_memory()


def _toy_lm_fit(precision, cell="lstm"):
    X = ["the cat sat on the mat", "a dog ran far away", "hello world"] * 8
    est = skrnn.LanguageModel(cell=cell, hidden_size=16, embedding_dim=8, window_length=8,
                              max_epochs=3, random_state=0, device="cpu", precision=precision)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X), X


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_bfloat16_trains_float32_weights(cell):
    """precision="bfloat16" learns (finite, falling loss); weights and Adam's state stay float32."""
    est, X = _toy_lm_fit("bfloat16", cell)
    assert np.isfinite(est.loss_curve_).all() and est.loss_curve_[-1] < est.loss_curve_[0]
    assert all(p.dtype == torch.float32 for p in est.module_.parameters())
    state = est.optimizer_.state_dict()["state"]
    assert all(t.dtype == torch.float32 for s in state.values() for t in s.values()
               if torch.is_tensor(t))
    assert np.isfinite(est.score(X))


def test_bfloat16_changes_the_fit_and_float32_is_the_default():
    """The default is float32; bfloat16 gives close but different losses."""
    assert skrnn.LanguageModel().precision == "float32"
    a, _ = _toy_lm_fit("float32")
    b, _ = _toy_lm_fit("bfloat16")
    assert a.loss_curve_ != b.loss_curve_
    assert b.loss_curve_[-1] == pytest.approx(a.loss_curve_[-1], rel=0.05)


@pytest.mark.parametrize("make", [
    lambda: skrnn.SequenceTagger(hidden_size=8, max_epochs=1, crf=True, precision="bfloat16"),
    lambda: skrnn.SequenceClassifier(hidden_size=8, max_epochs=1, precision="bfloat16"),
    lambda: skrnn.Seq2Seq(hidden_size=8, max_epochs=1, precision="bfloat16"),
])
def test_bfloat16_fits_every_estimator(make):
    """Tagger (with a CRF), classifier and Seq2Seq train and predict under bfloat16."""
    X = ["the cat sat", "a dog ran far", "hello world", "we go"] * 6
    est = make().set_params(device="cpu", random_state=0)
    if isinstance(est, skrnn.SequenceTagger):
        y = [["L" if c.isalpha() else "S" for c in s] for s in X]
    elif isinstance(est, skrnn.Seq2Seq):
        y = [s[::-1] for s in X]
    else:
        y = [i % 2 for i in range(len(X))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert np.isfinite(est.loss_curve_).all()
    assert len(est.predict(X[:2])) == 2


def test_bfloat16_refuses_a_cell_without_a_torch_layer():
    """A cell with its own recurrence (peephole) is refused with what to do instead."""
    with pytest.raises(ValueError, match='needs a cell.*precision="float32"'):
        _toy_lm_fit("bfloat16", cell="peephole")


def test_precision_is_validated():
    with pytest.raises(InvalidParameterError, match="precision"):
        skrnn.SequenceRegressor(precision="float16").fit(
            [np.zeros((3, 2), dtype=np.float32)] * 4, [0.0, 1.0, 2.0, 3.0])
