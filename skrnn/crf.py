"""A linear-chain CRF on right-padded batches: likelihood, Viterbi and marginals.

Torch only (plus a numpy Viterbi for serving). Shapes: ``emissions`` (N, L, C)
per-step scores, ``lengths`` (N,) with every length at least 1 (steps at or
beyond a row's length are padding and never influence anything),
``transitions`` (C, C) indexed [from, to], ``start`` and ``end`` (C,).

A sequence's score is ``start[y_0] + sum_t emissions[t, y_t] + sum_t
transitions[y_{t-1}, y_t] + end[y_{T-1}]``; its probability is
``exp(score - log_partition)``. Every recursion runs over time with one
batched operation per step for all sequences (no per-sentence loop).

Invalid moves (a tag scheme's, :mod:`skrnn.tag_schemes`) are scored
:data:`NOT_ALLOWED`: finite, so neither ``logsumexp`` nor its gradient can
produce NaN, and so negative that in float32 ``exp(NOT_ALLOWED)`` is exactly
0 -- invalid paths add nothing to the partition function, and Viterbi never
picks one while a valid path exists.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: The score of an invalid transition, first or last tag.
NOT_ALLOWED = -1e4

_TINY = torch.finfo(torch.float32).tiny


def masked_scores(allowed, start_allowed, end_allowed, transitions=None, start=None, end=None):
    """``(transitions, start, end)`` with invalid entries at :data:`NOT_ALLOWED`.

    ``torch.where`` keeps the masked entries out of the gradient. None
    scores mean zeros (constrained decoding of a softmax tagger).
    """
    def fill(mask, scores):
        if scores is None:
            scores = torch.zeros(mask.shape, device=mask.device)
        return torch.where(mask, scores, torch.full_like(scores, NOT_ALLOWED))

    return (fill(allowed, transitions), fill(start_allowed, start), fill(end_allowed, end))


def _steps(lengths, longest):
    """(N, L) bool: which steps are real."""
    return torch.arange(longest, device=lengths.device) < lengths.unsqueeze(1)


def log_partition(emissions, lengths, transitions, start, end):
    """Log of the sum of exp(score) over all tag paths, per sequence: (N,).

    The forward algorithm in the scaled exp space: ``alpha_t = log(exp(alpha
    - m) @ exp(T)) + m + e_t`` with ``m`` each row's maximum, one (N, C) x
    (C, C) product per step (faster than a logsumexp over (N, C, C) and as
    exact: every factor lies in [0, 1]).
    """
    if emissions.dtype != torch.float64:
        emissions = emissions.float()
    real = _steps(lengths, emissions.shape[1])
    exp_t = transitions.exp()
    alpha = start + emissions[:, 0]  # (N, C)
    for t in range(1, emissions.shape[1]):
        m = alpha.max(dim=1, keepdim=True).values
        # clamp before the log: a tag no valid path reaches sums to 0 (log: -inf,
        # and an infinite gradient); the clamped entry gets no gradient.
        nxt = torch.log(((alpha - m).exp() @ exp_t).clamp(min=_TINY)) + m
        nxt = nxt + emissions[:, t]
        alpha = torch.where(real[:, t:t + 1], nxt, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def path_score(emissions, tags, lengths, transitions, start, end):
    """The score of the tag paths ``tags`` (N, L) (padding values arbitrary): (N,)."""
    emissions = emissions.float()
    real = _steps(lengths, emissions.shape[1])
    tags = torch.where(real, tags, torch.zeros_like(tags))
    emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (N, L)
    moves = transitions[tags[:, :-1], tags[:, 1:]]  # (N, L - 1)
    last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
    return (start[tags[:, 0]] + (emit * real).sum(1) + (moves * real[:, 1:]).sum(1)
            + end[last])


def neg_log_likelihood(emissions, tags, lengths, transitions, start, end):
    """``log_partition - path_score``: each sequence's negative log-likelihood, (N,)."""
    return (log_partition(emissions, lengths, transitions, start, end)
            - path_score(emissions, tags, lengths, transitions, start, end))


def viterbi(emissions, lengths, transitions, start, end):
    """The best tag path of every sequence: (N, L) int64, 0 at padded steps.

    Ties go to the lowest tag id (``max`` returns the first maximum).
    """
    emissions = emissions.float()
    n, longest, _ = emissions.shape
    real = _steps(lengths, longest)
    score = start + emissions[:, 0]
    pointers = []
    for t in range(1, longest):
        best, arg = (score.unsqueeze(2) + transitions).max(dim=1)  # over the previous tag
        keep = real[:, t:t + 1]
        score = torch.where(keep, best + emissions[:, t], score)
        # A padded step points each tag at itself: the backtrace walks through it.
        pointers.append(torch.where(keep, arg, torch.arange(arg.shape[1], device=arg.device)))
    tag = (score + end).argmax(dim=1)
    path = [tag]
    for arg in reversed(pointers):
        tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
        path.append(tag)
    out = torch.stack(path[::-1], dim=1)
    return torch.where(real, out, torch.zeros_like(out))


def marginals(emissions, lengths, transitions, start, end):
    """P(tag at step t | sequence): (N, L, C), rows summing to 1, 0 at padding.

    The gradient of the log-partition with respect to the emissions is
    exactly the forward-backward marginals; computed with autograd (also
    inside ``torch.no_grad()``), in float64: over thousands of steps float32
    rounding of the log-partition left rows summing to 1 - 1e-4. Each row is
    then divided by its sum, which removes what rounding is left.
    """
    with torch.enable_grad():
        em = emissions.detach().double().requires_grad_(True)
        logz = log_partition(em, lengths, *(x.detach().double() for x in (transitions, start,
                                                                          end)))
        (grad,) = torch.autograd.grad(logz.sum(), em)
    real = _steps(lengths, emissions.shape[1]).unsqueeze(2)
    grad = grad.clamp(min=0) * real
    grad = grad / grad.sum(dim=2, keepdim=True).clamp(min=_TINY)
    return grad.to(emissions.dtype if emissions.is_floating_point() else torch.float32)


def viterbi_numpy(scores, lengths, transitions, start, end):
    """:func:`viterbi` in numpy, for serving an exported tagger without torch.

    Parameters
    ----------
    scores : ndarray of shape (N, L, C)
    lengths : ndarray of shape (N,)
    transitions : ndarray of shape (C, C)
    start, end : ndarray of shape (C,)
        The outputs of a tagger exported with a CRF or a tag scheme (see
        :mod:`skrnn.export`).

    Returns
    -------
    list of ndarray
        One int64 array of tag ids (into ``classes_``) per sequence.
    """
    scores = np.asarray(scores, dtype=np.float32)
    transitions = np.asarray(transitions, dtype=np.float32)
    out = []
    for row, length in zip(scores, np.asarray(lengths).tolist()):
        score = start + row[0]
        pointers = []
        for t in range(1, length):
            cand = score[:, None] + transitions
            pointers.append(cand.argmax(axis=0))
            score = cand.max(axis=0) + row[t]
        tag = int(np.argmax(score + end))
        path = [tag]
        for arg in reversed(pointers):
            tag = int(arg[tag])
            path.append(tag)
        out.append(np.array(path[::-1], dtype=np.int64))
    return out


class LinearChainCRF(nn.Module):
    """Learned transition scores over a tagger's per-step scores.

    Parameters
    ----------
    n_tags : int
    allowed, start_allowed, end_allowed : bool tensors, optional
        Valid transitions (C, C), first and last tags (C,); all True when
        None. Buffers, so they travel in the state dict.

    Attributes
    ----------
    transitions : Parameter of shape (C, C)
        [from, to], initialised to 0.
    start_transitions, end_transitions : Parameter of shape (C,)
    """

    def __init__(self, n_tags, allowed=None, start_allowed=None, end_allowed=None):
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start_transitions = nn.Parameter(torch.zeros(n_tags))
        self.end_transitions = nn.Parameter(torch.zeros(n_tags))
        ones = torch.ones(n_tags, dtype=torch.bool)
        self.register_buffer("allowed", torch.ones(n_tags, n_tags, dtype=torch.bool)
                             if allowed is None else torch.as_tensor(allowed, dtype=torch.bool))
        self.register_buffer("start_allowed", ones.clone() if start_allowed is None
                             else torch.as_tensor(start_allowed, dtype=torch.bool))
        self.register_buffer("end_allowed", ones.clone() if end_allowed is None
                             else torch.as_tensor(end_allowed, dtype=torch.bool))

    def scores(self):
        """``(transitions, start, end)`` with invalid entries at :data:`NOT_ALLOWED`."""
        return masked_scores(self.allowed, self.start_allowed, self.end_allowed,
                             self.transitions, self.start_transitions, self.end_transitions)

    def log_partition(self, emissions, lengths):
        return log_partition(emissions, lengths, *self.scores())

    def neg_log_likelihood(self, emissions, lengths, tags):
        """Per-sequence negative log-likelihood of ``tags``: (N,)."""
        return neg_log_likelihood(emissions, tags, lengths, *self.scores())

    def viterbi(self, emissions, lengths):
        return viterbi(emissions, lengths, *self.scores())

    def marginals(self, emissions, lengths):
        return marginals(emissions, lengths, *self.scores())
