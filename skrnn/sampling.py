"""Step-by-step generation from a trained unidirectional recurrent stack.

Torch only. Calling ``nn.LSTM`` once per generated token pays the module's
full dispatch (weight checks, oneDNN set-up) at every step; instead
:class:`RecurrentStepper` reads the weights once and runs each step as a
handful of matrix products. The first layer's input projection is a table
lookup: ``embedding @ W_ih.T + b`` is precomputed for every token, so a step
of layer 0 is one row gather plus ``h @ W_hh.T``. The hidden state is carried
from step to step; a prefix is read once with the ordinary fused forward.
"""

from __future__ import annotations

import torch


class RecurrentStepper:
    """Run an embedding, a unidirectional ``nn.RNN/GRU/LSTM`` and a linear head step by step.

    Parameters
    ----------
    embedding : nn.Embedding
    rnn : nn.RNN, nn.GRU or nn.LSTM
        Unidirectional, ``batch_first`` irrelevant (one step at a time).
    head : nn.Linear
        Hidden state of the last layer -> logits.
    """

    def __init__(self, embedding, rnn, head):
        if rnn.bidirectional:
            raise ValueError("Step-by-step generation needs a unidirectional recurrent stack.")
        self.mode = rnn.mode  # "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"
        self.num_layers = rnn.num_layers
        self.hidden_size = rnn.hidden_size
        with torch.no_grad():
            w_ih0 = rnn.weight_ih_l0
            b_ih0 = rnn.bias_ih_l0 if rnn.bias else torch.zeros(w_ih0.shape[0])
            table = torch.addmm(b_ih0, embedding.weight, w_ih0.t())  # (V, G*H)
            self.layers = []
            for k in range(self.num_layers):
                w_ih = getattr(rnn, f"weight_ih_l{k}")
                w_hh = getattr(rnn, f"weight_hh_l{k}")
                if rnn.bias:
                    b_ih = getattr(rnn, f"bias_ih_l{k}")
                    b_hh = getattr(rnn, f"bias_hh_l{k}")
                else:
                    b_ih = b_hh = torch.zeros(w_hh.shape[0], device=w_hh.device)
                self.layers.append(
                    {
                        "w_ih_t": w_ih.t().contiguous(),
                        "w_hh_t": w_hh.t().contiguous(),
                        "b_ih": b_ih.detach().clone(),
                        "b_hh": b_hh.detach().clone(),
                    }
                )
            if self.mode != "GRU":
                # LSTM / RNN add both biases before the nonlinearity: fold b_hh into
                # the input side (GRU keeps b_hh apart: r gates it).
                table = table + self.layers[0]["b_hh"]
                for layer in self.layers:
                    layer["b_ih"] = layer["b_ih"] + layer["b_hh"]
            self.table = table
            self.head_w_t = head.weight.t().contiguous()
            self.head_b = head.bias.detach().clone()

    def initial_state(self, state, batch_size, device):
        """Per-layer state list from an ``nn.RNN``-style state (or zeros)."""
        if state is None:
            zeros = torch.zeros(batch_size, self.hidden_size, device=device)
            if self.mode == "LSTM":
                return [(zeros, zeros) for _ in range(self.num_layers)]
            return [zeros for _ in range(self.num_layers)]
        if self.mode == "LSTM":
            h, c = state
            return [(h[k], c[k]) for k in range(self.num_layers)]
        return [state[k] for k in range(self.num_layers)]

    def step(self, tokens, state):
        """One step: ``tokens`` (N,) int64 -> ``(logits (N, V), new state)``."""
        new_state = []
        x = None
        for k, layer in enumerate(self.layers):
            if k == 0:
                gx = self.table[tokens]  # (N, G*H), biases folded in
            else:
                gx = torch.addmm(layer["b_ih"], x, layer["w_ih_t"])
            s = state[k]
            if self.mode == "LSTM":
                h, c = s
                gates = torch.addmm(gx, h, layer["w_hh_t"])  # (N, 4H)
                i, f, g, o = gates.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                new_state.append((h, c))
            elif self.mode == "GRU":
                h = s
                gh = torch.addmm(layer["b_hh"], h, layer["w_hh_t"])
                xr, xz, xn = gx.chunk(3, dim=1)
                hr, hz, hn = gh.chunk(3, dim=1)
                r = torch.sigmoid(xr + hr)
                z = torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = n + z * (h - n)
                new_state.append(h)
            else:
                h = s
                pre = torch.addmm(gx, h, layer["w_hh_t"])  # (N, H)
                h = torch.tanh(pre) if self.mode == "RNN_TANH" else torch.relu(pre)
                new_state.append(h)
            x = h
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
