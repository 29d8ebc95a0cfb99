"""Step-by-step generation from a trained unidirectional recurrent stack, for any cell.

Torch only. Calling a fused ``nn.LSTM`` once per generated token pays the
module's full dispatch (weight checks, oneDNN set-up) at every step;
instead :class:`RecurrentStepper` reads the weights once and runs each step
through the cell's own single-step equations (:attr:`skrnn.cells.Cell.step`,
from the cell table), so every cell of the table generates without code
here. The first layer's input projection is a table lookup: ``embedding @
W_ih.T + b`` is precomputed for every token, so a step of layer 0 is one row
gather plus the recurrent part. The state is carried from step to step; a
prefix is read once with the ordinary fused forward.
"""

from __future__ import annotations

import torch

from .cells import cell_of


class RecurrentStepper:
    """Run an embedding, a unidirectional recurrent layer and a linear head step by step.

    Parameters
    ----------
    embedding : nn.Embedding
    rnn : a layer of the cell table (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``, ...)
        Unidirectional, all its layers; see :meth:`RecurrentStack.step_layer
        <skrnn.modules.RecurrentStack.step_layer>`.
    head : nn.Linear
        Hidden state of the last layer -> logits.
    """

    def __init__(self, embedding, rnn, head):
        if rnn.bidirectional:
            raise ValueError("Step-by-step generation needs a unidirectional recurrent stack.")
        self.cell = cell_of(rnn)
        self.num_layers = rnn.num_layers
        self.hidden_size = rnn.hidden_size
        with torch.no_grad():
            self.layers = [self.cell.step_weights(rnn, k) for k in range(self.num_layers)]
            first = self.layers[0]
            self.table = torch.addmm(first["b_ih"], embedding.weight, first["w_ih_t"])  # (V, G*H)
            self.head_w_t = head.weight.detach().t().contiguous()
            self.head_b = head.bias.detach().clone()

    def initial_state(self, state, batch_size, device):
        """Per-layer state tuples from the layer's own ``h_n`` format (or zeros)."""
        if state is None:
            dtype = self.head_w_t.dtype
            return [self.cell.zeros(batch_size, self.hidden_size, device, dtype)
                    for _ in range(self.num_layers)]
        return self.cell.split(state)

    def step(self, tokens, state):
        """One step: ``tokens`` (N,) int64 -> ``(logits (N, V), new state)``."""
        new_state = []
        x = None
        for k, layer in enumerate(self.layers):
            gx = self.table[tokens] if k == 0 else torch.addmm(layer["b_ih"], x,
                                                               layer["w_ih_t"])
            s = self.cell.step(gx, state[k], layer)
            new_state.append(s)
            x = s[0]
        logits = torch.addmm(self.head_b, x, self.head_w_t)  # (N, V)
        return logits, new_state
