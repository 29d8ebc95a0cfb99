"""A linear-chain CRF on right-padded batches: likelihood, Viterbi and marginals.

Torch only (plus a numpy Viterbi for serving). Shapes: ``emissions`` (N, L, C)
per-step scores, ``lengths`` (N,) int64 with every length at least 1 (steps
at or beyond a row's length are padding and never influence anything),
``transitions`` (C, C) indexed [from, to], ``start`` and ``end`` (C,).

A tag path ``y`` of a sequence of length ``T`` scores::

    start[y_0] + sum_{t<T} emissions[t, y_t] + sum_{0<t<T} transitions[y_{t-1}, y_t]
    + end[y_{T-1}]

and has probability ``exp(score - log_partition)``. Every recursion runs
over time with one batched operation per step for all sequences (no
per-sentence Python loop).

Invalid moves (a tag scheme's, :mod:`skrnn.tag_schemes`) are scored
:data:`NOT_ALLOWED` by :func:`masked_scores`. It is finite, so neither
``logsumexp`` nor its gradient can produce NaN (``-inf - -inf`` would), and
so negative that ``exp(NOT_ALLOWED)`` is exactly 0 in float32 and float64:
invalid paths add nothing to the partition function (nor to the
marginals), and Viterbi never picks one while a valid path exists (unless
emission scores differ by more than 1e4).

Precision: the emissions are cast up to float32 at least (bfloat16 and
float16 emissions are accepted); results are float64 for float64
emissions, float32 otherwise. The forward algorithm itself runs in float64
(float32 on MPS, which has no float64); see :func:`log_partition` for why.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: The score of an invalid transition, first or last tag.
NOT_ALLOWED = -1e4


def _out_dtype(emissions):
    """The dtype of results: float64 for float64 emissions, else float32 (bf16 cast up)."""
    return torch.float64 if emissions.dtype == torch.float64 else torch.float32


def _work_dtype(device):
    """The dtype of the forward algorithm: float64 wherever the device has it."""
    return torch.float32 if device.type == "mps" else torch.float64


def _lengths(lengths, emissions):
    return torch.as_tensor(lengths, dtype=torch.int64, device=emissions.device)


def _steps(lengths, longest):
    """(N, L) bool: which steps are real."""
    return torch.arange(longest, device=lengths.device) < lengths.unsqueeze(1)


def masked_scores(allowed, start_allowed, end_allowed, transitions=None, start=None, end=None):
    """Transition, start and end scores with the invalid entries at :data:`NOT_ALLOWED`.

    Parameters
    ----------
    allowed : bool tensor or ndarray of shape (C, C)
        Valid transitions, [from, to].
    start_allowed, end_allowed : bool tensor or ndarray of shape (C,)
        Valid first and last tags.
    transitions : tensor of shape (C, C), optional
    start, end : tensor of shape (C,), optional
        The scores; None means zeros (constrained decoding of a tagger
        without a learned CRF).

    Returns
    -------
    T : tensor of shape (C, C)
    s, e : tensor of shape (C,)
        The scores where allowed, :data:`NOT_ALLOWED` elsewhere. Made with
        ``torch.where``, so the masked entries get exactly zero gradient.
    """
    def fill(mask, scores):
        device = scores.device if scores is not None else getattr(mask, "device", None)
        mask = torch.as_tensor(mask, dtype=torch.bool, device=device)
        if scores is None:
            scores = torch.zeros(mask.shape, device=mask.device)
        return torch.where(mask, scores, torch.full_like(scores, NOT_ALLOWED))

    return (fill(allowed, transitions), fill(start_allowed, start), fill(end_allowed, end))


def _forward(emissions, lengths, transitions, start, end):
    """log Z (N,) in the dtype of the inputs (see :func:`log_partition`)."""
    real = _steps(lengths, emissions.shape[1])
    # Shifted by the largest score so that every factor lies in [0, 1] (no
    # overflow for large learned scores); exactly 0 where a move is invalid, as
    # exp(NOT_ALLOWED) underflows. The shift cancels: no gradient needed.
    shift = transitions.detach().max()
    exp_t = (transitions - shift).exp()
    # The smallest positive normal number: log(tiny) is about -708 in float64.
    tiny = torch.finfo(emissions.dtype).tiny
    alpha = start + emissions[:, 0]  # (N, C)
    for t in range(1, emissions.shape[1]):
        m = alpha.max(dim=1, keepdim=True).values
        # Both factors lie in [0, 1], so the product cannot overflow. A tag that no
        # path reaches sums to exactly 0: clamped before the log so that it becomes
        # about m - 708 (float64), not -inf (whose gradient is NaN); the clamped
        # entry gets no gradient.
        nxt = torch.log(((alpha - m).exp() @ exp_t).clamp(min=tiny)) + (m + shift)
        nxt = nxt + emissions[:, t]
        alpha = torch.where(real[:, t:t + 1], nxt, alpha)  # finished rows keep their alpha
    return torch.logsumexp(alpha + end, dim=1)


def log_partition(emissions, lengths, transitions, start, end):
    """The log-partition function: log of the sum of exp(score) over all tag paths.

    Parameters
    ----------
    emissions : tensor of shape (N, L, C)
    lengths : int64 tensor of shape (N,)
        Every length at least 1 and at most L.
    transitions : tensor of shape (C, C)
    start, end : tensor of shape (C,)
        Usually from :func:`masked_scores`.

    Returns
    -------
    tensor of shape (N,)
        float64 for float64 emissions, else float32. Differentiable.

    Notes
    -----
    The forward algorithm in the scaled exp space, one (N, C) x (C, C)
    product per step: ``alpha_t = log(exp(alpha_{t-1} - m) @ exp(T)) + m +
    emissions_t`` with ``m`` each row's maximum. Measured forward + backward
    on one CPU thread (N=32, L=30, 40% of the moves invalid) it takes 2.7 ms
    for C=9 and 3.0 ms for C=17, against 2.9 ms and 5.8 ms for a
    ``logsumexp`` over (N, C, C) per step (in float32).

    It runs in float64 (float32 on MPS): with a single scale per row, a tag
    whose alpha lies more than ~87 below the row's maximum underflows in
    float32, and if a later emission favours the tags only it reaches by as
    much, float32 overestimates log Z (by 22 for a swing of 110). In float64
    the margin is ~708, far beyond any emission scores, for 8-17% more time
    than the same recursion in float32 (2.4 ms and 2.6 ms).
    """
    work = _work_dtype(emissions.device)
    chain = (x.to(work) for x in (transitions, start, end))
    logz = _forward(emissions.to(work), _lengths(lengths, emissions), *chain)
    return logz.to(_out_dtype(emissions))


def _path_score(emissions, tags, lengths, transitions, start, end):
    real = _steps(lengths, emissions.shape[1])
    tags = torch.where(real, tags, torch.zeros_like(tags))  # padding: any value, made valid
    emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (N, L)
    moves = transitions[tags[:, :-1], tags[:, 1:]]  # (N, L - 1)
    last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
    # where, not a product with the mask: NaN or inf padding must not leak in.
    zero = emit.new_zeros(())
    return (start[tags[:, 0]] + torch.where(real, emit, zero).sum(1)
            + torch.where(real[:, 1:], moves, zero).sum(1) + end[last])


def path_score(emissions, tags, lengths, transitions, start, end):
    """The scores of the tag paths ``tags``.

    Parameters
    ----------
    emissions : tensor of shape (N, L, C)
    tags : int64 tensor of shape (N, L)
        Tag ids; the values at padded steps are ignored (any value).
    lengths : int64 tensor of shape (N,)
    transitions : tensor of shape (C, C)
    start, end : tensor of shape (C,)

    Returns
    -------
    tensor of shape (N,)
        float64 for float64 emissions, else float32. A path with an invalid
        move scores about :data:`NOT_ALLOWED` per invalid move.
    """
    dtype = _out_dtype(emissions)
    tags = torch.as_tensor(tags, dtype=torch.int64, device=emissions.device)
    return _path_score(emissions.to(dtype), tags, _lengths(lengths, emissions),
                       *(x.to(dtype) for x in (transitions, start, end)))


def neg_log_likelihood(emissions, tags, lengths, transitions, start, end):
    """Each sequence's negative log-likelihood of ``tags``: log Z minus the path's score.

    Parameters
    ----------
    emissions : tensor of shape (N, L, C)
    tags : int64 tensor of shape (N, L)
        The gold tags (values at padded steps ignored).
    lengths : int64 tensor of shape (N,)
    transitions : tensor of shape (C, C)
    start, end : tensor of shape (C,)

    Returns
    -------
    tensor of shape (N,)
        Non-negative (up to rounding), differentiable; float64 for float64
        emissions, else float32. Both terms are computed in the precision
        of the forward algorithm before they are subtracted (they are large
        and close for long sequences).
    """
    work = _work_dtype(emissions.device)
    lengths = _lengths(lengths, emissions)
    tags = torch.as_tensor(tags, dtype=torch.int64, device=emissions.device)
    em = emissions.to(work)
    chain = [x.to(work) for x in (transitions, start, end)]
    nll = _forward(em, lengths, *chain) - _path_score(em, tags, lengths, *chain)
    return nll.to(_out_dtype(emissions))


def viterbi(emissions, lengths, transitions, start, end):
    """The best tag path of every sequence.

    Parameters
    ----------
    emissions : tensor of shape (N, L, C)
    lengths : int64 tensor of shape (N,)
    transitions : tensor of shape (C, C)
    start, end : tensor of shape (C,)

    Returns
    -------
    int64 tensor of shape (N, L)
        The tag ids of the highest-scoring path; 0 at padded steps.

    Notes
    -----
    Max-plus in float32 (float64 for float64 emissions) and a backtrace
    over time, both batched over the sequences. Rows run longest first, so
    at each step the sequences still running are a prefix of the batch and
    padded steps cost nothing. The forward pass keeps only the best score of
    each (step, tag), reduced over the contiguous axis (``amax``); the
    backtrace recomputes, for the one chosen tag per row, which predecessor
    gave it (an (N, C) ``argmax`` per step instead of storing (N, C)
    backpointers from an (N, C, C) ``max`` with indices: 1.3-3x faster on
    CPU). Ties go to the lowest tag id, resolved from the end: the last tag
    is the lowest-id best one, and each step points to the lowest-id best
    predecessor (``argmax`` returns the first maximum, over the same sums
    ``score[from] + transitions[from, to]`` as the forward pass). So with
    all scores equal the path is all 0s. :func:`viterbi_numpy` computes the
    same scores with the same tie rule and returns the same paths.
    """
    dtype = _out_dtype(emissions)
    emissions = emissions.detach().to(dtype)
    transitions, start, end = (x.detach().to(dtype) for x in (transitions, start, end))
    lengths = _lengths(lengths, emissions)
    n, longest, c = emissions.shape
    device = emissions.device
    order = torch.argsort(lengths, descending=True, stable=True)
    lens = lengths.index_select(0, order).clamp(min=1)
    em = emissions.index_select(0, order).transpose(0, 1).contiguous()  # (L, N, C)
    # running[t]: how many (sorted) rows have a step t.
    running = (lens > torch.arange(longest, device=device).unsqueeze(1)).sum(1).tolist()
    into = transitions.t().contiguous()  # [to, from]
    score = torch.empty_like(em)  # (L, N, C) best score of a path ending in each tag
    torch.add(start, em[0], out=score[0])
    for t in range(1, longest):
        k = running[t]
        best = (score[t - 1, :k].unsqueeze(1) + into).amax(dim=2)  # (k, C) over the previous tag
        torch.add(best, em[t, :k], out=score[t, :k])
    rows = torch.arange(n, device=device)
    tag = (score[lens - 1, rows] + end).argmax(dim=1)  # (N,) each row's last tag
    path = torch.zeros(n, longest, dtype=torch.int64, device=device)
    path[rows, lens - 1] = tag
    for t in range(longest - 1, 0, -1):
        k = running[t]
        prev = (score[t - 1, :k] + into[tag[:k]]).argmax(dim=1)  # the best predecessor
        tag[:k] = prev
        path[:k, t - 1] = prev
    out = torch.empty_like(path)
    out[order] = path
    return torch.where(_steps(lengths, longest), out, torch.zeros_like(out))


def marginals(emissions, lengths, transitions, start, end):
    """Posterior marginals P(tag at step t | sequence).

    Parameters
    ----------
    emissions : tensor of shape (N, L, C)
    lengths : int64 tensor of shape (N,)
    transitions : tensor of shape (C, C)
    start, end : tensor of shape (C,)

    Returns
    -------
    tensor of shape (N, L, C)
        Rows summing to 1 at real steps, 0 at padded steps; float64 for
        float64 emissions, else float32. Not differentiable.

    Notes
    -----
    The gradient of the log-partition with respect to the emissions is
    exactly the forward-backward marginals; it is computed with autograd
    under ``torch.enable_grad()`` (and outside inference mode), so this
    works inside ``torch.no_grad()`` and ``torch.inference_mode()`` too.
    Each row is divided by its sum, which removes the rounding left (over
    thousands of steps a float32 log Z left rows summing to 1 - 1e-4).
    """
    work = _work_dtype(emissions.device)
    lengths = _lengths(lengths, emissions)
    # Clones: tensors made in inference mode may not enter an autograd graph.
    with torch.inference_mode(False), torch.enable_grad():
        em = emissions.detach().to(work).clone().requires_grad_(True)
        chain = [x.detach().to(work).clone() for x in (transitions, start, end)]
        logz = _forward(em, lengths.clone(), *chain)
        (grad,) = torch.autograd.grad(logz.sum(), em)
    real = _steps(lengths, emissions.shape[1]).unsqueeze(2)
    # clamp: rounding may leave -1e-17 where it is 0; where: padding is 0 whatever it holds.
    grad = torch.where(real, grad.clamp(min=0), grad.new_zeros(()))
    grad = grad / grad.sum(dim=2, keepdim=True).clamp(min=torch.finfo(grad.dtype).tiny)
    return grad.to(_out_dtype(emissions))


def viterbi_numpy(scores, lengths, transitions, start, end):
    """:func:`viterbi` in numpy, for serving an exported tagger without torch.

    Parameters
    ----------
    scores : ndarray of shape (N, L, C)
        Emission scores (the values at padded steps are ignored).
    lengths : ndarray of int, shape (N,)
        Each between 1 and L (a length of 0 gives an empty path).
    transitions : ndarray of shape (C, C)
    start, end : ndarray of shape (C,)
        Masked scores (invalid entries at :data:`NOT_ALLOWED`), e.g. the
        outputs of a tagger exported with a CRF or a tag scheme (see
        :mod:`skrnn.export`).

    Returns
    -------
    list of ndarray
        One int64 array of tag ids (into ``classes_``) per sequence, of its
        length; equal to :func:`viterbi` on the same inputs (same dtype
        rule: float64 for float64 scores, else float32; same tie rule).
    """
    scores = np.asarray(scores)
    dtype = np.float64 if scores.dtype == np.float64 else np.float32
    scores = scores.astype(dtype, copy=False)
    transitions, start, end = (np.asarray(x, dtype=dtype) for x in (transitions, start, end))
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    n, longest, c = scores.shape
    if lengths.shape != (n,) or (n and (lengths.min() < 0 or lengths.max() > longest)):
        raise ValueError(f"lengths must be {n} values between 1 and {longest}.")
    if longest == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n)]
    # As viterbi: rows longest first, best scores only, predecessors found
    # again in the backtrace.
    order = np.argsort(-lengths, kind="stable")
    lens = np.maximum(lengths[order], 1)
    em = np.ascontiguousarray(scores[order].transpose(1, 0, 2))  # (L, N, C)
    running = (lens > np.arange(longest)[:, None]).sum(1).tolist()
    into = np.ascontiguousarray(transitions.T)  # [to, from]
    score = np.empty_like(em)
    np.add(start, em[0], out=score[0])
    for t in range(1, longest):
        k = running[t]
        best = (score[t - 1, :k, None, :] + into).max(axis=2)  # (k, C) over the previous tag
        np.add(best, em[t, :k], out=score[t, :k])
    rows = np.arange(n)
    tag = (score[lens - 1, rows] + end).argmax(axis=1)
    path = np.zeros((n, longest), dtype=np.int64)
    path[rows, lens - 1] = tag
    for t in range(longest - 1, 0, -1):
        k = running[t]
        prev = (score[t - 1, :k] + into[tag[:k]]).argmax(axis=1)
        tag[:k] = prev
        path[:k, t - 1] = prev
    out = np.empty_like(path)
    out[order] = path
    return [out[i, :length].copy() for i, length in enumerate(lengths.tolist())]


class LinearChainCRF(nn.Module):
    """Learned transition scores over a tagger's per-step (emission) scores.

    Parameters
    ----------
    n_tags : int
        The number of tags C.
    allowed : bool tensor or ndarray of shape (C, C), optional
        Valid transitions [from, to]; all True when None.
    start_allowed, end_allowed : bool tensor or ndarray of shape (C,), optional
        Valid first and last tags; all True when None.

    Attributes
    ----------
    transitions : Parameter of shape (C, C)
        [from, to], initialised to 0.
    start_transitions, end_transitions : Parameter of shape (C,)
        Initialised to 0.
    allowed, start_allowed, end_allowed : bool buffers
        The constraints; buffers, so that they travel in the state dict.

    Notes
    -----
    The methods take ``(emissions, lengths[, tags])`` and delegate to the
    module's functions with :meth:`scores`. Emissions in bfloat16 or
    float16 are cast up (see the module docstring).
    """

    def __init__(self, n_tags, allowed=None, start_allowed=None, end_allowed=None):
        super().__init__()
        self.n_tags = int(n_tags)
        c = self.n_tags
        self.transitions = nn.Parameter(torch.zeros(c, c))
        self.start_transitions = nn.Parameter(torch.zeros(c))
        self.end_transitions = nn.Parameter(torch.zeros(c))
        for name, mask, shape in (("allowed", allowed, (c, c)),
                                  ("start_allowed", start_allowed, (c,)),
                                  ("end_allowed", end_allowed, (c,))):
            mask = (torch.ones(shape, dtype=torch.bool) if mask is None
                    else torch.as_tensor(mask, dtype=torch.bool).clone())
            if tuple(mask.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(mask.shape)}.")
            self.register_buffer(name, mask)

    def extra_repr(self):
        return f"n_tags={self.n_tags}"

    def scores(self):
        """The masked scores, invalid entries at :data:`NOT_ALLOWED`.

        Returns
        -------
        T : tensor of shape (C, C)
        s, e : tensor of shape (C,)
            :func:`masked_scores` of the parameters and the buffers.
        """
        return masked_scores(self.allowed, self.start_allowed, self.end_allowed,
                             self.transitions, self.start_transitions, self.end_transitions)

    def log_partition(self, emissions, lengths):
        """:func:`log_partition` with this CRF's scores.

        Parameters
        ----------
        emissions : tensor of shape (N, L, C)
        lengths : int64 tensor of shape (N,)

        Returns
        -------
        tensor of shape (N,)
        """
        return log_partition(emissions, lengths, *self.scores())

    def neg_log_likelihood(self, emissions, lengths, tags):
        """:func:`neg_log_likelihood` of ``tags`` with this CRF's scores.

        Parameters
        ----------
        emissions : tensor of shape (N, L, C)
        lengths : int64 tensor of shape (N,)
        tags : int64 tensor of shape (N, L)
            Values at padded steps are ignored.

        Returns
        -------
        tensor of shape (N,)
            Per sequence; the training loss is its sum or mean.
        """
        return neg_log_likelihood(emissions, tags, lengths, *self.scores())

    def viterbi(self, emissions, lengths):
        """:func:`viterbi` with this CRF's scores.

        Parameters
        ----------
        emissions : tensor of shape (N, L, C)
        lengths : int64 tensor of shape (N,)

        Returns
        -------
        int64 tensor of shape (N, L)
            The best paths, 0 at padded steps.
        """
        return viterbi(emissions, lengths, *self.scores())

    def marginals(self, emissions, lengths):
        """:func:`marginals` with this CRF's scores.

        Parameters
        ----------
        emissions : tensor of shape (N, L, C)
        lengths : int64 tensor of shape (N,)

        Returns
        -------
        tensor of shape (N, L, C)
            Rows summing to 1 at real steps, 0 at padded steps.
        """
        return marginals(emissions, lengths, *self.scores())
