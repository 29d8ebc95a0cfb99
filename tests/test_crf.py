"""skrnn.crf against brute-force enumeration of tag paths on tiny label sets."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skrnn import crf
from skrnn import tag_schemes as schemes

# -- helpers -----------------------------------------------------------------------


def _masks(c, g, constrained):
    if not constrained:
        return (torch.ones(c, c, dtype=torch.bool), torch.ones(c, dtype=torch.bool),
                torch.ones(c, dtype=torch.bool))
    allowed = torch.rand(c, c, generator=g) > 0.35
    start = torch.rand(c, generator=g) > 0.35
    end = torch.rand(c, generator=g) > 0.35
    start[0] = end[0] = allowed[0, 0] = True  # at least one valid path: 0 0 0 ...
    return allowed, start, end


def _problem(seed, c=3, n=4, longest=5, constrained=True, dtype=torch.float64):
    """Random emissions, ragged lengths (1 and ``longest`` included), masked scores."""
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(n, longest, c, generator=g, dtype=torch.float64).to(dtype)
    raw = [torch.randn(c, c, generator=g, dtype=torch.float64),
           torch.randn(c, generator=g, dtype=torch.float64),
           torch.randn(c, generator=g, dtype=torch.float64)]
    masks = _masks(c, g, constrained)
    lengths = torch.cat([torch.tensor([longest, 1]),
                         torch.randint(1, longest + 1, (n - 2,), generator=g)])
    return em, lengths, crf.masked_scores(*masks, *(x.to(dtype) for x in raw)), masks


def _brute(em, length, chain, masks):
    """Every valid path of one sequence and its float64 score."""
    T, s, e = (x.double() for x in chain)
    allowed, start, end = masks
    em = em.double()
    paths, scores = [], []
    for p in itertools.product(range(em.shape[-1]), repeat=length):
        if not start[p[0]] or not end[p[-1]] or any(not allowed[a, b] for a, b in zip(p, p[1:])):
            continue
        score = s[p[0]] + e[p[-1]] + sum(em[t, p[t]] for t in range(length))
        score = score + sum(T[a, b] for a, b in zip(p, p[1:]))
        paths.append(p)
        scores.append(float(score))
    return paths, np.array(scores)


def _brute_marginals(paths, scores, length, c):
    probs = np.exp(scores - np.logaddexp.reduce(scores))
    out = np.zeros((length, c))
    for p, q in zip(paths, probs):
        out[np.arange(length), list(p)] += q
    return out


CASES = [(c, seed, constrained) for c in (2, 3, 4) for seed in range(2)
         for constrained in (False, True)]


# -- against brute force --------------------------------------------------------------


@pytest.mark.parametrize("c, seed, constrained", CASES)
def test_log_partition_equals_brute_force(c, seed, constrained):
    em, lengths, chain, masks = _problem(seed, c=c, constrained=constrained)
    logz = crf.log_partition(em, lengths, *chain)
    assert logz.dtype == torch.float64 and logz.shape == (4,)
    for i, length in enumerate(lengths.tolist()):
        _, scores = _brute(em[i], length, chain, masks)
        np.testing.assert_allclose(float(logz[i]), np.logaddexp.reduce(scores), rtol=1e-10)


@pytest.mark.parametrize("c, seed, constrained", CASES)
def test_viterbi_and_viterbi_numpy_equal_brute_force(c, seed, constrained):
    em, lengths, chain, masks = _problem(seed + 10, c=c, constrained=constrained)
    best = crf.viterbi(em, lengths, *chain)
    assert best.dtype == torch.int64 and best.shape == em.shape[:2]
    numpy_best = crf.viterbi_numpy(em.numpy(), lengths.numpy(), *(x.numpy() for x in chain))
    for i, length in enumerate(lengths.tolist()):
        paths, scores = _brute(em[i], length, chain, masks)
        assert tuple(best[i, :length].tolist()) == paths[int(scores.argmax())]
        assert best[i, length:].eq(0).all()  # padding
        assert numpy_best[i].dtype == np.int64
        np.testing.assert_array_equal(numpy_best[i], best[i, :length].numpy())


@pytest.mark.parametrize("c, seed, constrained", CASES)
def test_marginals_equal_brute_force(c, seed, constrained):
    em, lengths, chain, masks = _problem(seed + 20, c=c, constrained=constrained)
    marg = crf.marginals(em, lengths, *chain)
    for i, length in enumerate(lengths.tolist()):
        paths, scores = _brute(em[i], length, chain, masks)
        np.testing.assert_allclose(marg[i, :length].numpy(),
                                   _brute_marginals(paths, scores, length, c), atol=1e-10)
        np.testing.assert_allclose(marg[i, :length].sum(-1).numpy(), 1.0, atol=1e-12)
        assert marg[i, length:].eq(0).all()


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_marginals_without_gradients_enabled(context):
    em, lengths, chain, _ = _problem(3, dtype=torch.float32)
    expected = crf.marginals(em, lengths, *chain)
    with context():
        marg = crf.marginals(em, lengths, *chain)
    assert marg.dtype == torch.float32
    torch.testing.assert_close(marg, expected, rtol=0, atol=0)
    real = torch.arange(em.shape[1]) < lengths.unsqueeze(1)
    torch.testing.assert_close(marg.sum(-1)[real], torch.ones(int(real.sum())))


@pytest.mark.parametrize("seed", range(3))
def test_path_score_and_neg_log_likelihood(seed):
    em, lengths, chain, masks = _problem(seed + 30, c=3)
    g = torch.Generator().manual_seed(seed)
    logz = crf.log_partition(em, lengths, *chain)
    # The best path and random (mostly invalid) paths, padding filled with junk ids.
    tags = torch.stack([crf.viterbi(em, lengths, *chain),
                        torch.randint(0, 3, em.shape[:2], generator=g)])
    real = torch.arange(em.shape[1]) < lengths.unsqueeze(1)
    T, s, e = chain
    for k in range(2):
        junk = torch.where(real, tags[k], torch.full_like(tags[k], 2))
        score = crf.path_score(em, junk, lengths, *chain)
        nll = crf.neg_log_likelihood(em, junk, lengths, *chain)
        for i, n in enumerate(lengths.tolist()):
            p = tags[k, i, :n].tolist()
            ref = float(s[p[0]] + e[p[-1]] + sum(em[i, t, p[t]] for t in range(n))
                        + sum(T[a, b] for a, b in zip(p, p[1:])))
            np.testing.assert_allclose(float(score[i]), ref, rtol=1e-12)
        torch.testing.assert_close(nll, logz - score)
        assert (nll >= -1e-9).all()
    # The probabilities of all valid paths of a sequence add up to 1.
    i = int(lengths.argmax())
    paths, _ = _brute(em[i], int(lengths[i]), chain, masks)
    batch = torch.tensor(paths)
    nll = crf.neg_log_likelihood(em[i:i + 1].expand(len(paths), -1, -1), batch,
                                 lengths[i].repeat(len(paths)), *chain)
    np.testing.assert_allclose(float(torch.exp(-nll).sum()), 1.0, rtol=1e-10)


# -- padding, precision, gradients ------------------------------------------------------


@pytest.mark.parametrize("fill", [0.0, 1e3, -1e4, float("nan"), float("inf")])
def test_padding_never_matters(fill):
    em, lengths, chain, _ = _problem(7, n=5, longest=6, dtype=torch.float32)
    tags = crf.viterbi(em, lengths, *chain)
    noisy = em.clone()
    noisy[torch.arange(em.shape[1]) >= lengths.unsqueeze(1)] = fill
    noisy_tags = tags.clone()
    noisy_tags[torch.arange(em.shape[1]) >= lengths.unsqueeze(1)] = 2
    for name, f in (("log_partition", crf.log_partition), ("viterbi", crf.viterbi),
                    ("marginals", crf.marginals)):
        assert torch.equal(f(em, lengths, *chain), f(noisy, lengths, *chain)), name
    assert torch.equal(crf.neg_log_likelihood(em, tags, lengths, *chain),
                       crf.neg_log_likelihood(noisy, noisy_tags, lengths, *chain))
    # The gradient never reaches padded steps (and is finite whatever they hold).
    noisy.requires_grad_(True)
    crf.neg_log_likelihood(noisy, tags, lengths, *chain).sum().backward()
    padded = torch.arange(em.shape[1]) >= lengths.unsqueeze(1)
    assert noisy.grad[padded].eq(0).all() and torch.isfinite(noisy.grad).all()
    numpy_tags = crf.viterbi_numpy(noisy.detach().numpy(), lengths.numpy(),
                                   *(x.numpy() for x in chain))
    for row, got, n in zip(tags, numpy_tags, lengths.tolist()):
        np.testing.assert_array_equal(got, row[:n].numpy())


def test_a_sequence_alone_equals_it_batched_with_longer_ones():
    em, lengths, chain, _ = _problem(8, n=5, longest=7, dtype=torch.float32)
    tags = crf.viterbi(em, lengths, *chain)
    logz = crf.log_partition(em, lengths, *chain)
    marg = crf.marginals(em, lengths, *chain)
    nll = crf.neg_log_likelihood(em, tags, lengths, *chain)
    for i, n in enumerate(lengths.tolist()):
        alone = em[i:i + 1, :n]
        one = lengths[i:i + 1]
        assert torch.equal(crf.viterbi(alone, one, *chain)[0], tags[i, :n])
        torch.testing.assert_close(crf.log_partition(alone, one, *chain)[0], logz[i])
        torch.testing.assert_close(crf.marginals(alone, one, *chain)[0], marg[i, :n])
        torch.testing.assert_close(crf.neg_log_likelihood(alone, tags[i:i + 1, :n], one,
                                                          *chain)[0], nll[i])


def test_log_partition_keeps_its_precision_over_wide_score_ranges():
    # Tag 2 is reached only from tag 1, which is `gap` below the best tag at step 0;
    # step 1 then favours tag 2 by 2 * gap. With one scale per row, float32 would
    # underflow tag 1's share (gap > 87) and overestimate log Z by up to gap - 87.
    allowed = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    ones = torch.ones(3, dtype=torch.bool)
    chain = crf.masked_scores(allowed, ones, ones)
    for gap in (10.0, 90.0, 150.0, 400.0):
        em = torch.tensor([[[0.0, -gap, 0.0], [0.0, 0.0, 2 * gap]]])
        paths, scores = _brute(em[0], 2, chain, (allowed, ones, ones))
        np.testing.assert_allclose(float(crf.log_partition(em, torch.tensor([2]), *chain)),
                                   np.logaddexp.reduce(scores), rtol=1e-6)
        marg = crf.marginals(em, torch.tensor([2]), *chain)
        np.testing.assert_allclose(marg[0].numpy(), _brute_marginals(paths, scores, 2, 3),
                                   atol=1e-6)


def test_large_transition_scores_do_not_overflow():
    em, lengths, chain, masks = _problem(9, c=3, dtype=torch.float32)
    T, s, e = chain
    big = (T + 300 * masks[0], s, e)  # exp(300) overflows float32 and nearly float64
    logz = crf.log_partition(em, lengths, *big)
    assert torch.isfinite(logz).all()
    for i, n in enumerate(lengths.tolist()):
        _, scores = _brute(em[i], n, big, masks)
        np.testing.assert_allclose(float(logz[i]), np.logaddexp.reduce(scores), rtol=1e-6)


def test_gradients_finite_and_zero_at_masked_entries():
    allowed = torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 1]])
    module = crf.LinearChainCRF(3, allowed=allowed, start_allowed=torch.tensor([1, 0, 1]),
                                end_allowed=torch.tensor([1, 1, 0]))
    with torch.no_grad():  # nonzero scores everywhere, masked entries included
        for p in module.parameters():
            p.uniform_(-2, 2)
    em = (torch.randn(5, 6, 3) * 30).requires_grad_(True)  # wide: sharp posteriors
    lengths = torch.tensor([6, 1, 3, 6, 2])
    tags = module.viterbi(em.detach(), lengths)
    loss = module.neg_log_likelihood(em, lengths, tags)
    assert loss.dtype == torch.float32 and (loss >= -1e-4).all()
    loss.sum().backward()
    for p in (em, module.transitions, module.start_transitions, module.end_transitions):
        assert torch.isfinite(p.grad).all()
    assert module.transitions.grad[~module.allowed].eq(0).all()
    assert module.start_transitions.grad[1] == 0 and module.end_transitions.grad[2] == 0
    assert module.transitions.grad[module.allowed].ne(0).any()


def test_emission_gradient_is_the_marginals_and_passes_gradcheck():
    em, lengths, chain, _ = _problem(11, c=3, n=3, longest=4)
    em.requires_grad_(True)
    (grad,) = torch.autograd.grad(crf.log_partition(em, lengths, *chain).sum(), em)
    torch.testing.assert_close(grad, crf.marginals(em, lengths, *chain))
    T, s, e = (x.detach().clone().requires_grad_(True) for x in chain)
    assert torch.autograd.gradcheck(lambda *a: crf.log_partition(em, lengths, *a), (T, s, e))


def test_no_valid_path_gives_finite_scores():
    allowed = torch.zeros(3, 3, dtype=torch.bool)  # nothing may follow anything
    ones = torch.ones(3, dtype=torch.bool)
    chain = crf.masked_scores(allowed, ones, ones)
    em = torch.randn(2, 4, 3)
    lengths = torch.tensor([4, 1])
    logz = crf.log_partition(em, lengths, *chain)
    assert torch.isfinite(logz).all()
    assert logz[0] < -5000  # no valid path: log Z near NOT_ALLOWED, not a real value
    assert torch.isfinite(crf.marginals(em, lengths, *chain)).all()


def test_low_precision_emissions_are_cast_up():
    module = crf.LinearChainCRF(3)
    with torch.no_grad():
        module.transitions.copy_(torch.randn(3, 3))
    em = torch.randn(2, 5, 3).to(torch.bfloat16)
    lengths = torch.tensor([5, 3])
    tags = torch.zeros(2, 5, dtype=torch.int64)
    up = em.float()
    for name, args in (("log_partition", ()), ("marginals", ()), ("viterbi", ()),
                       ("neg_log_likelihood", (tags,))):
        got = getattr(module, name)(em, lengths, *args)
        assert got.dtype in (torch.float32, torch.int64), name
        assert torch.equal(got, getattr(module, name)(up, lengths, *args)), name


def test_viterbi_ties_go_to_the_lowest_tag_id():
    em = torch.zeros(2, 4, 3)
    lengths = torch.tensor([4, 2])
    allowed = torch.ones(3, 3, dtype=torch.bool)
    allowed[0, 0] = False  # 0 0 is invalid
    chain = crf.masked_scores(allowed, torch.ones(3, dtype=torch.bool),
                              torch.ones(3, dtype=torch.bool))
    # Every valid path ties. Resolved from the end: the last tag is 0, the best
    # predecessor of 0 with the lowest id is 1, that of 1 is 0.
    best = crf.viterbi(em, lengths, *chain)
    assert best.tolist() == [[1, 0, 1, 0], [1, 0, 0, 0]]
    got = crf.viterbi_numpy(em.numpy(), lengths.numpy(), *(x.numpy() for x in chain))
    assert [g.tolist() for g in got] == [[1, 0, 1, 0], [1, 0]]


def test_viterbi_numpy_equals_viterbi_on_larger_float32_batches():
    g = torch.Generator().manual_seed(0)
    em = torch.randn(16, 20, 9, generator=g)
    lengths = torch.randint(1, 21, (16,), generator=g)
    classes = np.array(["B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "O", "S-LOC",
                        "S-PER"])
    masks = [torch.as_tensor(m) for m in schemes.allowed_transitions(classes, "bioes")]
    chain = crf.masked_scores(*masks, torch.randn(9, 9, generator=g), torch.randn(9, generator=g),
                              torch.randn(9, generator=g))
    best = crf.viterbi(em, lengths, *chain)
    got = crf.viterbi_numpy(em.numpy(), lengths.numpy(), *(x.detach().numpy() for x in chain))
    for row, path, n in zip(best, got, lengths.tolist()):
        np.testing.assert_array_equal(path, row[:n].numpy())


def test_viterbi_numpy_checks_lengths():
    em = np.zeros((2, 3, 2), np.float32)
    chain = (np.zeros((2, 2)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="lengths"):
        crf.viterbi_numpy(em, [4, 1], *chain)
    with pytest.raises(ValueError, match="lengths"):
        crf.viterbi_numpy(em, [1], *chain)
    assert [p.tolist() for p in crf.viterbi_numpy(em, [0, 3], *chain)] == [[], [0, 0, 0]]


# -- masked scores and the module ------------------------------------------------------------


def test_masked_scores():
    allowed = np.array([[True, False], [True, True]])
    T, s, e = crf.masked_scores(allowed, np.array([True, False]), np.array([False, True]))
    assert T.tolist() == [[0.0, crf.NOT_ALLOWED], [0.0, 0.0]]
    assert s.tolist() == [0.0, crf.NOT_ALLOWED] and e.tolist() == [crf.NOT_ALLOWED, 0.0]
    # The documented property: invalid entries vanish from exp-space sums.
    assert torch.exp(torch.tensor(crf.NOT_ALLOWED, dtype=torch.float32)) == 0
    assert torch.exp(torch.tensor(crf.NOT_ALLOWED, dtype=torch.float64)) == 0
    scores = torch.randn(2, 2, requires_grad=True)
    T, _, _ = crf.masked_scores(torch.as_tensor(allowed), torch.ones(2, dtype=torch.bool),
                                torch.ones(2, dtype=torch.bool), scores)
    T.sum().backward()
    assert scores.grad.tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_module_parameters_buffers_and_state_dict():
    allowed = np.array([[True, False], [True, True]])
    module = crf.LinearChainCRF(2, allowed=allowed, start_allowed=[True, False])
    assert "n_tags=2" in repr(module)
    assert {n for n, _ in module.named_parameters()} == {
        "transitions", "start_transitions", "end_transitions"}
    assert all(p.eq(0).all() for p in module.parameters())
    state = module.state_dict()
    assert state["allowed"].tolist() == allowed.tolist()
    assert state["start_allowed"].tolist() == [True, False]
    assert state["end_allowed"].tolist() == [True, True]
    fresh = crf.LinearChainCRF(2)
    fresh.load_state_dict(state)
    for a, b in zip(fresh.scores(), module.scores()):
        assert torch.equal(a, b)
    assert fresh.scores()[0][0, 1] == crf.NOT_ALLOWED
    with pytest.raises(ValueError, match="allowed must have shape"):
        crf.LinearChainCRF(3, allowed=allowed)


def test_transitions_alone_learn_what_a_per_step_softmax_cannot():
    # Two tags; each sequence alternates A B A B ... from either first tag, every
    # (first tag, length) pair once. Only step 0's emission says which tag starts;
    # every later step looks the same, and there both tags are equally frequent at
    # every position, so a per-step classifier is at chance. Learned transitions
    # carry the pattern.
    longest = 9
    first = torch.tensor([0, 1]).repeat_interleave(longest - 1)
    lengths = torch.arange(2, longest + 1).repeat(2)
    n = len(first)
    tags = (first.unsqueeze(1) + torch.arange(longest)) % 2  # (N, L)
    em = torch.zeros(n, longest, 2)
    em[torch.arange(n), 0, first] = 1.0  # a constant emission: the only per-step clue
    real = torch.arange(longest) < lengths.unsqueeze(1)
    for t in range(1, longest):
        assert tags[real[:, t], t].float().mean() == 0.5  # chance for any per-step rule
    module = crf.LinearChainCRF(2)
    opt = torch.optim.Adam(module.parameters(), lr=0.1)
    before = module.viterbi(em, lengths)
    assert not torch.equal(before[real], tags[real])
    for _ in range(200):
        opt.zero_grad()
        module.neg_log_likelihood(em, lengths, tags).mean().backward()
        opt.step()
    assert torch.equal(module.viterbi(em, lengths)[real], tags[real])
    assert module.transitions[0, 1] > module.transitions[0, 0]
    assert module.transitions[1, 0] > module.transitions[1, 1]


# -- decoding under tag schemes ----------------------------------------------------------------

_SCHEME_LABELS = {
    "iob1": ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"],
    "iob2": ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"],
    "bioes": ["B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "O", "S-LOC", "S-PER"],
    "bmes": ["B", "E", "M", "S"],
}


@settings(max_examples=60, deadline=None)
@given(scheme=st.sampled_from(sorted(_SCHEME_LABELS)), seed=st.integers(0, 2**31 - 1),
       longest=st.integers(1, 10), scale=st.sampled_from([0.1, 1.0, 10.0, 100.0]),
       learned=st.booleans())
def test_decoding_never_emits_an_invalid_sequence(scheme, seed, longest, scale, learned):
    classes = np.array(_SCHEME_LABELS[scheme])
    masks = schemes.allowed_transitions(classes, scheme)
    c = len(classes)
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(6, longest, c, generator=g) * scale
    lengths = torch.randint(1, longest + 1, (6,), generator=g)
    # Zero scores: a softmax tagger's constrained decoding; random ones: a learned CRF.
    raw = ([torch.randn(c, c, generator=g) * scale, torch.randn(c, generator=g) * scale,
            torch.randn(c, generator=g) * scale] if learned else [])
    chain = crf.masked_scores(*(torch.as_tensor(m) for m in masks), *raw)
    best = crf.viterbi(em, lengths, *chain)
    numpy_best = crf.viterbi_numpy(em.numpy(), lengths.numpy(), *(x.numpy() for x in chain))
    for row, path, n in zip(best, numpy_best, lengths.tolist()):
        assert schemes.first_violation(row[:n].numpy(), *masks) is None
        np.testing.assert_array_equal(path, row[:n].numpy())
    # Invalid tags get no posterior mass either.
    marg = crf.marginals(em, lengths, *chain)
    assert marg[:, 0][:, ~torch.as_tensor(masks[1])].max() < 1e-6
