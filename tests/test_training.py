"""Tests for skrnn.training: clipping, early stopping, statuses."""

import math

import pytest
import torch

from skrnn.training import make_optimizer, train, train_epoch


class _Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(3))


def _big_gradient_loss(module, batch):
    # d(loss)/dw = [100, -100, 0.5]
    return (module.w * torch.tensor([100.0, -100.0, 0.5])).sum(), 1


def test_clip_value_clips_each_element():
    """clip_value bounds every gradient element (SGD step = lr * clipped gradient)."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    train_epoch(m, opt, [None], _big_gradient_loss, clip_value=1.0)
    assert m.w.detach().tolist() == pytest.approx([-1.0, 1.0, -0.5])


def test_clip_norm_rescales_the_whole_gradient():
    """clip_norm rescales the gradient to the given total norm."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    train_epoch(m, opt, [None], _big_gradient_loss, clip_norm=2.0)
    assert torch.linalg.vector_norm(m.w.detach()).item() == pytest.approx(2.0, rel=1e-4)


def test_fused_adam_when_available():
    """The optimiser is Adam, fused where the build supports it."""
    opt = make_optimizer(_Scale().parameters(), 1e-3)
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["lr"] == 1e-3


def _quadratic_loss(module, batch):
    return ((module.w - 1.0) ** 2).sum(), 1


def test_early_stopping_restores_best_and_reports_converged():
    """Validation that peaks at epoch 2 stops after n_iter_no_change and restores epoch 2."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    scores = iter([0.5, 0.9, 0.8, 0.7, 0.6, 0.5])
    seen = {}

    def validate(module):
        score = next(scores)
        seen[score] = module.w.detach().clone()
        return 0.0, score

    result = train(m, opt, lambda epoch: [None], _quadratic_loss, max_epochs=6,
                   validate=validate, n_iter_no_change=2, verbose=0)
    assert result.status == "converged"
    assert result.best_epoch == 2 and result.best_score == 0.9
    assert len(result.history) == 4
    assert torch.equal(m.w.detach(), seen[0.9])


def test_max_epochs_status_when_still_improving():
    """A loss that keeps falling ends with status max_epochs."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    result = train(m, opt, lambda epoch: [None], _quadratic_loss, max_epochs=3)
    assert result.status == "max_epochs"
    losses = [h["train_loss"] for h in result.history]
    assert losses == sorted(losses, reverse=True)


def test_non_finite_loss_restores_last_good_weights():
    """A NaN loss in epoch 3 stops training with the weights of epoch 2."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    calls = {"n": 0}
    snapshots = []

    def loss_fn(module, batch):
        calls["n"] += 1
        loss, n = _quadratic_loss(module, batch)
        return (loss * math.nan if calls["n"] == 3 else loss), n

    def epoch_batches(epoch):
        snapshots.append(m.w.detach().clone())
        return [None]

    result = train(m, opt, epoch_batches, loss_fn, max_epochs=5)
    assert result.status == "diverged"
    assert torch.equal(m.w.detach(), snapshots[2])
    assert result.history[-1]["diverged"] is True


def test_partial_status_for_single_epochs():
    """Without convergence checks (partial_fit) the status is partial."""
    m = _Scale()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    result = train(m, opt, lambda epoch: [None], _quadratic_loss, max_epochs=1,
                   check_convergence=False, start_epoch=4)
    assert result.status == "partial" and result.history[0]["epoch"] == 5
