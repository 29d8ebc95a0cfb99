"""Step-by-step generation from a trained unidirectional recurrent stack, for any cell.

Torch only. Calling a fused ``nn.LSTM`` once per generated token pays the
module's full dispatch (weight checks, oneDNN set-up) at every step;
instead :class:`RecurrentStepper` reads the weights once and runs each step
through the cell's own single-step equations (``step`` of :class:`skrnn.cells.Cell`,
from the cell table), so every cell of the table generates without code
here. The first layer's input projection is a table lookup: ``embedding @
W_ih.T + b`` is precomputed for every token, so a step of layer 0 is one row
gather plus the recurrent part. The state is carried from step to step; a
prefix is read once with the ordinary fused forward.

Everything derived from the weights is built once per version of a network's
weights and reused by every later call (:func:`cached`): building a stepper
(transposing the weights, the table) costs more than generating
a short sample with it.
"""

from __future__ import annotations

import threading
import weakref

import torch

from .cells import cell_of

# module -> {name: (weights key, value)}. Weak keys: an entry goes with its module,
# and nothing of it lives on the module or the estimator (never pickled, saved,
# deep-copied, cloned or exported).
_CACHE = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _version(t):
    try:
        return t._version
    except RuntimeError:  # inference tensors keep no version counter
        return None


def weights_key(module):
    """What identifies the current weights of ``module``, cheaply.

    For every parameter and buffer: its storage address, its version counter
    (bumped by every in-place write through the tensor: optimizers' ``add_``,
    ``copy_``, ``load_state_dict``), dtype, device and shape. Writes that
    bypass the version counter (through ``.data``, or torch's fused optimizer
    kernels) are not seen: call :func:`clear_cache` after them.
    """
    return [(t.data_ptr(), _version(t), t.dtype, t.device, t.shape) for t in _tensors(module)
            if t is not None]


def _tensors(module):
    """Every parameter and buffer slot (None included) of ``module`` and its submodules: a
    walk over the modules' dictionaries, twice as fast as ``chain(parameters(), buffers())``
    (which would be most of a cache look-up)."""
    out, todo = [], [module]
    while todo:
        m = todo.pop()
        if m is None:
            continue
        d = m.__dict__
        out.extend(d["_parameters"].values())
        out.extend(d["_buffers"].values())
        todo.extend(d["_modules"].values())
    return out


def cached(module, name, build):
    """``build()`` for the current weights of ``module``: built once, then reused.

    Rebuilt (and replaced) when :func:`weights_key` of ``module`` changes.
    ``build()`` runs without gradients; its result must not hold ``module``
    itself (weakly at most), or the module could never be freed. Safe from
    several threads: two threads that find no entry may both build one, and
    each uses a complete value. Under tracing or export (tensors without
    storage) nothing is cached.
    """
    try:
        key = weights_key(module)
    except (RuntimeError, NotImplementedError):  # fake or functional tensors
        with torch.no_grad():
            return build()
    with _CACHE_LOCK:
        entry = _CACHE.get(module, {}).get(name)
    if entry is not None and entry[0] == key:
        return entry[1]
    # Ordinary tensors even when called under inference_mode: the value
    # outlives the call, and may be used outside it (export, tracing).
    with torch.inference_mode(False), torch.no_grad():
        value = build()
    with _CACHE_LOCK:
        _CACHE.setdefault(module, {})[name] = (key, value)
    return value


def clear_cache(module):
    """Forget what :func:`cached` built for ``module`` (after writes it cannot see)."""
    with _CACHE_LOCK:
        _CACHE.pop(module, None)


class RecurrentStepper:
    """Run an embedding, a unidirectional recurrent layer and a linear head step by step.

    Holds detached tensors made from what it reads (never the modules), so that it
    can be cached for the modules' owner (:func:`cached`) and shared by
    threads: a step changes nothing in it.

    Parameters
    ----------
    embedding : nn.Embedding
        Token -> the first layer's input (its first ``embedding_dim`` features).
    rnn : a layer of the cell table (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``, ...)
        Unidirectional, all its layers; see :meth:`RecurrentStack.step_layer
        <skrnn.modules.RecurrentStack.step_layer>`.
    head : nn.Linear or None
        Hidden state of the last layer -> logits; None: :meth:`logits` and
        :meth:`step` are unavailable (a caller with its own output layer).
    extra_input : int, default=0
        Features of the first layer's input after the embedding (an
        attention context): passed to :meth:`input_gates` at every step.
    """

    def __init__(self, embedding, rnn, head=None, *, extra_input=0):
        if rnn.bidirectional:
            raise ValueError("Step-by-step generation needs a unidirectional recurrent stack.")
        self.cell = cell = cell_of(rnn)
        self.num_layers = rnn.num_layers
        self.hidden_size = rnn.hidden_size
        with torch.no_grad():
            layers = [cell.step_weights(rnn, k) for k in range(self.num_layers)]
            first = layers[0]
            w_ih_t = first.pop("w_ih_t")  # (E + extra, G*H)
            dim = embedding.weight.shape[1]
            if w_ih_t.shape[0] != dim + extra_input:
                raise ValueError(f"The first layer reads {w_ih_t.shape[0]} features, not the "
                                 f"embedding's {dim} + extra_input={extra_input}.")
            self.table = torch.addmm(first["b_ih"], embedding.weight.detach(),
                                     w_ih_t[:dim])  # (V, G*H)
            self.extra_w_t = w_ih_t[dim:].contiguous() if extra_input else None
            self.layers = layers
            self.head_w_t = None if head is None else head.weight.detach().t().contiguous()
            self.head_b = None if head is None else head.bias.detach().clone()

    def initial_state(self, state, batch_size, device):
        """Per-layer state tuples from the layer's own ``h_n`` format (or zeros)."""
        if state is None:
            return [self.cell.zeros(batch_size, self.hidden_size, device, self.table.dtype)
                    for _ in range(self.num_layers)]
        return self.cell.split(state)

    def input_gates(self, tokens, extra=None):
        """The first layer's input projection ``W_ih x + b`` (N, G*H) for ``tokens`` (N,).

        ``extra`` (N, extra_input): the rest of the input (see the class).
        """
        gx = self.table.index_select(0, tokens)
        if extra is not None:
            gx = torch.addmm(gx, extra, self.extra_w_t)
        return gx

    def advance(self, gx, state):
        """Every layer one step, from the first layer's input projection: the new state."""
        step, layers = self.cell.step, self.layers
        s = step(gx, state[0], layers[0])
        new = [s]
        for k in range(1, self.num_layers):
            layer = layers[k]
            s = step(torch.addmm(layer["b_ih"], s[0], layer["w_ih_t"]), state[k], layer)
            new.append(s)
        return new

    def logits(self, h):
        """The head: last layer's hidden state (N, H) -> logits (N, V)."""
        return torch.addmm(self.head_b, h, self.head_w_t)

    def step(self, tokens, state):
        """One step: ``tokens`` (N,) int64 -> ``(logits (N, V), new state)``."""
        state = self.advance(self.input_gates(tokens), state)
        return self.logits(state[-1][0]), state
