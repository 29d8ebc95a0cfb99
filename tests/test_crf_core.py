"""skrnn.crf and skrnn.tag_schemes against brute force on tiny label sets."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skrnn import crf
from skrnn import tag_schemes as schemes


def _problem(seed, n=4, longest=5, c=3, constrained=True):
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(n, longest, c, generator=g)
    scores = [torch.randn(c, c, generator=g), torch.randn(c, generator=g),
              torch.randn(c, generator=g)]
    if constrained:
        allowed = torch.rand(c, c, generator=g) > 0.3
        start, end = torch.rand(c, generator=g) > 0.3, torch.rand(c, generator=g) > 0.3
        start[0] = end[0] = allowed[0, 0] = True  # at least one valid path: 0 0 0 ...
    else:
        allowed, start, end = (torch.ones(c, c, dtype=bool), torch.ones(c, dtype=bool),
                               torch.ones(c, dtype=bool))
    lengths = torch.tensor([longest] + [int(x) for x in torch.randint(1, longest + 1, (n - 1,),
                                                                       generator=g)])
    return em, lengths, crf.masked_scores(allowed, start, end, *scores), (allowed, start, end)


def _brute(em, length, chain, mask):
    """Every valid path of one sequence and its score (float64)."""
    T, s, e = (x.double() for x in chain)
    allowed, start, end = mask
    paths, scores = [], []
    for p in itertools.product(range(em.shape[-1]), repeat=length):
        if not start[p[0]] or not end[p[-1]] or any(not allowed[a, b] for a, b in zip(p, p[1:])):
            continue
        score = s[p[0]] + e[p[-1]] + sum(em[t, p[t]].double() for t in range(length))
        score = score + sum(T[a, b] for a, b in zip(p, p[1:]))
        paths.append(p)
        scores.append(float(score))
    return paths, np.array(scores)


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_log_partition_viterbi_marginals_equal_brute_force(seed, constrained):
    em, lengths, chain, mask = _problem(seed, constrained=constrained)
    logz = crf.log_partition(em, lengths, *chain)
    best = crf.viterbi(em, lengths, *chain)
    with torch.no_grad():  # marginals work without gradients enabled
        marg = crf.marginals(em, lengths, *chain)
    numpy_best = crf.viterbi_numpy(em.numpy(), lengths.numpy(), *(x.numpy() for x in chain))
    for i, length in enumerate(lengths.tolist()):
        paths, scores = _brute(em[i], length, chain, mask)
        ref = np.logaddexp.reduce(scores)
        np.testing.assert_allclose(float(logz[i]), ref, rtol=1e-5, atol=1e-5)
        assert tuple(best[i, :length].tolist()) == paths[int(scores.argmax())]
        assert best[i, length:].eq(0).all()
        np.testing.assert_array_equal(numpy_best[i], best[i, :length].numpy())
        probs = np.exp(scores - ref)
        expected = np.zeros((length, em.shape[-1]))
        for p, q in zip(paths, probs):
            expected[np.arange(length), list(p)] += q
        np.testing.assert_allclose(marg[i, :length].numpy(), expected, atol=1e-5)
        np.testing.assert_allclose(marg[i, :length].sum(-1).numpy(), 1.0, atol=1e-5)
        assert marg[i, length:].eq(0).all()
        # The NLL of the best path is log Z minus its score.
        nll = crf.neg_log_likelihood(em[i:i + 1], best[i:i + 1], lengths[i:i + 1], *chain)
        np.testing.assert_allclose(float(nll), ref - scores.max(), rtol=1e-4, atol=1e-4)


def test_padding_never_matters():
    em, lengths, chain, _ = _problem(7)
    noisy = em.clone()
    steps = torch.arange(em.shape[1]) >= lengths.unsqueeze(1)
    noisy[steps] = 1e3  # whatever the padding holds
    for f in (crf.log_partition, crf.viterbi, crf.marginals):
        a, b = f(em, lengths, *chain), f(noisy, lengths, *chain)
        assert torch.equal(a, b), f.__name__
    # One sequence alone equals it in the batch.
    i = int(lengths.argmin())
    n = int(lengths[i])
    alone = crf.log_partition(em[i:i + 1, :n], lengths[i:i + 1], *chain)
    torch.testing.assert_close(alone[0], crf.log_partition(em, lengths, *chain)[i])


def test_gradients_are_finite_and_skip_masked_entries():
    module = crf.LinearChainCRF(3, allowed=torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 1]]),
                                start_allowed=torch.tensor([1, 0, 1]),
                                end_allowed=torch.tensor([1, 1, 0]))
    em = torch.randn(5, 6, 3, requires_grad=True)
    lengths = torch.tensor([6, 1, 3, 6, 2])
    tags = module.viterbi(em.detach(), lengths)
    loss = module.neg_log_likelihood(em, lengths, tags).sum()
    loss.backward()
    for p in (em, module.transitions, module.start_transitions, module.end_transitions):
        assert torch.isfinite(p.grad).all()
    assert module.transitions.grad[0, 2] == 0 and module.transitions.grad[1, 1] == 0
    assert module.start_transitions.grad[1] == 0 and module.end_transitions.grad[2] == 0
    assert (loss >= 0).item()


def test_transitions_alone_solve_what_a_softmax_cannot():
    # Identical emissions everywhere: only the learned transitions (A B A B ...) carry
    # the answer; a per-step classifier sees the same input at every step.
    module = crf.LinearChainCRF(2)
    em = torch.zeros(8, 7, 2)
    lengths = torch.tensor([7, 6, 5, 4, 7, 3, 2, 7])
    tags = torch.tensor([[0, 1] * 3 + [0]] * 8)
    opt = torch.optim.Adam(module.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        module.neg_log_likelihood(em, lengths, tags).sum().backward()
        opt.step()
    best = module.viterbi(em, lengths)
    real = torch.arange(7) < lengths.unsqueeze(1)
    assert torch.equal(best[real], tags[real])


LABELS = np.array(["B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "O", "S-LOC",
                   "S-PER"])


def _ok(classes, scheme, seq):
    allowed, start, end = schemes.allowed_transitions(classes, scheme)
    index = {c: i for i, c in enumerate(classes)}
    return schemes.first_violation([index[t] for t in seq], allowed, start, end) is None


def test_scheme_rules():
    iob = np.array(["B-LOC", "B-PER", "I-LOC", "I-PER", "O"])
    assert schemes.detect_scheme(iob) == "iob2"
    assert schemes.detect_scheme(LABELS) == "bioes"
    assert schemes.detect_scheme(np.array(["DET", "NOUN"])) is None
    assert schemes.detect_scheme(np.array([0, 1])) is None
    assert not _ok(iob, "iob2", ["O", "I-PER"]) and _ok(iob, "iob1", ["O", "I-PER"])
    assert not _ok(iob, "iob2", ["B-PER", "I-LOC"])
    assert _ok(iob, "iob2", ["B-PER", "I-PER", "B-PER", "O"])
    assert not _ok(iob, "iob1", ["O", "B-PER"]) and _ok(iob, "iob1", ["I-PER", "B-PER"])
    assert not _ok(LABELS, "bioes", ["B-LOC"]) and _ok(LABELS, "bioes", ["B-LOC", "E-LOC"])
    assert not _ok(LABELS, "bioes", ["B-LOC", "I-LOC", "E-PER"])
    assert not _ok(LABELS, "bioes", ["S-LOC", "I-LOC"])
    bmes = np.array(["B", "E", "M", "s"])
    assert _ok(bmes, "bmes", ["B", "M", "E", "s"]) and not _ok(bmes, "bmes", ["M", "E"])
    assert not _ok(bmes, "bmes", ["B", "s"])
    with pytest.raises(ValueError, match="do not fit tag_scheme='bmes'.*tag_scheme=None"):
        schemes.allowed_transitions(iob, "bmes")
    with pytest.raises(ValueError, match="do not fit tag_scheme='iob2'"):
        schemes.allowed_transitions(LABELS, "iob2")
    allowed, start, end = schemes.allowed_transitions(iob, "iob2")
    ids = {c: i for i, c in enumerate(iob)}
    assert schemes.first_violation([ids["O"], ids["O"], ids["I-LOC"]], allowed, start, end) == 2
    assert schemes.first_violation([ids["I-LOC"]], allowed, start, end) == 0
    allowed, start, end = schemes.allowed_transitions(LABELS, "bioes")
    assert schemes.first_violation([6, 0], allowed, start, end) == 2  # ends inside


@settings(max_examples=40, deadline=None)
@given(scheme=st.sampled_from(["iob1", "iob2", "bioes"]), seed=st.integers(0, 10**6),
       longest=st.integers(1, 9))
def test_decoding_never_emits_an_invalid_sequence(scheme, seed, longest):
    classes = LABELS if scheme == "bioes" else np.array(["B-LOC", "B-PER", "I-LOC", "I-PER",
                                                         "O"])
    mask = [torch.as_tensor(m) for m in schemes.allowed_transitions(classes, scheme)]
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(6, longest, len(classes), generator=g) * 5
    lengths = torch.randint(1, longest + 1, (6,), generator=g)
    chain = crf.masked_scores(*mask)  # a softmax tagger's constrained decoding
    for path, n in zip(crf.viterbi(em, lengths, *chain), lengths.tolist()):
        assert schemes.first_violation(path[:n].numpy(), *(m.numpy() for m in mask)) is None
