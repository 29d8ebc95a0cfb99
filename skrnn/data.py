"""Encode sequences as arrays, cut them into length buckets, collate batches.

Torch only (no scikit-learn). Sequences are kept as a list of small numpy
arrays; a batch is padded to its own longest member, never to the data set's.

Why bucketing and right padding rather than ``pack_padded_sequence``: on CPU
packed sequences skip oneDNN's fused RNN kernels and train 1.5-2.5x slower
(measured with plain PyTorch on 2 cores: bucketed 20.5k tok/s, packed
7.8-13.3k). Right padding is exact for a forward recurrence; the backward
direction is made exact in :class:`skrnn.modules.RecurrentStack` by
reversing each sequence within its own length.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch

#: Label id for padded steps; ``torch.nn.functional.cross_entropy`` skips it.
IGNORE_INDEX = -100

#: Longer words are read by the character encoder as their first
#: ``_WORD_HEAD`` and last ``_WORD_TAIL`` characters (prefixes and suffixes
#: carry the morphology; the middle of a 40-character URL does not).
_WORD_HEAD, _WORD_TAIL = 12, 8


@dataclass
class EncodedData:
    """A data set as lists of per-sequence arrays.

    Attributes
    ----------
    inputs : list of ndarray
        int64 ``(T_i,)`` token ids, or float32 ``(T_i, n_features)``.
    targets : list of ndarray or ndarray or None
        int64 ``(T_i,)`` per-step labels, or one target per sequence.
    forms : list of ndarray or None
        int64 ``(T_i,)`` row of each token in ``char_matrix``.
    char_matrix : ndarray or None
        int64 ``(n_forms, W)`` character ids of every distinct token form.
    """

    inputs: list
    targets: object = None
    forms: list | None = None
    char_matrix: np.ndarray | None = None

    def __post_init__(self):
        self.lengths = np.fromiter((len(s) for s in self.inputs), dtype=np.int64,
                                   count=len(self.inputs))

    def __len__(self):
        return len(self.inputs)

    @property
    def n_steps(self):
        return int(self.lengths.sum())

    def subset(self, idx):
        """The sequences at positions ``idx`` (sharing the char matrix)."""
        def pick(seqs):
            return [seqs[i] for i in idx]

        targets = self.targets
        if targets is not None:
            targets = targets[idx] if isinstance(targets, np.ndarray) else pick(targets)
        return EncodedData(
            inputs=pick(self.inputs),
            targets=targets,
            forms=None if self.forms is None else pick(self.forms),
            char_matrix=self.char_matrix,
        )


def encode_char_forms(token_seqs, char_vocab):
    """Give every distinct token a row of character ids.

    Parameters
    ----------
    token_seqs : list of list of str
    char_vocab : skrnn.vocab.Vocabulary
        Character vocabulary (unknown characters map to ``<unk>``).

    Returns
    -------
    forms : list of ndarray
        int64 ``(T_i,)``: the row of each token in ``char_matrix``.
    char_matrix : ndarray
        int64 ``(n_forms, W)``, right-padded with 0.
    """
    form_ids = {}
    forms = []
    for seq in token_seqs:
        forms.append(np.fromiter((form_ids.setdefault(t, len(form_ids)) for t in seq),
                                 dtype=np.int64, count=len(seq)))
    width = min(max((len(t) for t in form_ids), default=1), _WORD_HEAD + _WORD_TAIL) or 1
    matrix = np.zeros((len(form_ids), width), dtype=np.int64)
    for tok, row in form_ids.items():
        if len(tok) > width:
            tok = tok[:_WORD_HEAD] + tok[-_WORD_TAIL:]
        ids = char_vocab.encode(tok)
        matrix[row, : len(ids)] = ids
    return forms, matrix


def _per_row(default=None):
    """A :class:`Batch` field with one entry per row: selecting rows selects its rows."""
    return field(default=default, metadata={"per_row": True})


@dataclass
class Batch:
    """One padded batch, already on the target device.

    Shapes use N (batch), L (longest sequence in the batch), F (features),
    U (distinct token forms in the batch), W (characters per form). Fields
    made with ``_per_row`` have N first (see :func:`select_rows`); a new
    per-row field is declared that way and nothing else changes.
    """

    inputs: torch.Tensor = _per_row()  # (N, L) int64 or (N, L, F) float32
    lengths: torch.Tensor = _per_row()  # (N,) int64, on the device
    index: np.ndarray = _per_row()  # (N,) positions of the sequences in the data set
    # (N, L) int64 padded with IGNORE_INDEX, (N, ...) per sequence, or (N, T + 2)
    # <bos> output <eos> (sequence to sequence)
    targets: torch.Tensor | None = _per_row()
    chars: torch.Tensor | None = None  # (U, W) int64, shared by the rows
    char_index: torch.Tensor | None = _per_row()  # (N, L) int64 rows of `chars`
    stateful: bool = False  # a window of a long stream whose state is carried (LM)
    carry: bool = False  # stateful only: continue from the previous window's final state

    @property
    def n_steps(self):
        return int(self.lengths.sum())


def bucket_batches(lengths, batch_size, rng=None):
    """Cut sequence positions into batches of similar length.

    Parameters
    ----------
    lengths : ndarray of int, shape (n,)
    batch_size : int
    rng : numpy.random.RandomState or None
        When given (training), sequences of equal length are shuffled among
        themselves and the batch order is shuffled, so every epoch sees new
        batches; when None (inference) the order is fixed.

    Returns
    -------
    list of ndarray
        Positions of each batch's sequences.
    """
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = np.lexsort((rng.random_sample(len(lengths)), lengths))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def inference_batches(lengths, max_rows, *, min_rows=32, max_padding=0.05, max_steps=1 << 15):
    """Cut sequence positions into length-sorted batches that waste little on padding.

    For prediction and scoring (no gradients kept, fixed order). Sequences
    are sorted by length (stable) and each batch grows along that order while

    - it has at most ``max_rows`` rows and its padded size (rows x
      longest) stays within ``max_steps`` (a single longer sequence is a
      batch of its own), and
    - beyond ``min_rows`` rows, its padding stays within ``max_padding`` of
      its real steps;

    then each batch but the last is cut down to the largest of ``max_rows``,
    ``max_rows // 2``, ``max_rows // 4``, ... rows that it holds. So short
    sequences run in large batches (fewer calls), long ones in small ones,
    the recurrent layers compute at most ~5% padded steps (fixed batches of
    256 Brown test sentences pad 11%, of 370 Japanese Vowels utterances
    35%), and batch shapes repeat from call to call: on CPU, oneDNN keeps
    every RNN primitive it has created (up to 1024), with its memory, one
    per (rows, steps) shape; with free row counts, a process predicting new
    data kept ~1.6 MB more per distinct shape (LSTM 256, 40 steps).

    Parameters
    ----------
    lengths : ndarray of int, shape (n,)
    max_rows, min_rows, max_steps : int
    max_padding : float

    Returns
    -------
    list of ndarray
        Positions of each batch's sequences, batches in increasing length.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    ends = np.concatenate([[0], np.cumsum(sorted_lengths)])  # real steps before each position
    n, batches, start = len(order), [], 0
    ladder = [int(max_rows) >> k for k in range(int(max_rows).bit_length())]  # max_rows, ..., 1
    while start < n:
        stop = np.arange(start + 1, min(n, start + max_rows) + 1)  # candidate batch ends
        rows = stop - start
        padded = rows * sorted_lengths[stop - 1]
        fits = (padded <= max_steps) & (
            (rows <= min_rows) | (padded <= (1 + max_padding) * (ends[stop] - ends[start])))
        fits[0] = True  # one sequence always makes a batch
        bad = np.flatnonzero(~fits)
        end = int(stop[bad[0] - 1] if bad.size else stop[-1])
        if end < n:
            # Row counts from a short ladder (max_rows, max_rows // 2, ...), so
            # that batch shapes repeat: oneDNN keeps a primitive, with its
            # memory, for every (rows, steps) shape it has run (up to 1024).
            end = start + max(size for size in ladder if size <= end - start)
        batches.append(order[start:end])
        start = end
    return batches


def _pad(arrays, fill, dtype):
    n, longest = len(arrays), max(len(a) for a in arrays)
    out = np.full((n, longest) + arrays[0].shape[1:], fill, dtype=dtype)
    for row, a in enumerate(arrays):
        out[row, : len(a)] = a
    return out


def collate(data, idx, device, *, unk_id=None, unk_rate=None, rng=None):
    """Pad the sequences ``idx`` of ``data`` into one :class:`Batch` on ``device``.

    Parameters
    ----------
    data : EncodedData
    idx : ndarray of int
    device : torch.device
    unk_id : int, optional
        With ``unk_rate`` and ``rng``: the id that replaces rare tokens.
    unk_rate : ndarray of float, optional
        Per-token-id probability of being replaced by ``unk_id`` (training
        only), so the ``<unk>`` embedding learns from real contexts.
    rng : numpy.random.RandomState, optional
    """
    seqs = [data.inputs[i] for i in idx]
    if seqs[0].ndim == 2:
        inputs = torch.from_numpy(_pad(seqs, 0.0, np.float32))
    else:
        padded = _pad(seqs, 0, np.int64)
        if unk_rate is not None and rng is not None:
            drop = rng.random_sample(padded.shape) < unk_rate[padded]
            padded[drop] = unk_id
        inputs = torch.from_numpy(padded)
    lengths = torch.from_numpy(data.lengths[idx].copy())
    batch = Batch(inputs=inputs.to(device), lengths=lengths.to(device), index=np.asarray(idx))
    if data.targets is not None:
        if isinstance(data.targets, np.ndarray):
            tgt = torch.from_numpy(np.ascontiguousarray(data.targets[idx]))
        else:
            tgt = torch.from_numpy(_pad([data.targets[i] for i in idx], IGNORE_INDEX, np.int64))
        batch.targets = tgt.to(device)
    if data.forms is not None:
        forms = _pad([data.forms[i] for i in idx], 0, np.int64)
        present, char_index = np.unique(forms, return_inverse=True)
        chars = data.char_matrix[present]
        # Trim the character width to the longest form in this batch.
        width = max(int((chars != 0).sum(1).max()), 1)
        batch.chars = torch.from_numpy(np.ascontiguousarray(chars[:, :width])).to(device)
        batch.char_index = torch.from_numpy(char_index.reshape(forms.shape)).to(device)
    return batch


def select_rows(batch, rows):
    """The rows ``rows`` of a :class:`Batch`: every per-row field indexed, the rest shared."""
    idx = torch.as_tensor(rows, dtype=torch.long, device=batch.lengths.device)
    picked = {}
    for f in fields(batch):
        value = getattr(batch, f.name)
        if not f.metadata.get("per_row") or value is None:
            continue
        picked[f.name] = (value.index_select(0, idx) if isinstance(value, torch.Tensor)
                          else np.asarray(value)[np.asarray(rows)])
    return replace(batch, **picked)
