"""The encoder–decoder network of :class:`skrnn.Seq2Seq`: attention, teacher forcing, one step.

Torch only. Shapes: N (batch), S (longest input), T (longest output), E
(encoder output size, D*H_enc), H (decoder hidden size), V (output
vocabulary).

The encoder is the shared :class:`~skrnn.modules.RecurrentEncoder` (any cell,
deep, bidirectional and exact on padding). Its summary of each input (the
forward direction's last real step and the backward direction's first, as
``pooling="last"``) goes through a ``tanh`` bridge to the decoder's initial
state, every layer and, for an LSTM, the cell too. The decoder is a
unidirectional layer of the cell table, read through the table's single-step
equations when decoding, so every cell decodes without code here.

Attention (``attention=``):

* ``"luong"`` (Luong et al. 2015, "general" score ``h_t W m_j``): computed
  *after* the recurrent step from its output h_t, so teacher-forced training
  is one fused recurrent call over the whole target and one batched
  product for the scores of every step against every input position; the
  attentional state ``tanh(W_c [c_t; h_t])`` feeds the output layer.
* ``"bahdanau"`` (Bahdanau et al. 2015, additive score ``v tanh(W s_{t-1} +
  U m_j)``): computed *before* the step from the previous state, its context
  is part of the step's input, so training steps through the target one
  position at a time (the cell table's step equations, with gradients).
* ``None``: no attention; the bridge from the encoder's summary is all the
  decoder knows of the input.

Padded input positions get attention weight 0.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

from . import data as _data
from .cells import CELLS
from .modules import Dropout, pool_steps
from .sampling import RecurrentStepper, cached


class Seq2SeqNetwork(nn.Module):
    """Encoder, bridge, attention and decoder; see the module docstring.

    Parameters
    ----------
    encoder : RecurrentEncoder
    vocab_size : int
        Output vocabulary (with ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``).
    embedding_dim : int
        Output-token embedding size.
    cell : str
        The decoder's cell (a name of :data:`skrnn.cells.CELLS`).
    hidden_size, num_layers : int
        The decoder's (unidirectional).
    attention : {"luong", "bahdanau"} or None
    dropout : float
        On the output embeddings, between decoder layers and before the
        output layer.
    """

    def __init__(self, encoder, vocab_size, embedding_dim, cell, hidden_size, num_layers=1,
                 attention="luong", dropout=0.0):
        super().__init__()
        if attention not in ("luong", "bahdanau", None):
            raise ValueError(f"Unknown attention {attention!r}; use 'luong', 'bahdanau' or None.")
        self.encoder = encoder
        self.attention = attention
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.cell = CELLS[cell]
        memory = encoder.output_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.dropout = Dropout(dropout)
        step_input = embedding_dim + (memory if attention == "bahdanau" else 0)
        self.decoder = self.cell.layer(step_input, hidden_size, num_layers, batch_first=True,
                                       dropout=dropout if num_layers > 1 else 0.0)
        self.bridge = nn.Linear(memory, num_layers * self.cell.n_states * hidden_size)
        if attention == "luong":
            self.score = nn.Linear(hidden_size, memory, bias=False)  # h W -> compared with m_j
        elif attention == "bahdanau":
            self.query = nn.Linear(hidden_size, hidden_size, bias=False)
            self.key = nn.Linear(memory, hidden_size)
            self.energy = nn.Linear(hidden_size, 1, bias=False)
        if attention is not None:
            self.combine = nn.Linear(memory + hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)

    # -- encoder side ------------------------------------------------------------------

    def encode(self, batch):
        """Read the inputs: ``(memory (N, S, E), mask (N, S) bool, initial decoder state)``.

        The state is the decoder layer's own ``hx`` format (see the cell table).
        """
        out, _ = self.encoder(batch)  # (N, S, E)
        summary = pool_steps(out, batch.lengths, "last", self.encoder.stack.bidirectional)
        n = out.shape[0]
        init = torch.tanh(self.bridge(summary))  # (N, layers * states * H)
        init = init.view(n, self.num_layers, self.cell.n_states, self.hidden_size)
        states = [tuple(init[:, k, j].contiguous() for j in range(self.cell.n_states))
                  for k in range(self.num_layers)]
        mask = torch.arange(out.shape[1], device=out.device) < batch.lengths.unsqueeze(1)
        return out, mask, self.cell.join(states)

    def keys(self, memory):
        """What attention compares a query with: precomputed once per input."""
        if self.attention == "bahdanau":
            return self.key(memory)  # (N, S, H)
        if self.attention == "luong":
            # score(h) . m_j = h . (m_j W), W the score's (E, H) weight: applied once to
            # the memory rather than to the query at every step (and shared by a row's
            # beams).
            return torch.matmul(memory, self.score.weight)  # (N, S, H)
        return memory

    # -- attention -------------------------------------------------------------------

    def _attend(self, query, memory, keys, mask):
        """Weights (N, T, S) and contexts (N, T, E) for queries (N, T, H)."""
        if self.attention == "luong":
            scores = torch.bmm(query, keys.transpose(1, 2))  # (N, T, S): h W m_j
        else:
            # (N, T, 1, H) + (N, 1, S, H) -> (N, T, S)
            scores = self.energy(torch.tanh(self.query(query).unsqueeze(2)
                                            + keys.unsqueeze(1))).squeeze(3)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=2)
        return weights, torch.bmm(weights, memory)

    def _output(self, h, context):
        """Logits from decoder outputs (N, T, H) and contexts (N, T, E) (or None)."""
        if context is not None:
            h = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))
        return self.head(self.dropout(h))

    # -- teacher forcing ---------------------------------------------------------------

    def forward(self, batch, targets_in, return_attention=False):
        """Teacher-forced logits (N, T, V) for decoder inputs ``targets_in`` (N, T).

        ``targets_in`` starts with ``<bos>`` and holds the true previous
        token at every step. With ``return_attention`` also the weights (N, T, S)
        (None without attention).
        """
        memory, mask, state = self.encode(batch)
        keys = self.keys(memory)
        emb = self.dropout(self.embedding(targets_in))  # (N, T, emb)
        weights = None
        if self.attention == "bahdanau":
            h_all, w_all, c_all = [], [], []
            states = self.cell.split(state)
            step_weights = [self.cell.step_weights(self.decoder, k, detach=False)
                            for k in range(self.num_layers)]
            for t in range(targets_in.shape[1]):
                w_t, ctx = self._attend(states[-1][0].unsqueeze(1), memory, keys, mask)
                x = torch.cat([emb[:, t], ctx.squeeze(1)], dim=-1)
                states = self._step_layers(x, states, step_weights)
                h_all.append(states[-1][0])
                w_all.append(w_t.squeeze(1))
                c_all.append(ctx.squeeze(1))
            h = torch.stack(h_all, dim=1)  # (N, T, H)
            weights = torch.stack(w_all, dim=1)  # (N, T, S)
            context = torch.stack(c_all, dim=1)  # (N, T, E), as each step computed it
        else:
            h, _ = self.decoder(emb, state)  # one fused call over the whole target
            context = None
            if self.attention == "luong":
                weights, context = self._attend(h, memory, keys, mask)
        logits = self._output(h, context)
        return (logits, weights) if return_attention else logits

    def _step_layers(self, x, states, step_weights):
        """One decoder step through every layer (the cell table's equations)."""
        new = []
        for k, (state, w) in enumerate(zip(states, step_weights)):
            if k > 0:
                x = self.dropout(x)
            gx = torch.addmm(w["b_ih"], x, w["w_ih_t"])
            s = self.cell.step(gx, state, w)
            new.append(s)
            x = s[0]
        return new

    # -- decoding ------------------------------------------------------------------------

    def decoder_start(self, batch):
        """The decoding state of a batch: memory, keys, mask and per-layer decoder states."""
        memory, mask, state = self.encode(batch)
        return {"memory": memory, "keys": self.keys(memory), "mask": mask,
                "states": self.cell.split(state)}

    def stepper(self):
        """``step(tokens, state) -> (logits, state)`` for :mod:`skrnn.decoding` (no grad).

        ``state`` is :meth:`decoder_start`'s dict, which also carries the last
        attention weights (``"attention"``). The decoder runs through a
        :class:`~skrnn.sampling.RecurrentStepper` (the cell table's step
        equations, the first layer's input projection a table look-up), built
        once per version of the weights and reused by every later call
        (:func:`skrnn.sampling.cached`). Eval-mode equations: no dropout.
        """
        return cached(self, "decoder", self._build_stepper)

    def _build_stepper(self):
        bahdanau, luong = self.attention == "bahdanau", self.attention == "luong"
        decoder = RecurrentStepper(self.embedding, self.decoder,
                                   extra_input=self.encoder.output_size if bahdanau else 0)
        # The cached step must not keep the network alive (the cache is keyed
        # by it, weakly): it reaches attention and output through a proxy.
        net = weakref.proxy(self)

        def step(tokens, state):
            memory, keys, mask = state["memory"], state["keys"], state["mask"]
            states = state["states"]
            weights = ctx = None
            if bahdanau:
                weights, ctx = net._attend(states[-1][0].unsqueeze(1), memory, keys, mask)
                gx = decoder.input_gates(tokens, ctx.squeeze(1))
            else:
                gx = decoder.input_gates(tokens)
            states = decoder.advance(gx, states)
            h = states[-1][0].unsqueeze(1)  # (N, 1, H)
            if luong:
                weights, ctx = net._attend(h, memory, keys, mask)
            logits = net._output(h, ctx).squeeze(1)  # (N, V)
            new = {"memory": memory, "keys": keys, "mask": mask, "states": states}
            if weights is not None:
                new["attention"] = weights.squeeze(1)  # (N, S)
            return logits, new

        return step


# -- serving: the encoder and one decoder step as two graphs -------------------------------


class EncoderGraph(nn.Module):
    """``(inputs, lengths) -> (memory, keys, mask, states)`` for exported decoding.

    ``states`` stacks every decoder layer's state tensors: (layers * n_states, N, H),
    layer by layer (h then c for an LSTM).
    """

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, inputs, lengths):
        start = self.network.decoder_start(_data.Batch(inputs=inputs, lengths=lengths,
                                                       index=None))
        states = torch.stack([t for layer in start["states"] for t in layer])
        return start["memory"], start["keys"], start["mask"], states


class DecoderStepGraph(nn.Module):
    """``(tokens, memory, keys, mask, states) -> (log_probs, states, attention)``: one step.

    ``log_probs`` (N, V) has the ``banned`` ids at -inf; ``attention`` (N, S)
    is zero without attention.
    """

    def __init__(self, network, banned):
        super().__init__()
        self.network = network
        mask = torch.zeros(network.head.out_features, dtype=torch.bool)
        mask[list(banned)] = True
        self.register_buffer("banned", mask)
        self.step = network.stepper()

    def forward(self, tokens, memory, keys, mask, states):
        n_states = self.network.cell.n_states
        nested = [tuple(states[k * n_states + j] for j in range(n_states))
                  for k in range(self.network.num_layers)]
        logits, new = self.step(tokens, {"memory": memory, "keys": keys, "mask": mask,
                                         "states": nested})
        log_probs = torch.log_softmax(logits.masked_fill(self.banned, float("-inf")), dim=-1)
        attention = new.get("attention")
        if attention is None:
            attention = torch.zeros_like(mask, dtype=memory.dtype)
        return log_probs, torch.stack([t for layer in new["states"] for t in layer]), attention
