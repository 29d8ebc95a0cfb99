"""Tests for skrnn.sampling: the stepper matches the fused modules."""

import pytest
import torch
from torch import nn

from skrnn.cells import CELLS
from skrnn.decoding import sample_steps
from skrnn.sampling import RecurrentStepper


@pytest.mark.parametrize("cls", [cell.layer for cell in CELLS.values()])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_stepper_equals_module(cls, num_layers):
    """Step-by-step logits equal the fused module's logits at every step."""
    torch.manual_seed(0)
    emb, rnn, head = nn.Embedding(10, 5), cls(5, 7, num_layers, batch_first=True), nn.Linear(7, 10)
    stepper = RecurrentStepper(emb, rnn, head)
    tokens = torch.randint(0, 10, (3, 6))
    with torch.no_grad():
        out, _ = rnn(emb(tokens))
        expected = head(out)
        state = stepper.initial_state(None, 3, "cpu")
        for t in range(6):
            logits, state = stepper.step(tokens[:, t], state)
            torch.testing.assert_close(logits, expected[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [cell.layer for cell in CELLS.values()])
def test_stepper_continues_from_module_state(cls):
    """A state produced by the fused module (a prefix) continues exactly in the stepper."""
    torch.manual_seed(0)
    emb, rnn, head = nn.Embedding(10, 5), cls(5, 7, 2, batch_first=True), nn.Linear(7, 10)
    stepper = RecurrentStepper(emb, rnn, head)
    tokens = torch.randint(0, 10, (2, 8))
    with torch.no_grad():
        expected = head(rnn(emb(tokens))[0])
        _, h = rnn(emb(tokens[:, :5]))
        logits, _ = stepper.step(tokens[:, 5], stepper.initial_state(h, 2, "cpu"))
    torch.testing.assert_close(logits, expected[:, 5], rtol=1e-5, atol=1e-5)


def test_bidirectional_is_refused():
    """A bidirectional module cannot generate step by step."""
    with pytest.raises(ValueError, match="unidirectional"):
        RecurrentStepper(nn.Embedding(3, 2), nn.GRU(2, 2, bidirectional=True), nn.Linear(4, 3))


def test_sample_steps_bans_and_stops():
    """Banned ids are never drawn and rows stop at EOS (padded with EOS afterwards)."""
    torch.manual_seed(0)
    stepper = RecurrentStepper(nn.Embedding(6, 4), nn.GRU(4, 8), nn.Linear(8, 6))
    state = stepper.initial_state(None, 50, "cpu")
    gen = torch.Generator().manual_seed(0)
    drawn = sample_steps(stepper.step, state, torch.zeros(50, dtype=torch.long), max_steps=40,
                         eos_id=3, banned=[0, 2], generator=gen)
    assert not torch.isin(drawn, torch.tensor([0, 2])).any()
    for row in drawn.tolist():
        if 3 in row:
            first = row.index(3)
            assert set(row[first:]) == {3}
