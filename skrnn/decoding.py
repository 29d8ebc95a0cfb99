"""Autoregressive decoding, once for every model: sampling, greedy search, beam search.

Torch only. Each function drives a *step function* ``step(tokens, state) ->
(logits, state)``: ``tokens`` (N,) int64 are the last token of each row,
``logits`` (N, V) the scores of the next one, and ``state`` anything the
model carries (a nested tuple / list / dict of tensors whose first dimension
is the row). The language model steps its :class:`~skrnn.sampling.RecurrentStepper`;
the sequence-to-sequence model steps its decoder with attention over the
encoder's outputs, the memory riding along in ``state``. Beam search reorders
rows with :func:`select_rows`, generically over the state's structure.

Every function stops a row at ``eos_id`` (which it includes in the output)
and pads finished rows with ``eos_id``; all run on the whole batch at once,
never per row.
"""

from __future__ import annotations

import torch

#: Most tokens one generating call may produce (rows * tokens per row): it bounds
#: the memory of the drawn ids (2**27 int64 ids are 1 GiB) and of the outputs.
GENERATION_TOKEN_BUDGET = 1 << 27


def select_rows(state, index):
    """``state`` with every tensor's first dimension indexed by ``index`` (any nesting)."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {k: select_rows(v, index) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(select_rows(v, index) for v in state)
    return state  # constants (None, ints) travel unchanged


def _reorder(state, index, shared):
    """:func:`select_rows`, leaving the ``shared`` keys of a dict state as they are."""
    if not shared or not isinstance(state, dict):
        return select_rows(state, index)
    return {k: v if k in shared else select_rows(v, index) for k, v in state.items()}


def _mask_logits(logits, banned):
    if banned:
        logits[:, list(banned)] = float("-inf")
    return logits


def sample_steps(step, state, tokens, *, max_steps, eos_id, temperature=1.0, top_k=None,
                 banned=(), generator=None, stop_at_eos=True):
    """Draw up to ``max_steps`` tokens per row, stopping rows at ``eos_id``.

    Parameters
    ----------
    step : callable
        ``step(tokens, state) -> (logits (N, V), state)``.
    state : the model's state for the first step
    tokens : Tensor of int64, shape (N,)
        The last token read by every row (BOS, or the prefix's last token).
    max_steps : int
    eos_id : int or None
        Rows that draw it stop (it is included in their output).
    temperature : float
        Logits are divided by it: below 1 sharpens, towards 0 is greedy.
    top_k : int or None
        Sample among the k most likely tokens only.
    banned : sequence of int
        Token ids never drawn (padding, begin-of-sequence, unknown).
    generator : torch.Generator or None
    stop_at_eos : bool, default=True
        False: ``eos_id`` is never drawn and every row gets exactly
        ``max_steps`` tokens (the "fixed length" way of ending a sample).

    Returns
    -------
    Tensor of int64, shape (N, n_steps)
        Drawn ids; after a row's EOS the row holds ``eos_id`` again.
    """
    n = tokens.shape[0]
    done = torch.zeros(n, dtype=torch.bool, device=tokens.device)
    out = []
    banned = list(banned)
    if not stop_at_eos and eos_id is not None:
        banned.append(eos_id)
        eos_id = None
    for _ in range(max_steps):
        logits, state = step(tokens, state)
        logits = _mask_logits(logits, banned)
        logits = logits / temperature
        if top_k is not None and top_k < logits.shape[1]:
            kth = torch.topk(logits, top_k, dim=1).values[:, -1:]  # (N, 1)
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=1)
        tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (N,)
        if eos_id is not None:
            tokens = tokens.masked_fill(done, eos_id)
            done |= tokens == eos_id
        out.append(tokens)
        if eos_id is not None and bool(done.all()):
            break
    if not out:
        return torch.zeros(n, 0, dtype=torch.long, device=tokens.device)
    return torch.stack(out, dim=1)


def greedy_steps(step, state, tokens, *, max_steps, eos_id, banned=(), max_lengths=None):
    """The most likely token at every step, until EOS or ``max_steps``.

    ``max_lengths`` (N,) optionally bounds each row's output (EOS included):
    a row that reaches its bound is ended with EOS. Returns ``(ids (N, T),
    log_probs (N,))``: drawn ids (EOS-padded) and each row's summed
    log-probability of what it emitted.
    """
    n = tokens.shape[0]
    device = tokens.device
    done = torch.zeros(n, dtype=torch.bool, device=device)
    total = torch.zeros(n, device=device)
    out = []
    for t in range(max_steps):
        logits, state = step(tokens, state)
        logp = torch.log_softmax(_mask_logits(logits.float(), banned), dim=1)
        if max_lengths is not None:
            forced = max_lengths <= t + 1  # the last allowed position holds EOS
            logp = torch.where(forced.unsqueeze(1), _only(logp, eos_id), logp)
        best, tokens = logp.max(dim=1)
        total = total + torch.where(done, torch.zeros_like(best), best)
        tokens = tokens.masked_fill(done, eos_id)
        done |= tokens == eos_id
        out.append(tokens)
        if bool(done.all()):
            break
    if not out:
        return torch.zeros(n, 0, dtype=torch.long, device=device), total
    return torch.stack(out, dim=1), total


def _only(logp, token):
    """Log-probabilities that put everything on ``token``."""
    forced = torch.full_like(logp, float("-inf"))
    forced[:, token] = 0.0
    return forced


def beam_search(step, state, tokens, *, beam_size, max_steps, eos_id, banned=(),
                max_lengths=None, length_normalize=True, shared=()):
    """Batched beam search over every row and beam at once.

    Each row keeps ``beam_size`` hypotheses. A hypothesis that emits EOS is
    finished: it stays in the beam with its score frozen (it can only be
    "continued" by EOS at no cost), so finished and unfinished hypotheses
    compete for the same slots. The search ends when every beam of every row
    is finished or after ``max_steps``. The best hypothesis of a row is then
    chosen by its log-probability divided by its length (EOS counted) when
    ``length_normalize``, otherwise by its log-probability; without
    normalisation beam search prefers short outputs, since every token costs
    log-probability.

    Parameters
    ----------
    step : callable
        ``step(tokens, state) -> (logits, state)`` over N * beam_size rows.
    state : the state for N rows (repeated to N * beam_size here)
    tokens : Tensor of int64, shape (N,)
    beam_size : int
    max_steps : int
    eos_id : int
    banned : sequence of int
    max_lengths : Tensor of int64, shape (N,), optional
        Per-row bound on the output length (EOS included).
    length_normalize : bool, default=True
    shared : collection of str, default=()
        Keys of a dict ``state`` that are the same for every hypothesis of a
        row (an encoder's memory): repeated to N * beam_size rows once, never
        reordered (a hypothesis always extends one of its own row's).

    Returns
    -------
    ids : Tensor of int64, shape (N, T)
        The best hypothesis of each row, EOS-padded.
    log_probs : Tensor, shape (N,)
        Its summed log-probability (not normalised).
    """
    n, k = tokens.shape[0], beam_size
    device = tokens.device
    rows = torch.arange(n, device=device).repeat_interleave(k)  # (N*K,)
    state = select_rows(state, rows)
    tokens = tokens.repeat_interleave(k)
    bounds = None if max_lengths is None else max_lengths.repeat_interleave(k)
    # Only the first beam of each row is live at the start: the others would
    # duplicate it.
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    finished = torch.zeros(n * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n * k, dtype=torch.long, device=device)
    history = torch.zeros(n * k, 0, dtype=torch.long, device=device)
    for t in range(max_steps):
        logits, state = step(tokens, state)
        logp = torch.log_softmax(_mask_logits(logits.float(), banned), dim=1)  # (N*K, V)
        if bounds is not None:
            forced = bounds <= t + 1
            logp = torch.where(forced.unsqueeze(1), _only(logp, eos_id), logp)
        # A finished hypothesis continues with EOS only, at no cost.
        logp = torch.where(finished.unsqueeze(1), _only(logp, eos_id), logp)
        vocab = logp.shape[1]
        total = (scores.view(-1, 1) + logp).view(n, k * vocab)
        scores, flat = total.topk(k, dim=1)  # (N, K)
        beam = flat // vocab  # which hypothesis each new one extends
        tokens = (flat % vocab).view(-1)
        origin = (beam + torch.arange(n, device=device).unsqueeze(1) * k).view(-1)  # (N*K,)
        state = _reorder(state, origin, shared)
        was_finished = finished[origin]
        lengths = lengths[origin] + (~was_finished).long()
        finished = was_finished | (tokens == eos_id)
        history = torch.cat([history[origin], tokens.unsqueeze(1)], dim=1)
        if bool(finished.all()):
            break
    final = scores.view(-1)
    chosen = final / lengths.clamp(min=1).to(final.dtype) if length_normalize else final
    best = chosen.view(n, k).argmax(dim=1)  # (N,)
    pick = best + torch.arange(n, device=device) * k
    ids = history[pick]
    if ids.shape[1]:
        # Unfinished hypotheses at max_steps end here; anything after a row's
        # first EOS is EOS already.
        ids = ids.clone()
    return ids, final[pick]
