"""Tests for skrnn.sampling and skrnn.decoding.sample_steps: the stepper matches the fused
modules, draws follow the softmax, the weights cache follows the weights."""

import gc
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch import nn

from skrnn import sampling
from skrnn.cells import CELLS
from skrnn.decoding import sample_steps
from skrnn.sampling import RecurrentStepper, cached, clear_cache


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


@pytest.mark.parametrize("cls", [cell.layer for cell in CELLS.values()])
def test_extra_input_equals_module_on_concatenated_input(cls):
    """With ``extra_input`` the first layer reads [embedding, extra] as the module does."""
    torch.manual_seed(0)
    emb, rnn = nn.Embedding(10, 5), cls(5 + 3, 7, 2, batch_first=True)
    stepper = RecurrentStepper(emb, rnn, extra_input=3)
    tokens, extra = torch.randint(0, 10, (4,)), torch.randn(4, 3)
    with torch.no_grad():
        out, _ = rnn(torch.cat([emb(tokens), extra], dim=1).unsqueeze(1))
        state = stepper.advance(stepper.input_gates(tokens, extra),
                                stepper.initial_state(None, 4, "cpu"))
    torch.testing.assert_close(state[-1][0], out[:, 0], rtol=1e-5, atol=1e-5)


def test_sample_steps_same_generator_state_same_draws():
    """A generator in the same state gives the same draws; rows never draw banned ids."""
    stepper = RecurrentStepper(*_parts(nn.LSTM).values())
    state = stepper.initial_state(None, 6, "cpu")
    start = torch.zeros(6, dtype=torch.long)

    def draw(**kw):
        return sample_steps(stepper.step, state, start, max_steps=100, eos_id=3, banned=[0, 2],
                            generator=torch.Generator().manual_seed(5), **kw)

    for kw in ({}, {"temperature": 0.5}, {"top_k": 3}, {"stop_at_eos": False}):
        a, b = draw(**kw), draw(**kw)
        assert torch.equal(a, b)
        assert not torch.isin(a, torch.tensor([0, 2])).any()
    fixed = draw(stop_at_eos=False)
    assert fixed.shape == (6, 100) and not (fixed == 3).any()
    short = sample_steps(stepper.step, state, start, max_steps=7, eos_id=3, banned=[0, 2],
                         generator=torch.Generator().manual_seed(5), stop_at_eos=False)
    assert torch.equal(short, fixed[:, :7])  # a shorter call draws the start of a longer one


def test_sample_steps_draws_from_the_softmax():
    """Drawn frequencies match softmax(logits / temperature) over the allowed ids (top-k too)."""
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0, 1.0, -3.0, 0.3]])
    n = 100_000

    def step(tokens, state):
        return logits.expand(tokens.shape[0], -1).clone(), state

    for temperature, top_k in ((1.0, None), (0.5, None), (2.0, 3)):
        drawn = sample_steps(step, None, torch.zeros(n, dtype=torch.long), max_steps=1,
                             eos_id=None, temperature=temperature, top_k=top_k, banned=[1, 3],
                             generator=torch.Generator().manual_seed(0))
        freq = torch.bincount(drawn.view(-1), minlength=7).double() / n
        z = (logits[0] / temperature).double()
        z[[1, 3]] = float("-inf")
        if top_k is not None:
            z[z < torch.topk(z, top_k).values[-1]] = float("-inf")
        torch.testing.assert_close(freq, torch.softmax(z, 0), rtol=0, atol=0.006)


def test_sample_steps_ends_rows_at_eos_and_trims():
    """Rows end at their first EOS (EOS after it); the output stops when the last row ends."""
    # Row 0 draws EOS (id 3) at its 2nd step, row 1 at its 4th: deterministic logits.
    plan = torch.tensor([[1, 3, 1, 1, 1, 1], [1, 1, 1, 3, 1, 1]])

    def step(tokens, state):
        logits = torch.full((2, 5), -1e4)
        logits[torch.arange(2), plan[:, state]] = 0.0
        return logits, state + 1

    drawn = sample_steps(step, 0, torch.zeros(2, dtype=torch.long), max_steps=6, eos_id=3,
                         generator=torch.Generator().manual_seed(0))
    assert drawn.tolist() == [[1, 3, 3, 3], [1, 1, 1, 3]]


# -- the cache of what is derived from the weights -------------------------------------


def _parts(cls):
    torch.manual_seed(0)
    return nn.ModuleDict({"embedding": nn.Embedding(10, 5),
                          "rnn": cls(5, 7, 2, batch_first=True), "head": nn.Linear(7, 10)})


def _build(net):
    return lambda: RecurrentStepper(net["embedding"], net["rnn"], net["head"])


def _logits(stepper):
    with torch.no_grad():
        return stepper.step(torch.arange(10), stepper.initial_state(None, 10, "cpu"))[0]


def test_cache_is_reused_until_the_weights_change():
    """The same stepper until a weight changes in place, is reloaded or moved; then a new one
    that equals a freshly built stepper."""
    net = _parts(nn.LSTM)
    first = cached(net, "sample", _build(net))
    assert cached(net, "sample", _build(net)) is first

    def changed(edit):
        before = cached(net, "sample", _build(net))
        with torch.no_grad():
            edit()
        after = cached(net, "sample", _build(net))
        assert after is not before
        torch.testing.assert_close(_logits(after), _logits(_build(net)()))
        assert cached(net, "sample", _build(net)) is after

    changed(lambda: net["head"].bias.add_(1.0))  # an optimizer's in-place update
    changed(lambda: net["rnn"].weight_hh_l1.copy_(torch.randn(28, 7)))
    changed(lambda: net.load_state_dict(_parts(nn.LSTM).state_dict()))
    changed(lambda: net.double())


def test_cache_misses_data_writes_until_cleared():
    """Writes through ``.data`` bypass the version counter: clear_cache forgets the stepper."""
    net = _parts(nn.GRU)
    stale = cached(net, "sample", _build(net))
    net["head"].bias.data.add_(1.0)
    assert cached(net, "sample", _build(net)) is stale
    clear_cache(net)
    fresh = cached(net, "sample", _build(net))
    assert fresh is not stale
    torch.testing.assert_close(_logits(fresh), _logits(_build(net)()))


def test_cache_does_not_keep_the_module_alive():
    """An entry goes with its module: the cached stepper holds none of the modules."""
    net = _parts(nn.LSTM)
    cached(net, "sample", _build(net))
    ref = weakref.ref(net)
    n_entries = len(sampling._CACHE)
    del net
    gc.collect()
    assert ref() is None and len(sampling._CACHE) == n_entries - 1


def test_cache_under_threads():
    """Threads that build and use the stepper of one module at once all get the same logits."""
    net = _parts(nn.LSTM)
    expected = _logits(_build(net)())
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _logits(cached(net, "sample", _build(net))),
                                range(32)))
    for logits in results:
        torch.testing.assert_close(logits, expected)
