"""Tests for the gradient diagnostics in the training history (skrnn.training, ``history_``)."""

import math

import pytest
import torch
from _helpers import quiet_fit, toy_tagging_data

import skrnn
import skrnn.training
from skrnn import SequenceClassifier, SequenceTagger
from skrnn.training import GRADIENT_KEYS, train

# clip_value=None: the estimators clip by value (5.0) by default.
TINY = dict(hidden_size=8, embedding_dim=8, char_embedding_dim=None, max_epochs=2,
            clip_value=None, random_state=0, device="cpu")


def _toy_classification(n=40):
    """Sentences of the toy tagging data, labelled by whether they mention a cat."""
    X, _ = toy_tagging_data(n=n)
    return X, ["cat" if "cat" in words else "other" for words in X]


def _fit(name, **params):
    params = {**TINY, **params}
    if name == "tagger":
        X, y = toy_tagging_data(n=40)
        return quiet_fit(SequenceTagger(**params), X, y)
    X, y = _toy_classification()
    return quiet_fit(SequenceClassifier(**params), X, y)


@pytest.fixture(scope="module", params=["tagger", "classifier"])
def fitted(request):
    """A tiny fitted tagger or classifier without clipping; tests must not modify it."""
    return _fit(request.param)


def test_every_epoch_has_the_gradient_keys(fitted):
    """Every epoch record of history_ holds the three gradient diagnostics as floats."""
    assert len(fitted.history_) == 2
    for record in fitted.history_:
        assert all(type(record[key]) is float for key in GRADIENT_KEYS), record


def test_max_norm_at_least_mean_and_positive(fitted):
    """The largest step norm is at least the mean, and a learning model has non-zero gradients."""
    for record in fitted.history_:
        assert record["grad_norm_max"] >= record["grad_norm_mean"] > 0


def test_no_clipping_means_clipped_fraction_zero(fitted):
    """Without clip_value and clip_norm no step counts as clipped."""
    assert fitted.clip_value is None and fitted.clip_norm is None
    assert [r["clipped_fraction"] for r in fitted.history_] == [0.0, 0.0]


@pytest.mark.parametrize("name", ["tagger", "classifier"])
@pytest.mark.parametrize(("param", "threshold", "expected"), [
    ("clip_norm", 1e-3, 1.0),
    ("clip_norm", 1e6, 0.0),
    ("clip_value", 1e-6, 1.0),
    ("clip_value", 1e6, 0.0),
])
def test_clipped_fraction_follows_the_threshold(name, param, threshold, expected):
    """A threshold far below every gradient clips every step; one far above clips none."""
    est = _fit(name, **{param: threshold})
    assert [r["clipped_fraction"] for r in est.history_] == [expected, expected]


def test_norms_are_taken_before_clipping():
    """Clipping changes the update, not the recorded norm: step 1's norm is the same."""
    first = [_fit("classifier", max_epochs=1, batch_size=1000, **clip).history_[0]
             for clip in ({}, {"clip_norm": 1e-3}, {"clip_value": 1e-6})]
    assert [r["clipped_fraction"] for r in first] == [0.0, 1.0, 1.0]
    for clipped in first[1:]:
        assert clipped["grad_norm_mean"] == pytest.approx(first[0]["grad_norm_mean"], rel=1e-6)


class _TwoParams(torch.nn.Module):
    """``w`` takes part in the loss; ``unused`` never gets a gradient (grad None)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
        self.b = torch.nn.Parameter(torch.tensor(0.25))
        self.unused = torch.nn.Parameter(torch.ones(4))


def _loss(module, batch):
    # d/dw = 2 * scale * w, d/db = scale: the gradient norm is known in closed form.
    scale = 1.0 if batch is None else batch
    return scale * ((module.w ** 2).sum() + module.b), 1


def _hand_norm(module, scale=1.0):
    grads = [2 * scale * module.w.detach(), scale * torch.ones(())]
    return math.sqrt(sum(float((g ** 2).sum()) for g in grads))


def _train(module, batches, **kwargs):
    opt = torch.optim.SGD(module.parameters(), lr=kwargs.pop("lr", 0.0))
    return train(module, opt, lambda epoch: list(batches), _loss, max_epochs=1,
                 check_convergence=False, **kwargs)


@pytest.mark.parametrize("fallback", [False, True])
def test_norm_equals_hand_computed_global_norm(fallback, monkeypatch):
    """One step: the recorded norm is the L2 norm of all gradients as one vector.

    ``fallback``: computed without ``torch.nn.utils.get_total_norm`` (torch < 2.6).
    """
    if fallback:
        monkeypatch.setattr(skrnn.training, "_get_total_norm", None)
    m = _TwoParams()
    expected = _hand_norm(m)
    record = _train(m, [None]).history[0]
    assert m.unused.grad is None
    assert record["grad_norm_mean"] == pytest.approx(expected, rel=1e-6)
    assert record["grad_norm_max"] == pytest.approx(expected, rel=1e-6)
    assert record["clipped_fraction"] == 0.0


def test_mean_and_max_over_steps():
    """Steps with gradients scaled 1 and 3 (lr 0, fixed weights): mean 2x, max 3x the unit norm."""
    m = _TwoParams()
    unit = _hand_norm(m)
    record = _train(m, [1.0, 3.0]).history[0]
    assert record["grad_norm_mean"] == pytest.approx(2 * unit, rel=1e-6)
    assert record["grad_norm_max"] == pytest.approx(3 * unit, rel=1e-6)


# With w = [1, -2, 0.5], b = 0.25 the step with gradients x1 has the norm sqrt(22) ~ 4.69 and
# max |g| = 4; the step with gradients x3 has 14.07 and 12.
@pytest.mark.parametrize(("clip", "expected"), [
    ({"clip_norm": 8.0}, 0.5),
    ({"clip_norm": 1.0}, 1.0),
    ({"clip_value": 5.0}, 0.5),
    ({"clip_value": 3.0}, 1.0),
    ({"clip_value": 5.0, "clip_norm": 1e3}, 0.5),   # by value only
    ({"clip_value": 50.0, "clip_norm": 8.0}, 0.5),  # by norm only
    ({"clip_value": 3.0, "clip_norm": 1e3}, 1.0),
    ({"clip_value": 50.0, "clip_norm": 1e3}, 0.0),
])
@pytest.mark.parametrize("fallback", [False, True])
def test_clipped_fraction_counts_the_steps_clipping_changed(clip, expected, fallback,
                                                            monkeypatch):
    """Of two steps (gradients x1 and x3) the fraction that crossed either threshold."""
    if fallback:
        monkeypatch.setattr(skrnn.training, "_get_total_norm", None)
    m = _TwoParams()
    unit = _hand_norm(m)
    record = _train(m, [1.0, 3.0], **clip).history[0]
    assert record["clipped_fraction"] == expected
    assert record["grad_norm_max"] == pytest.approx(3 * unit, rel=1e-6)  # before clipping


class _Sqrt(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))


def _sqrt_loss(module, batch):
    # Finite loss (0) with an infinite gradient at w = 0.
    return torch.sqrt(module.w).sum(), 1


@pytest.mark.parametrize("clip", [{}, {"clip_norm": 1.0}])
def test_infinite_gradient_is_recorded_in_the_diverged_epoch(clip):
    """An infinite gradient does not crash; the diverged epoch records its norm as inf."""
    m = _Sqrt()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    result = train(m, opt, lambda epoch: [None], _sqrt_loss, max_epochs=3, **clip)
    assert result.status == "diverged" and len(result.history) == 1
    record = result.history[0]
    assert record["diverged"] is True
    assert record["grad_norm_max"] == math.inf and record["grad_norm_mean"] == math.inf
    assert record["clipped_fraction"] == (1.0 if clip else 0.0)
    assert torch.equal(m.w.detach(), torch.zeros(2))  # the weights before the epoch


def test_infinite_gradient_clipped_by_value_is_recorded_in_a_finished_epoch():
    """clip_value turns an infinite gradient into a finite step: the epoch finishes with inf."""
    m = _Sqrt()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    result = train(m, opt, lambda epoch: [None], _sqrt_loss, max_epochs=3, clip_value=1.0)
    first = result.history[0]
    assert "diverged" not in first
    assert first["grad_norm_max"] == math.inf and first["clipped_fraction"] == 1.0
    # The clipped step moved w to -0.1, where sqrt is NaN: epoch 2 diverges on its loss.
    assert result.status == "diverged" and result.history[1]["diverged"] is True


def test_diverged_epoch_keeps_the_steps_before_the_nan_loss():
    """A NaN loss in the second batch: the record holds the first step's norm."""
    m = _TwoParams()
    unit = _hand_norm(m)
    result = _train(m, [1.0, math.nan])
    record = result.history[-1]
    assert result.status == "diverged" and record["diverged"] is True
    assert record["grad_norm_mean"] == pytest.approx(unit, rel=1e-6)
    assert record["clipped_fraction"] == 0.0


def test_nan_loss_in_the_first_batch_records_no_norms():
    """No optimiser step was taken: the diverged record has no gradient keys (none seen)."""
    record = _train(_TwoParams(), [math.nan]).history[-1]
    assert record["diverged"] is True
    assert not set(GRADIENT_KEYS) & set(record)


def test_verbose_table_shows_the_mean_norm(capsys):
    """verbose=1 adds a grad_norm column holding the epoch's mean norm."""
    m = _TwoParams()
    expected = _hand_norm(m)
    _train(m, [None], verbose=1)
    header, _, row = capsys.readouterr().out.strip().splitlines()
    column = header.split().index("grad_norm")
    assert float(row.split()[column]) == pytest.approx(expected, abs=1e-4)


def test_history_with_infinite_norms_saves_and_loads(tmp_path):
    """A history_ holding an inf norm (an exploding epoch) survives save and load as it was."""
    est = _fit("tagger", max_epochs=1)
    est.history_ = [{**est.history_[0], "grad_norm_max": math.inf}]
    loaded = skrnn.load(est.save(tmp_path / "tagger.skrnn"))
    assert loaded.history_[0]["grad_norm_max"] == math.inf
    assert loaded.history_[0].keys() == est.history_[0].keys()
