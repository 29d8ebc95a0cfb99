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


def sample_steps(stepper, state, tokens, *, max_steps, eos_id, temperature=1.0, top_k=None,
                 banned=(), generator=None):
    """Draw up to ``max_steps`` tokens per row, stopping rows at ``eos_id``.

    Parameters
    ----------
    stepper : RecurrentStepper
    state : per-layer state from :meth:`RecurrentStepper.initial_state`
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

    Returns
    -------
    Tensor of int64, shape (N, n_steps)
        Drawn ids; after a row's EOS the row holds ``eos_id`` again.
    """
    n = tokens.shape[0]
    done = torch.zeros(n, dtype=torch.bool, device=tokens.device)
    out = []
    banned = list(banned)
    for _ in range(max_steps):
        logits, state = stepper.step(tokens, state)
        if banned:
            logits[:, banned] = float("-inf")
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
