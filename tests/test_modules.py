"""Tests for skrnn.modules: exactness under padding, shapes, the cell table."""

import pytest
import torch

from skrnn.cells import CELLS as _CELLS
from skrnn.data import Batch
from skrnn.modules import Dropout, RecurrentEncoder, RecurrentStack, reversal_index, reverse_padded


def test_reverse_padded_is_an_involution_that_keeps_pads_last():
    """Reversal flips each sequence within its length and twice is the identity."""
    x = torch.arange(12.0).view(2, 6, 1)
    lengths = torch.tensor([6, 3])
    r = reverse_padded(x, lengths)
    assert r[0, :, 0].tolist() == [5, 4, 3, 2, 1, 0]
    assert r[1, :, 0].tolist() == [8, 7, 6, 9, 10, 11]
    assert torch.equal(reverse_padded(r, lengths), x)


def test_reverse_padded_equals_gather_along_time_and_its_gradient_is_the_reversal():
    """The row-selecting reversal gives gather's values; its backward (the same selection)
    passes gradcheck; a precomputed index gives the same result."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, 3, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([7, 1, 4, 7, 2])
    steps = torch.arange(7)
    idx = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    expected = x.gather(1, idx[:, :, None].expand_as(x))
    assert torch.equal(reverse_padded(x, lengths), expected)
    assert torch.equal(reverse_padded(x, lengths, reversal_index(lengths, 5, 7)), expected)
    assert torch.equal(reverse_padded(x[:, :, 0], lengths), expected[:, :, 0])  # (N, L)
    leaf = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: reverse_padded(t, lengths), (leaf,))
    assert torch.autograd.gradgradcheck(lambda t: reverse_padded(t, lengths), (leaf,))


def test_dropout_keeps_the_distribution_and_the_values_of_the_rand_mask():
    """Same values as ``x * (rand >= p) / (1 - p)`` from the same generator state; identity
    in eval mode; gradient is the mask."""
    drop = Dropout(0.3)
    x = torch.randn(4, 50, 8)
    torch.manual_seed(1)
    out = drop(x)
    torch.manual_seed(1)
    expected = x * (torch.rand_like(x) >= 0.3) * (1.0 / 0.7)
    assert torch.equal(out, expected)
    assert 0.6 < float((out != 0).float().mean()) < 0.8
    leaf = x.clone().requires_grad_()
    torch.manual_seed(1)
    drop(leaf).sum().backward()
    assert torch.equal(leaf.grad, (expected != 0) * (1.0 / 0.7))
    assert torch.equal(drop.eval()(x), x)


@pytest.mark.parametrize("cell", sorted(_CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padding_never_changes_real_outputs(cell, bidirectional, num_layers):
    """A sequence's outputs are the same alone or batched with longer ones."""
    torch.manual_seed(0)
    stack = RecurrentStack(cell, 3, 5, num_layers, bidirectional, dropout=0.3).eval()
    short = torch.randn(1, 4, 3)
    long = torch.randn(1, 9, 3)
    batch = torch.zeros(2, 9, 3)
    batch[0, :4] = short[0]
    batch[0, 4:] = 100.0  # garbage in the padding must not leak
    batch[1] = long[0]
    out_batch, _ = stack(batch, torch.tensor([4, 9]))
    out_alone, _ = stack(short, torch.tensor([4]))
    assert out_batch.shape == (2, 9, 5 * (2 if bidirectional else 1))
    torch.testing.assert_close(out_batch[0, :4], out_alone[0], rtol=1e-5, atol=1e-6)
    out_long, _ = stack(long, torch.tensor([9]))
    torch.testing.assert_close(out_batch[1], out_long[0], rtol=1e-5, atol=1e-6)


def test_plain_bidirectional_lstm_would_leak_padding():
    """A naive nn.LSTM(bidirectional=True) changes under padding: why RecurrentStack exists."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5, batch_first=True, bidirectional=True)
    short = torch.randn(1, 4, 3)
    padded = torch.cat([short, torch.zeros(1, 5, 3)], dim=1)
    assert not torch.allclose(lstm(padded)[0][0, :4], lstm(short)[0][0], atol=1e-4)


def test_encoder_with_char_cnn_shapes():
    """Token input plus character features gives (N, L, D*H) outputs."""
    enc = RecurrentEncoder("gru", 7, 1, True, 0.0, vocab_size=10, embedding_dim=4,
                           n_chars=6, char_embedding_dim=3, char_filters=5)
    batch = Batch(inputs=torch.tensor([[2, 3, 4], [5, 0, 0]]), lengths=torch.tensor([3, 1]),
                  index=None, chars=torch.tensor([[2, 3, 0], [4, 0, 0], [5, 5, 5], [0, 0, 0]]),
                  char_index=torch.tensor([[0, 1, 2], [1, 3, 3]]))
    out, _ = enc(batch)
    assert out.shape == (2, 3, 14)


def test_encoder_needs_one_input_kind():
    """Giving both (or neither) vocab_size and n_features is refused."""
    with pytest.raises(ValueError, match="exactly one"):
        RecurrentEncoder("lstm", 4)
    with pytest.raises(ValueError, match="exactly one"):
        RecurrentEncoder("lstm", 4, vocab_size=3, embedding_dim=2, n_features=3)


def test_unidirectional_stack_carries_state():
    """Running two halves with the carried state equals running the whole sequence."""
    torch.manual_seed(0)
    stack = RecurrentStack("lstm", 3, 4, 2).eval()
    x = torch.randn(2, 8, 3)
    full, _ = stack(x, torch.tensor([8, 8]))
    a, h = stack(x[:, :5], torch.tensor([5, 5]))
    b, _ = stack(x[:, 5:], torch.tensor([3, 3]), h)
    torch.testing.assert_close(torch.cat([a, b], 1), full)


def test_dropout_matches_nn_dropout_statistics():
    """The fast dropout keeps a fraction 1-p of units, scaled by 1/(1-p), and is off in eval."""
    from skrnn.modules import Dropout

    torch.manual_seed(0)
    d = Dropout(0.3)
    y = d(torch.ones(200_000))
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert torch.equal(d.eval()(torch.ones(5)), torch.ones(5))
