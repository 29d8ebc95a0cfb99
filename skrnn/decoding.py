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

import functools

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


#: Steps whose random numbers are drawn, and whose ids are stored, in one block
#: (fewer when rows * steps would exceed _BLOCK_BUDGET).
_BLOCK_STEPS = 64
_BLOCK_BUDGET = 1 << 20

#: Off the CPU, whether every row has ended is read back every this many steps,
#: not at every step (each read waits for the device); the extra steps after
#: the last row's end are cut off again, so the output is the same.
_SYNC_EVERY = 8


def _block_size(n_rows):
    # Not cut to the steps left: a shorter call then draws the same numbers at
    # the same steps as a longer one (its output is the longer one's start).
    return max(1, min(_BLOCK_STEPS, _BLOCK_BUDGET // max(n_rows, 1)))


def _penalty(logits, banned):
    """(V,) float32 added to the logits: -inf at the ``banned`` ids, 0 elsewhere (read only)."""
    return _penalty_of(logits.shape[1], tuple(sorted(set(banned))), logits.device)


@functools.lru_cache(maxsize=64)
def _penalty_of(vocab, banned, device):
    with torch.inference_mode(False):  # kept for later calls, in any mode
        penalty = torch.zeros(vocab, dtype=torch.float32, device=device)
        if banned:
            penalty[list(banned)] = float("-inf")
    return penalty


def _check_every(device):
    return 1 if device.type == "cpu" else _SYNC_EVERY


def _trim(ids, eos_id):
    """``ids`` (N, T) cut after the step where the last row's first ``eos_id`` is."""
    if ids.shape[1] == 0 or eos_id is None:
        return ids
    ended = ids == eos_id
    if not bool(ended.any(dim=1).all()):
        return ids
    return ids[:, : int(ended.int().argmax(dim=1).max()) + 1]


def sample_steps(step, state, tokens, *, max_steps, eos_id, temperature=1.0, top_k=None,
                 banned=(), generator=None, stop_at_eos=True):
    """Draw up to ``max_steps`` tokens per row, stopping rows at ``eos_id``.

    Each draw inverts the cumulative distribution of ``softmax(logits /
    temperature)`` at a uniform number: the uniforms of 64 steps (fewer for
    many rows) are drawn at once from ``generator``. The same generator state
    gives the same tokens, a shorter ``max_steps`` the start of what a longer
    one gives, and a row never draws a token of probability 0.

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
        On the device of ``tokens``.
    stop_at_eos : bool, default=True
        False: ``eos_id`` is never drawn and every row gets exactly
        ``max_steps`` tokens (the "fixed length" way of ending a sample).

    Returns
    -------
    Tensor of int64, shape (N, n_steps)
        Drawn ids; after a row's EOS the row holds ``eos_id`` again.
    """
    n, device = tokens.shape[0], tokens.device
    banned = list(banned)
    if not stop_at_eos and eos_id is not None:
        banned.append(eos_id)
        eos_id = None
    scale = 1.0 / temperature
    # One row on the CPU: read its token back (cheap there) instead of tracking rows.
    single = n == 1 and device.type == "cpu"
    done = torch.zeros(n, dtype=torch.bool, device=device)
    every = _check_every(device)
    # On the CPU an index past the vocabulary (only NaN logits give one) raises
    # in the next step's look-up; elsewhere it would be a device-side assert.
    clamp = device.type != "cpu"
    penalty = last = None
    blocks, t, ended = [], 0, False
    while t < max_steps and not ended:
        size = _block_size(n)
        uniform = torch.rand(size, n, 1, generator=generator, device=device)  # (S, N, 1)
        ids = torch.empty(size, n, 1, dtype=torch.long, device=device)  # (S, N, 1)
        blocks.append(ids)
        for j in range(min(size, max_steps - t)):
            logits, state = step(tokens, state)
            if penalty is None:
                penalty, last = _penalty(logits, banned), logits.shape[1] - 1
            # logits / temperature with the banned ids at -inf, in float32
            z = logits + penalty if scale == 1.0 else torch.add(penalty, logits, alpha=scale)
            if top_k is not None and top_k <= last:
                kth = torch.topk(z, top_k, dim=1).values[:, -1:]  # (N, 1)
                z = z.masked_fill(z < kth, float("-inf"))
            cdf = torch.softmax(z, dim=1).cumsum_(dim=1)  # (N, V)
            # The first id whose cumulative probability exceeds u * total (u < 1):
            # never one of probability 0 (its cdf equals its predecessor's), never
            # past the last (u * total < total in float rounding).
            out = ids[j]
            torch.searchsorted(cdf, cdf[:, -1:] * uniform[j], right=True, out=out)
            if clamp:
                out.clamp_(max=last)
            tokens = out.view(n)  # (N,)
            t += 1
            if eos_id is None:
                continue
            # Rows that ended keep drawing (their draws are replaced by EOS at
            # the end); each row's draws depend on its own uniforms only.
            if single:
                if tokens.item() == eos_id:
                    ended = True
                    break
            else:
                done |= tokens == eos_id
                if t % every == 0 and bool(done.all()):
                    ended = True
                    break
    if not blocks:
        return torch.zeros(n, 0, dtype=torch.long, device=device)
    out = torch.cat(blocks)[:t].view(t, n).t()  # (N, T)
    if eos_id is None:
        return out.contiguous()
    return _trim(_after_eos(out, eos_id), eos_id).contiguous()


def _after_eos(ids, eos_id):
    """``ids`` (N, T) with everything after a row's first ``eos_id`` set to ``eos_id``."""
    return ids.masked_fill((ids == eos_id).cumsum(dim=1) > 0, eos_id)


def greedy_steps(step, state, tokens, *, max_steps, eos_id, banned=(), max_lengths=None):
    """The most likely token at every step, until EOS or ``max_steps``.

    ``max_lengths`` (N,) optionally bounds each row's output (EOS included):
    a row that reaches its bound is ended with EOS. Returns ``(ids (N, T),
    log_probs (N,))``: drawn ids (EOS-padded) and each row's summed
    log-probability of what it emitted.
    """
    n, device = tokens.shape[0], tokens.device
    done = torch.zeros(n, dtype=torch.bool, device=device)
    total = torch.zeros(n, device=device)
    # No row is forced to end before its shortest bound.
    first_forced = max_steps if max_lengths is None else int(max_lengths.min()) - 1
    every = _check_every(device)
    penalty = None
    out = []
    for t in range(max_steps):
        logits, state = step(tokens, state)
        if penalty is None:
            penalty = _penalty(logits, banned)
        logp = torch.log_softmax(logits.float() + penalty, dim=1)
        best, tokens = logp.max(dim=1)
        if t >= first_forced:
            # A row at its last allowed position emits EOS, at log-probability 0
            # (everything is put on EOS there).
            forced = max_lengths <= t + 1
            tokens = tokens.masked_fill(forced, eos_id)
            best = best.masked_fill(forced, 0.0)
        total += best.masked_fill(done, 0.0)
        tokens = tokens.masked_fill(done, eos_id)
        done |= tokens == eos_id
        out.append(tokens)
        if (t + 1) % every == 0 and bool(done.all()):
            break
    if not out:
        return torch.zeros(n, 0, dtype=torch.long, device=device), total
    return _trim(torch.stack(out, dim=1), eos_id), total


def _eos_only(logp, eos_id):
    """(V,) log-probabilities that put everything on ``eos_id``."""
    row = torch.full((logp.shape[1],), float("-inf"), dtype=logp.dtype, device=logp.device)
    row[eos_id] = 0.0
    return row


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
    first_forced = max_steps if max_lengths is None else int(max_lengths.min()) - 1
    offsets = (torch.arange(n, device=device) * k).unsqueeze(1)  # (N, 1)
    # Only the first beam of each row is live at the start: the others would
    # duplicate it.
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    finished = torch.zeros(n * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n * k, dtype=torch.long, device=device)
    penalty = eos_only = None
    parents, emitted = [], []  # per step: the hypothesis each one extends, its token
    for t in range(max_steps):
        logits, state = step(tokens, state)
        if penalty is None:
            penalty = _penalty(logits, banned)
        logp = torch.log_softmax(logits.float() + penalty, dim=1)  # (N*K, V)
        if eos_only is None:
            eos_only = _eos_only(logp, eos_id)
        # A finished hypothesis continues with EOS only, at no cost; so does one
        # at its row's bound.
        stop = finished if t < first_forced else finished | (bounds <= t + 1)
        logp = torch.where(stop.unsqueeze(1), eos_only, logp)
        vocab = logp.shape[1]
        total = (scores.view(-1, 1) + logp).view(n, k * vocab)
        scores, flat = total.topk(k, dim=1)  # (N, K)
        beam = flat // vocab  # which hypothesis each new one extends
        tokens = (flat % vocab).view(-1)
        origin = (beam + offsets).view(-1)  # (N*K,)
        state = _reorder(state, origin, shared)
        was_finished = finished[origin]
        lengths = lengths[origin] + (~was_finished).long()
        finished = was_finished | (tokens == eos_id)
        parents.append(origin)
        emitted.append(tokens)
        if bool(finished.all()):
            break
    final = scores.view(-1)
    chosen = final / lengths.clamp(min=1).to(final.dtype) if length_normalize else final
    best = chosen.view(n, k).argmax(dim=1)  # (N,)
    pick = best + offsets.view(-1)
    # Follow the chosen hypotheses back to the first step. Unfinished ones at
    # max_steps end there; anything after a row's first EOS is EOS already.
    ids = torch.zeros(n, len(emitted), dtype=torch.long, device=device)
    at = pick
    for t in range(len(emitted) - 1, -1, -1):
        ids[:, t] = emitted[t][at]
        at = parents[t][at]
    return ids, final[pick]
