"""The torch networks: input encoders, an exact recurrent stack, output heads.

Torch only: nothing here knows scikit-learn. Shapes are written with N
(batch), L (longest sequence in the batch), F (input features), E (input
size of the first recurrent layer), H (hidden size), D (1 or 2 directions),
U (distinct token forms in the batch), W (characters per form), C (classes).
"""

from __future__ import annotations

import torch
from torch import nn

from .cells import CELLS
from .crf import LinearChainCRF, masked_scores


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose CPU mask comes from ``rand_like``.

    Same distribution and scaling as ``nn.Dropout``; on CPU it is about 3x
    faster, because ``bernoulli_`` is slow there. The uniform draws become
    the scaled mask in place (``ge_``, ``mul_``), so the graph holds one
    product: forward + backward on one thread, (32, 25, 256) batch, 0.81 ms
    against 1.33 ms for ``x * (rand >= p) * scale`` and 2.7 ms for
    ``nn.Dropout``; same values as the former. On other devices the fused
    kernel is used.
    """

    def forward(self, x):
        if not self.training or self.p == 0.0 or x.device.type != "cpu":
            return super().forward(x)
        return x * torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))


def reversal_index(lengths, n, longest):
    """Flat row positions that reverse a right-padded batch within each length.

    Row ``i * L + t`` of the result reads row ``i * L + (T_i - 1 - t)`` for a
    real step ``t < T_i`` and itself for a pad: a permutation that is its
    own inverse. Computed once per batch and shared by every reversal of a
    bidirectional stack.

    Parameters
    ----------
    lengths : Tensor of int, shape (N,)
    n, longest : int
        The batch's rows ``N`` and padded length ``L``, taken from the tensor
        to reverse (``torch.export`` then needs no guard relating the sizes
        of ``lengths`` and the input).

    Returns
    -------
    Tensor of int64, shape (N * L,)
    """
    steps = torch.arange(longest, device=lengths.device)
    ends = lengths.unsqueeze(1)
    idx = torch.where(steps < ends, ends - 1 - steps, steps)  # (N, L)
    rows = torch.arange(n, device=lengths.device).unsqueeze(1) * longest
    return (idx + rows).flatten()


def _permute_steps(x, index):
    n, longest = x.shape[:2]
    return x.flatten(0, 1).index_select(0, index).unflatten(0, (n, longest))


class _ReverseSteps(torch.autograd.Function):
    """Reversal whose backward is the same reversal (the permutation is an involution).

    ``index_select``'s own backward scatters with ``index_add_``, several
    times slower on the CPU than selecting again. The ``forward(ctx, ...)``
    form, not ``setup_context``: with the latter ``apply`` binds arguments
    through ``inspect.signature`` on every call (0.13 ms, a tenth of a small
    batch's LSTM step).
    """

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(index)
        return _permute_steps(x, index)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _permute_steps(grad, index), None


def reverse_padded(x, lengths, index=None):
    """Reverse each sequence of a right-padded batch within its own length.

    Padding stays at the end, so a forward recurrence over the result reads
    every sequence backwards from its true last step and never sees a pad
    before a real step. Applying it twice gives back ``x``.

    Why ``index_select`` of whole rows rather than ``gather`` along time:
    it copies each step's feature vector as one block where ``gather`` reads
    an index per element, and the backward selects again rather than
    scattering. On one CPU thread, for (32, 25, 128) to (256, 20, 128)
    batches: forward 5-18x faster, forward and backward together 2.5-6x.

    Parameters
    ----------
    x : Tensor, shape (N, L, ...)
    lengths : Tensor of int, shape (N,)
    index : Tensor of int64, shape (N * L,), optional
        :func:`reversal_index` of ``lengths``, when already computed.
    """
    if index is None:
        index = reversal_index(lengths, *x.shape[:2])
    if x.requires_grad and torch.is_grad_enabled():
        return _ReverseSteps.apply(x, index)
    return _permute_steps(x, index)


class RecurrentStack(nn.Module):
    """``num_layers`` recurrent layers over right-padded batches, exactly.

    A real step's output never depends on padding: the forward direction
    reads right-padded input naturally; the backward direction reads each
    sequence reversed within its length (see :func:`reverse_padded`). So a
    sequence gets the same outputs alone or batched with longer ones. A
    unidirectional stack is a single fused ``cell`` call; a bidirectional one
    runs each layer's two directions separately (on CPU PyTorch runs them one
    after the other anyway).

    Parameters
    ----------
    cell : str
        A name of the cell table, :data:`skrnn.cells.CELLS`.
    input_size, hidden_size, num_layers : int
    bidirectional : bool
    dropout : float
        Dropout between recurrent layers (not after the last one).
    """

    def __init__(self, cell, input_size, hidden_size, num_layers=1, bidirectional=False,
                 dropout=0.0):
        super().__init__()
        cls = CELLS[cell].layer
        self.bidirectional = bidirectional
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.output_size = hidden_size * (2 if bidirectional else 1)
        if not bidirectional:
            self.rnn = cls(input_size, hidden_size, num_layers, batch_first=True,
                           dropout=dropout if num_layers > 1 else 0.0)
        else:
            self.forward_layers = nn.ModuleList()
            self.backward_layers = nn.ModuleList()
            for layer in range(num_layers):
                size = input_size if layer == 0 else 2 * hidden_size
                self.forward_layers.append(cls(size, hidden_size, 1, batch_first=True))
                self.backward_layers.append(cls(size, hidden_size, 1, batch_first=True))
            self.between = Dropout(dropout)

    def forward(self, x, lengths, hx=None):
        """Run the stack.

        Parameters
        ----------
        x : Tensor, shape (N, L, E)
        lengths : Tensor of int, shape (N,)
        hx : optional initial state (unidirectional only), as returned in ``h_n``.

        Returns
        -------
        output : Tensor, shape (N, L, D*H)
            Outputs at padded steps are meaningless.
        h_n : state after the last input column (unidirectional only, else None)
            Meaningful for sequences that fill the whole batch width, which
            is how a language model carries state across windows.
        """
        if not self.bidirectional:
            return self.rnn(x, hx)
        if hx is not None:
            raise ValueError("A bidirectional stack cannot carry a state across calls.")
        index = reversal_index(lengths, *x.shape[:2])
        for layer, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if layer > 0:
                x = self.between(x)
            out_f, _ = fwd(x)  # (N, L, H)
            out_b, _ = bwd(reverse_padded(x, lengths, index))  # (N, L, H), reversed time
            x = torch.cat([out_f, reverse_padded(out_b, lengths, index)], dim=-1)  # (N, L, 2H)
        return x, None

    def step_layer(self):
        """The unidirectional layer that step-by-step generation runs (all layers at once)."""
        if self.bidirectional:
            raise ValueError("Step-by-step generation needs a unidirectional recurrent stack.")
        return self.rnn


class CharCNN(nn.Module):
    """Read a word from its characters: embedding, convolution, max over time.

    Gives unseen words (names, inflections, numbers) a representation built
    from their spelling. Each distinct form in a batch is encoded once.

    Parameters
    ----------
    n_chars : int
        Character vocabulary size (id 0 is padding).
    embedding_dim : int
    n_filters : int
        Output size.
    kernel_size : int, default=3
    """

    def __init__(self, n_chars, embedding_dim, n_filters, kernel_size=3):
        super().__init__()
        self.embedding = nn.Embedding(n_chars, embedding_dim, padding_idx=0)
        self.conv = nn.Conv1d(embedding_dim, n_filters, kernel_size, padding=kernel_size // 2)
        self.output_size = n_filters

    def forward(self, chars):
        """``chars`` (U, W) int64 -> (U, n_filters)."""
        h = self.conv(self.embedding(chars).transpose(1, 2))  # (U, n_filters, W)
        h = h.masked_fill((chars == 0).unsqueeze(1), float("-inf"))
        return torch.tanh(h.amax(dim=2))  # (U, n_filters)


class PartlyFrozenEmbedding(nn.Module):
    """An embedding table some of whose rows are constants: ``nn.Embedding`` with frozen rows.

    Looked up by the same ids as ``nn.Embedding(num_embeddings,
    embedding_dim, padding_idx=0)``. The ``n_frozen`` frozen rows are the
    buffer ``frozen_weight``, the others the parameter ``trainable_weight``
    (both in id order); the bool buffer ``is_frozen`` (one flag per id) says
    which is which. Frozen rows are not parameters at all, so nothing that
    trains can change them: no gradient, optimizer step, weight decay,
    gradient clipping or data-parallel all-reduce ever sees them, and Adam
    keeps no state for them (400,000 frozen GloVe rows cost their values
    only). As buffers they travel with the state dict: saving, pickling,
    copying and export carry them unchanged.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    n_frozen : int
        Number of frozen rows, at most ``num_embeddings - 1``: row 0 is
        padding, trainable, zero and never updated (as ``nn.Embedding``'s
        ``padding_idx``). Until :meth:`set_frozen_rows` says which, the last
        ``n_frozen`` rows are frozen (and zero).
    """

    padding_idx = 0

    def __init__(self, num_embeddings, embedding_dim, n_frozen):
        super().__init__()
        if not 0 <= n_frozen < num_embeddings:
            raise ValueError(f"n_frozen must be in [0, {num_embeddings - 1}] (row 0, padding, "
                             f"stays trainable), got {n_frozen}.")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.n_frozen = n_frozen
        # nn.Embedding's initialisation: N(0, 1), the padding row zero.
        weight = torch.empty(num_embeddings - n_frozen, embedding_dim)
        nn.init.normal_(weight)
        with torch.no_grad():
            weight[self.padding_idx].zero_()
        self.trainable_weight = nn.Parameter(weight)
        self.register_buffer("frozen_weight", torch.zeros(n_frozen, embedding_dim))
        mask = torch.zeros(num_embeddings, dtype=torch.bool)
        mask[num_embeddings - n_frozen:] = True
        self.register_buffer("is_frozen", mask)
        # Each id's row within its part; follows from is_frozen (so not saved).
        self.register_buffer("position", self._positions(mask), persistent=False)

    @staticmethod
    def _positions(mask):
        return torch.where(mask, mask.cumsum(0) - 1, (~mask).cumsum(0) - 1)

    def forward(self, ids):
        """``ids`` (any shape) int64 -> embeddings of shape ``ids.shape + (embedding_dim,)``."""
        pos = self.position[ids]
        if self.n_frozen == 0:
            return nn.functional.embedding(pos, self.trainable_weight, self.padding_idx)
        frozen = self.is_frozen[ids]
        # Frozen ids read the padding row of the trainable part, which gets no gradient.
        train = nn.functional.embedding(pos.masked_fill(frozen, self.padding_idx),
                                        self.trainable_weight, self.padding_idx)
        fixed = nn.functional.embedding(pos.masked_fill(~frozen, 0), self.frozen_weight)
        return torch.where(frozen.unsqueeze(-1), fixed, train)

    @property
    def weight(self):
        """The whole table, ``(num_embeddings, embedding_dim)``, as ``nn.Embedding.weight``."""
        return self(torch.arange(self.num_embeddings, device=self.is_frozen.device))

    def set_frozen_rows(self, ids):
        """Make the rows ``ids`` (distinct, ``n_frozen`` of them, not 0) the frozen ones.

        Values are not moved: fill them with :meth:`set_rows` afterwards.
        """
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.is_frozen.device)
        mask = torch.zeros_like(self.is_frozen)
        mask[ids] = True
        self._check_mask(mask)
        with torch.no_grad():
            self.is_frozen.copy_(mask)
            self.position.copy_(self._positions(mask))

    def _check_mask(self, mask):
        n = int(mask.sum())
        if n != self.n_frozen or bool(mask[self.padding_idx]):
            raise ValueError(
                f"The frozen rows of this embedding must be {self.n_frozen} distinct rows other "
                f"than {self.padding_idx} (padding); got {n} rows"
                + (", padding among them." if bool(mask[self.padding_idx]) else "."))

    def set_rows(self, ids, values):
        """Write ``values`` (``(len(ids), embedding_dim)``) into the rows ``ids``, either part."""
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.is_frozen.device)
        values = torch.as_tensor(values).to(self.trainable_weight)
        frozen = self.is_frozen[ids]
        pos = self.position[ids]
        with torch.no_grad():
            self.frozen_weight[pos[frozen]] = values[frozen]
            self.trainable_weight[pos[~frozen]] = values[~frozen]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        n_errors = len(error_msgs)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        if len(error_msgs) == n_errors and prefix + "is_frozen" in state_dict:
            self._check_mask(self.is_frozen)  # a file may hold any mask: refuse a wrong one
            with torch.no_grad():
                self.position.copy_(self._positions(self.is_frozen))

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}, n_frozen={self.n_frozen}"


#: Embedding rows written at a time by :meth:`RecurrentEncoder.set_pretrained`
#: (bounded extra memory, whatever the number of pretrained vectors).
_PRETRAINED_CHUNK = 1 << 16


class RecurrentEncoder(nn.Module):
    """Inputs -> per-step recurrent features.

    Token ids go through an embedding (plus, optionally, a character CNN per
    token); numeric steps go straight into the first recurrent layer, whose
    input weights are the linear projection (an extra linear layer would add
    parameters and nothing else), optionally standardised first.

    Parameters
    ----------
    cell : str
        A name of the cell table, :data:`skrnn.cells.CELLS`.
    hidden_size, num_layers : int
    bidirectional : bool
    dropout : float
        Between layers (see RecurrentStack); also on the input
        representation when ``input_dropout`` is None.
    input_dropout : float or None, default=None
        Dropout on the input representation (embeddings, character
        features or numeric steps); None: ``dropout``.
    vocab_size, embedding_dim : int, optional
        For token input.
    n_chars, char_embedding_dim, char_filters : int, optional
        Character features for token input (off when ``n_chars`` is None).
    n_features : int, optional
        For numeric input.
    frozen_embeddings : int or None, default=None
        Token input only: the number of embedding rows that stay constant
        (a :class:`PartlyFrozenEmbedding`; which rows, and their values, are
        set by :meth:`set_pretrained`). None: a plain ``nn.Embedding``.
    standardize : bool, default=False
        Numeric input only: register the buffers ``input_mean`` and
        ``input_scale`` (shape ``(n_features,)``; 0 and 1 until the caller
        fills them) and feed ``(x - input_mean) / input_scale`` to the first
        layer. As buffers they travel with the state dict: saving, pickling,
        export and data-parallel training carry them unchanged.
    """

    def __init__(self, cell, hidden_size, num_layers=1, bidirectional=False, dropout=0.0, *,
                 input_dropout=None, vocab_size=None, embedding_dim=None, n_chars=None,
                 char_embedding_dim=None, char_filters=None, n_features=None,
                 standardize=False, frozen_embeddings=None):
        super().__init__()
        if (vocab_size is None) == (n_features is None):
            raise ValueError("Give exactly one of vocab_size (tokens) or n_features (numeric).")
        if frozen_embeddings is not None and vocab_size is None:
            raise ValueError("frozen_embeddings applies to token input (vocab_size) only.")
        if standardize and n_features is None:
            raise ValueError("standardize applies to numeric input (n_features) only.")
        self.standardize = bool(standardize)
        if self.standardize:
            self.register_buffer("input_mean", torch.zeros(n_features))
            self.register_buffer("input_scale", torch.ones(n_features))
        self.embedding = None
        self.char_cnn = None
        if vocab_size is not None:
            if frozen_embeddings is None:
                self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            else:
                self.embedding = PartlyFrozenEmbedding(vocab_size, embedding_dim,
                                                       frozen_embeddings)
            input_size = embedding_dim
            if n_chars is not None:
                self.char_cnn = CharCNN(n_chars, char_embedding_dim, char_filters)
                input_size += char_filters
        else:
            input_size = n_features
        self.input_dropout = Dropout(dropout if input_dropout is None else input_dropout)
        self.stack = RecurrentStack(cell, input_size, hidden_size, num_layers, bidirectional,
                                    dropout)
        self.output_size = self.stack.output_size

    def set_standardization(self, mean, scale):
        """Fill ``input_mean`` and ``input_scale`` (array-likes of shape (n_features,))."""
        if not self.standardize:
            raise ValueError("This encoder was built with standardize=False.")
        with torch.no_grad():
            for buffer, values in ((self.input_mean, mean), (self.input_scale, scale)):
                values = torch.as_tensor(values, dtype=buffer.dtype).to(buffer.device)
                if values.shape != buffer.shape:
                    raise ValueError(f"Expected shape {tuple(buffer.shape)}, got "
                                     f"{tuple(values.shape)}.")
                buffer.copy_(values)

    def set_pretrained(self, ids, vectors, rows=None):
        """Initialise the embedding rows ``ids`` with pretrained vectors.

        Row ``ids[i]`` gets ``vectors[rows[i]]`` (``vectors[i]`` when
        ``rows`` is None). With ``frozen_embeddings`` these rows become the
        frozen ones (there must be exactly that many); the other rows keep
        their random initialisation. Written in chunks: the extra memory is
        bounded whatever the number of vectors.

        Parameters
        ----------
        ids : 1-D array-like of int
            Distinct token ids, none of them 0 (padding).
        vectors : 2-D array (numpy or torch) of shape (n, embedding_dim)
        rows : 1-D array-like of int, optional
            Which row of ``vectors`` each id gets.
        """
        if self.embedding is None:
            raise ValueError("Pretrained vectors need token input (an embedding).")
        ids = torch.as_tensor(ids, dtype=torch.long)
        if vectors.shape[-1] != self.embedding.embedding_dim:
            raise ValueError(f"The vectors have {vectors.shape[-1]} values, the embedding "
                             f"{self.embedding.embedding_dim}.")
        frozen = isinstance(self.embedding, PartlyFrozenEmbedding)
        if frozen:
            self.embedding.set_frozen_rows(ids)
        for start in range(0, len(ids), _PRETRAINED_CHUNK):
            part = slice(start, start + _PRETRAINED_CHUNK)
            values = vectors[part] if rows is None else vectors[rows[part]]
            if frozen:
                self.embedding.set_rows(ids[part], values)
            else:
                weight = self.embedding.weight
                with torch.no_grad():
                    weight[ids[part].to(weight.device)] = torch.as_tensor(values).to(weight)

    def embed(self, batch):
        """The per-step input representation, (N, L, E)."""
        if self.embedding is None:
            if self.standardize:
                # Padded steps become -mean / scale: harmless, the stack is exact on
                # right padding and pooling / the loss never read them.
                return (batch.inputs - self.input_mean) / self.input_scale
            return batch.inputs
        x = self.embedding(batch.inputs)  # (N, L, embedding_dim)
        if self.char_cnn is not None:
            words = self.char_cnn(batch.chars)  # (U, char_filters)
            # A lookup, not words[batch.char_index]: the backward of advanced
            # indexing sums with atomic adds across threads on the CPU (a
            # different float rounding every run); embedding's backward is
            # deterministic, so a seed gives the same weights at any thread count.
            x = torch.cat([x, nn.functional.embedding(batch.char_index, words)],
                          dim=-1)  # (N, L, E)
        return x

    def forward(self, batch, hx=None):
        """Return ``(output (N, L, D*H), h_n)`` for a :class:`skrnn.data.Batch`."""
        x = self.input_dropout(self.embed(batch))
        return self.stack(x, batch.lengths, hx)


class TaggingNetwork(nn.Module):
    """Encoder plus a per-step linear classifier: (N, L) inputs -> (N, L, C) scores.

    Parameters
    ----------
    encoder : RecurrentEncoder
    n_classes : int
    dropout : float, default=0.0
    crf : bool, default=False
        Add a linear-chain CRF (:class:`skrnn.crf.LinearChainCRF`): the
        scores are its emission scores, and its learned transition scores
        join them in the loss and in decoding.
    constrained : bool, default=False
        Without a CRF: keep bool buffers of the valid transitions (a tag
        scheme's, filled by :meth:`set_constraints`), so that decoding over
        the per-step log-probabilities only produces valid sequences.
    """

    def __init__(self, encoder, n_classes, dropout=0.0, *, crf=False, constrained=False):
        super().__init__()
        self.encoder = encoder
        self.dropout = Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, n_classes)
        self.crf = LinearChainCRF(n_classes) if crf else None
        self.constrained = bool(constrained) and not crf
        if self.constrained:
            self.register_buffer("allowed", torch.ones(n_classes, n_classes, dtype=torch.bool))
            self.register_buffer("start_allowed", torch.ones(n_classes, dtype=torch.bool))
            self.register_buffer("end_allowed", torch.ones(n_classes, dtype=torch.bool))

    def forward(self, batch):
        out, _ = self.encoder(batch)  # (N, L, D*H)
        return self.head(self.dropout(out))  # (N, L, C)

    def set_constraints(self, allowed, start_allowed, end_allowed):
        """Store which transitions, first and last tags are valid (bool arrays)."""
        holder = self.crf if self.crf is not None else self
        for name, value in (("allowed", allowed), ("start_allowed", start_allowed),
                            ("end_allowed", end_allowed)):
            getattr(holder, name).copy_(torch.as_tensor(value, dtype=torch.bool))

    def transition_scores(self):
        """``(transitions, start, end)`` for chain decoding, or None (tag by tag).

        The CRF's learned scores, or zeros for a constrained softmax; invalid
        entries at :data:`skrnn.crf.NOT_ALLOWED` either way.
        """
        if self.crf is not None:
            return self.crf.scores()
        if self.constrained:
            return masked_scores(self.allowed, self.start_allowed, self.end_allowed)
        return None

    def chain_emissions(self, scores):
        """What chain decoding adds up per step: the CRF's scores, else log-probabilities."""
        scores = scores.float()
        return scores if self.crf is not None else torch.log_softmax(scores, dim=-1)


class LanguageModelNetwork(nn.Module):
    """Encoder plus a next-token classifier: (N, L) ids -> (N, L, V) logits and the state.

    The encoder must be unidirectional: a language model may only read the
    past.
    """

    def __init__(self, encoder, vocab_size, dropout=0.0):
        super().__init__()
        if encoder.stack.bidirectional:
            raise ValueError("A language model's encoder must be unidirectional.")
        self.encoder = encoder
        self.dropout = Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, vocab_size)

    def forward(self, batch, hx=None):
        out, h_n = self.encoder(batch, hx)  # (N, L, H)
        return self.head(self.dropout(out)), h_n  # (N, L, V)


def pool_steps(out, lengths, pooling, bidirectional):
    """Summarise per-step outputs (N, L, D*H) into one vector per sequence (N, D*H).

    ``"last"``: the forward direction's output at the last real step and, for
    a bidirectional stack, the backward direction's output at the first step
    (the backward direction's final state); ``"mean"`` / ``"max"``: over real
    steps only. Padded steps never contribute.
    """
    n, longest, width = out.shape
    rows = torch.arange(n, device=out.device)
    if pooling == "last":
        if not bidirectional:
            return out[rows, lengths - 1]  # (N, H)
        half = width // 2
        return torch.cat([out[rows, lengths - 1, :half], out[:, 0, half:]], dim=-1)  # (N, 2H)
    mask = torch.arange(longest, device=out.device) < lengths.unsqueeze(1)  # (N, L)
    if pooling == "mean":
        total = (out * mask.unsqueeze(2)).sum(dim=1)  # (N, D*H)
        return total / lengths.unsqueeze(1).to(out.dtype)
    if pooling == "max":
        return out.masked_fill(~mask.unsqueeze(2), float("-inf")).amax(dim=1)  # (N, D*H)
    raise ValueError(f"Unknown pooling {pooling!r}; use 'last', 'mean' or 'max'.")


class PoolingNetwork(nn.Module):
    """Encoder, pooling over steps and a linear head: (N, L) inputs -> (N, n_outputs)."""

    def __init__(self, encoder, n_outputs, pooling="mean", dropout=0.0):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, n_outputs)

    def forward(self, batch):
        out, _ = self.encoder(batch)  # (N, L, D*H)
        pooled = pool_steps(out, batch.lengths, self.pooling, self.encoder.stack.bidirectional)
        return self.head(self.dropout(pooled))  # (N, n_outputs)
