"""The cell table: everything about each recurrent cell, in one place.

Torch only. :data:`CELLS` maps a cell name (the estimators' ``cell``
parameter) to a :class:`Cell` that says

- which layer runs whole sequences in training and prediction (torch's
  fused ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` where it has one; a class with
  their constructor ``(input_size, hidden_size, num_layers, batch_first,
  dropout)`` and call ``(x, hx) -> (output, h_n)`` otherwise);
- the single-step equations that generation and decoding run (``step``),
  reading the same weights;
- the state layout: one tensor ``h`` or a pair ``(h, c)``, hidden behind
  :meth:`Cell.zeros`, :meth:`Cell.split` and :meth:`Cell.join`;
- how the layer exports with a dynamic time axis (``export_layer``,
  ``export_context``).

The recurrent stack, the stepper (:mod:`skrnn.sampling`), export
(:mod:`skrnn.export`) and the estimators' parameter checks all read this
table. **Adding a cell** is one entry of :data:`CELLS` plus, when torch has
no fused layer for it, the cell's own layer class (as :class:`PeepholeLSTM`
here): nothing else lists cell names.

=========  =====================  =====  ==========================================
name       layer                  state  single step (``gx``: the input projection
                                         ``W_ih x + b_ih``, ``W``: ``W_hh``)
=========  =====================  =====  ==========================================
rnn        ``nn.RNN`` (tanh)      h      ``h' = tanh(gx + W h + b_hh)``
gru        ``nn.GRU``             h      reset / update gates, see :func:`gru_step`
lstm       ``nn.LSTM``            h, c   input / forget / output gates
peephole   :class:`PeepholeLSTM`  h, c   LSTM whose gates also see the cell state
=========  =====================  =====  ==========================================
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

# ---------------------------------------------------------------------------
# Single steps. Each takes ``gx`` (N, G*H), the input projection W_ih x + b_ih
# (plus b_hh where the cell's ``fold_hh_bias`` says it may be added in
# early), the state tuple, and the layer's step weights (see
# :meth:`Cell.step_weights`); each returns the new state tuple, h first.
# ---------------------------------------------------------------------------


def rnn_step(gx, state, w):
    """Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (both biases in ``gx``)."""
    (h,) = state
    return (torch.tanh(torch.addmm(gx, h, w["w_hh_t"])),)


def gru_step(gx, state, w):
    """GRU (torch's form): reset gate r, update gate z, candidate n.

    ``r = s(x_r + W_hr h + b_hr)``, ``z = s(x_z + W_hz h + b_hz)``,
    ``n = tanh(x_n + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``. The
    reset gate scales the recurrent part of the candidate, so b_hh stays
    apart from the input projection.
    """
    (h,) = state
    gh = torch.addmm(w["b_hh"], h, w["w_hh_t"])
    xr, xz, xn = gx.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (n + z * (h - n),)


def lstm_step(gx, state, w):
    """LSTM: ``i, f, g, o`` from ``gx + W_hh h`` (both biases in ``gx``).

    ``c' = s(f) c + s(i) tanh(g)``, ``h' = s(o) tanh(c')``.
    """
    h, c = state
    i, f, g, o = torch.addmm(gx, h, w["w_hh_t"]).chunk(4, dim=1)
    c = torch.addcmul(torch.sigmoid(f) * c, torch.sigmoid(i), torch.tanh(g))
    return torch.sigmoid(o) * torch.tanh(c), c


def peephole_step(gx, state, w):
    """Peephole LSTM (Gers & Schmidhuber 2000): the gates also see the cell state.

    ``i = s(x_i + W_hi h + p_i * c)``, ``f = s(x_f + W_hf h + p_f * c)``,
    ``c' = f c + i tanh(x_g + W_hg h)``, ``o = s(x_o + W_ho h + p_o * c')``,
    ``h' = o tanh(c')``, with per-unit (diagonal) peephole weights ``p``.
    """
    h, c = state
    i, f, g, o = torch.addmm(gx, h, w["w_hh_t"]).chunk(4, dim=1)
    p_i, p_f, p_o = w["peephole"]
    i = torch.sigmoid(torch.addcmul(i, p_i, c))
    f = torch.sigmoid(torch.addcmul(f, p_f, c))
    c = torch.addcmul(f * c, i, torch.tanh(g))
    return torch.sigmoid(torch.addcmul(o, p_o, c)) * torch.tanh(c), c


# ---------------------------------------------------------------------------
# The peephole LSTM layer: no fused torch kernel exists, so the input
# projection of all steps is one matrix product and only the recurrent part
# loops, with a hand-written backward (autograd through the loop would
# record ~30 nodes per step; this records one per layer).
# ---------------------------------------------------------------------------


def _peephole_forward(gx, h, c, w_hh, peephole, keep):
    """Run the recurrence over time-major ``gx`` (L, N, 4H), biases included.

    Returns ``(out (L, N, H), h_n, c_n, saved)``; ``saved`` (only when
    ``keep``) holds what the backward needs: the activated gates, the cell
    states c_0..c_L and tanh(c_t).
    """
    steps, hidden = gx.shape[0], h.shape[1]
    w_t = w_hh.t()
    p_i, p_f, p_o = peephole.view(3, hidden)
    out = gx.new_empty(steps, gx.shape[1], hidden)
    if keep:
        gates = gx.new_empty(steps, gx.shape[1], 4 * hidden)  # s(i), s(f), tanh(g), s(o)
        cells = gx.new_empty(steps + 1, gx.shape[1], hidden)
        tanh_c = gx.new_empty(steps, gx.shape[1], hidden)
        cells[0] = c
    for t in range(steps):
        pre = torch.addmm(gx[t], h, w_t)
        i, f, g, o = pre.chunk(4, dim=1)
        i = torch.sigmoid(torch.addcmul(i, p_i, c))
        f = torch.sigmoid(torch.addcmul(f, p_f, c))
        g = torch.tanh(g)
        c = torch.addcmul(f * c, i, g)
        o = torch.sigmoid(torch.addcmul(o, p_o, c))
        tc = torch.tanh(c)
        h = torch.mul(o, tc, out=out[t])
        if keep:
            torch.cat([i, f, g, o], dim=1, out=gates[t])
            cells[t + 1] = c
            tanh_c[t] = tc
    saved = (gates, cells, tanh_c) if keep else None
    return out, h, c, saved


class _PeepholeFunction(torch.autograd.Function):
    """One peephole LSTM layer over time-major input projections, with its backward."""

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, peephole):
        out, h, c, saved = _peephole_forward(gx, h0, c0, w_hh, peephole, keep=True)
        ctx.save_for_backward(w_hh, peephole, h0, out, *saved)
        return out, h.clone(), c.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, grad_h, grad_c):
        w_hh, peephole, h0, out, gates, cells, tanh_c = ctx.saved_tensors
        steps, n, hidden = out.shape
        p_i, p_f, p_o = peephole.view(3, hidden)
        i, f, g, o = gates.chunk(4, dim=2)
        # Every factor that does not depend on the incoming gradient, for all
        # steps at once: the loop below is left with ~10 small operations.
        a_o = tanh_c * o * (1 - o)  # d o_pre / d h, times tanh(c)
        b_c = o * (1 - tanh_c * tanh_c)  # d h / d c
        a_i = g * i * (1 - i)
        a_f = cells[:-1] * f * (1 - f)
        a_g = i * (1 - g * g)
        grad_out = torch.zeros_like(out) if grad_out is None else grad_out
        dh = torch.zeros_like(h0) if grad_h is None else grad_h.clone()
        dc = torch.zeros_like(h0) if grad_c is None else grad_c.clone()
        dgates = out.new_empty(steps, n, 4 * hidden)
        for t in range(steps - 1, -1, -1):
            dh = dh + grad_out[t]
            d_i, d_f, d_g, d_o = dgates[t].chunk(4, dim=1)
            torch.mul(dh, a_o[t], out=d_o)
            dc = torch.addcmul(torch.addcmul(dc, dh, b_c[t]), d_o, p_o)
            torch.mul(dc, a_i[t], out=d_i)
            torch.mul(dc, a_f[t], out=d_f)
            torch.mul(dc, a_g[t], out=d_g)
            dc = torch.addcmul(torch.addcmul(dc * f[t], d_i, p_i), d_f, p_f)
            dh = dgates[t] @ w_hh
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]], dim=0)  # (L, N, H)
        flat = dgates.view(steps * n, 4 * hidden)
        grad_w_hh = flat.t() @ h_prev.reshape(steps * n, hidden)
        d_i, d_f, _, d_o = dgates.chunk(4, dim=2)
        grad_peephole = torch.cat([
            (d_i * cells[:-1]).sum(dim=(0, 1)),
            (d_f * cells[:-1]).sum(dim=(0, 1)),
            (d_o * cells[1:]).sum(dim=(0, 1)),
        ])
        return dgates, dh, dc, grad_w_hh, grad_peephole


def _peephole_loop_export(gx, h, c, w_hh, peephole):
    """The recurrence as a ``while_loop``: ``torch.export`` / ONNX keep L dynamic."""
    from torch._higher_order_ops.while_loop import while_loop

    hidden = h.shape[1]
    w_t = w_hh.t().clone()
    peep = peephole.view(3, hidden).clone()
    out0 = gx.new_zeros(gx.shape[0], gx.shape[1], hidden)

    def cond_fn(t, out, h, c):
        return t < gx.size(0)

    def body_fn(t, out, h, c):
        k = t.item()
        torch._check_is_size(k)
        torch._check_is_size(k, max=gx.size(0) - 1)
        h, c = peephole_step(gx[k], (h, c), {"w_hh_t": w_t, "peephole": peep.unbind(0)})
        out = out.clone()
        out[k] = h
        return t + 1, out, h, c

    # The carried tensors must not alias one another (h_0 and c_0 are often
    # views of one zero tensor): while_loop refuses aliasing inputs.
    _, out, h, c = while_loop(cond_fn, body_fn,
                              [torch.tensor(0, dtype=torch.int64), out0, h.clone(), c.clone()])
    return out, h, c


_scripted_loop = None


def _peephole_loop_traced(gx, h, c, w_hh, peephole):
    """The recurrence as a scripted loop, so ``torch.jit.trace`` keeps L dynamic."""
    global _scripted_loop
    if _scripted_loop is None:
        with _no_deprecation_noise():
            _scripted_loop = torch.jit.script(_peephole_loop_script)
    return _scripted_loop(gx, h, c, w_hh, peephole)


def _peephole_loop_script(gx: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
                          w_hh: torch.Tensor, peephole: torch.Tensor):
    hidden = h.shape[1]
    w_t = w_hh.t()
    p = peephole.view(3, hidden)
    out = torch.zeros(gx.shape[0], gx.shape[1], hidden, dtype=gx.dtype, device=gx.device)
    for t in range(gx.shape[0]):
        gates = torch.addmm(gx[t], h, w_t).chunk(4, 1)
        i = torch.sigmoid(gates[0] + p[0] * c)
        f = torch.sigmoid(gates[1] + p[1] * c)
        c = f * c + i * torch.tanh(gates[2])
        h = torch.sigmoid(gates[3] + p[2] * c) * torch.tanh(c)
        out[t] = h
    return out, h, c


@contextlib.contextmanager
def _no_deprecation_noise():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _is_exporting():
    is_exporting = getattr(getattr(torch, "compiler", None), "is_exporting", None)
    return bool(is_exporting is not None and is_exporting())


class PeepholeLSTM(nn.Module):
    """LSTM with peephole connections (Gers & Schmidhuber 2000), ``nn.LSTM``'s interface.

    The input and forget gates also read the previous cell state c_{t-1},
    the output gate reads the new one c_t, each through a per-unit
    (diagonal) weight: the equations of TensorFlow's ``PeepholeLSTMCell``
    and of the ONNX ``LSTM`` operator's ``P`` input. Peepholes were
    introduced for tasks that need precise timing or counting (emit a spike
    exactly n steps after a cue), where the cell state, not the squashed
    output, carries the count. Greff et al. ("LSTM: A Search Space Odyssey",
    2017) found no significant gain from them on average over speech,
    handwriting and music tasks; they cost one extra vector per gate.

    Parameters are named as ``nn.LSTM``'s (``weight_ih_l{k}``,
    ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, gate order i, f,
    g, o) plus ``weight_peephole_l{k}`` of shape (3H,), order i, f, o (the
    ONNX ``P`` layout). With zero peephole weights it computes exactly what
    ``nn.LSTM`` with the same weights does.

    Only ``batch_first=True`` and the forward direction: bidirectional
    stacks are built from two layers by :class:`skrnn.modules.RecurrentStack`.

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers : int, default=1
    batch_first : bool, default=True
    dropout : float, default=0.0
        Dropout on the outputs of every layer but the last, as ``nn.LSTM``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True, dropout=0.0):
        super().__init__()
        if not batch_first:
            raise ValueError("PeepholeLSTM supports batch_first=True only.")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.dropout, self.bidirectional, self.bias = True, dropout, False, True
        for k in range(num_layers):
            size = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}",
                                    nn.Parameter(torch.empty(4 * hidden_size, size)))
            self.register_parameter(f"weight_hh_l{k}",
                                    nn.Parameter(torch.empty(4 * hidden_size, hidden_size)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size)))
            self.register_parameter(f"weight_peephole_l{k}",
                                    nn.Parameter(torch.empty(3 * hidden_size)))
        self.reset_parameters()

    def reset_parameters(self):
        """``nn.LSTM``'s initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every weight."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x, hx=None):
        """``x`` (N, L, input_size), ``hx`` optional ``(h_0, c_0)`` each (num_layers, N, H).

        Returns ``(output (N, L, H), (h_n, c_n))`` as ``nn.LSTM``.
        """
        n = x.shape[0]
        if hx is None:
            zeros = x.new_zeros(self.num_layers, n, self.hidden_size)
            hx = (zeros, zeros)
        h_all, c_all = hx
        seq = x.transpose(0, 1)  # (L, N, F): one contiguous slab per step
        h_n, c_n = [], []
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0 and self.training:
                seq = nn.functional.dropout(seq, self.dropout, training=True)
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            bias = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}")
            peephole = getattr(self, f"weight_peephole_l{k}")
            gx = torch.addmm(bias, seq.reshape(-1, seq.shape[-1]), w_ih.t())
            gx = gx.view(seq.shape[0], n, -1)  # (L, N, 4H)
            args = (gx, h_all[k], c_all[k], w_hh, peephole)
            if _is_exporting():
                seq, h, c = _peephole_loop_export(*args)
            elif torch.jit.is_tracing():
                seq, h, c = _peephole_loop_traced(*args)
            elif torch.is_grad_enabled() and any(a.requires_grad for a in args):
                seq, h, c = _PeepholeFunction.apply(*args)
            else:
                seq, h, c, _ = _peephole_forward(*args, keep=False)
            h_n.append(h)
            c_n.append(c)
        return seq.transpose(0, 1), (torch.stack(h_n), torch.stack(c_n))

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"


# ---------------------------------------------------------------------------
# Export helpers of the plain RNN.
# ---------------------------------------------------------------------------

#: Gate bias that saturates a sigmoid: float32 sigmoid(+-1e4) is exactly 1 / 0.
_SATURATE = 1e4


def rnn_as_gru(rnn):
    """An ``nn.GRU`` that computes exactly what the tanh ``nn.RNN`` ``rnn`` computes.

    With its reset gate held at 1 and its update gate at 0 (zero weights,
    saturating biases), a GRU step is ``tanh(W_ih x + b_ih + W_hh h + b_hh)``,
    the plain RNN step. ``torch.export`` (hence ONNX) keeps a GRU's time axis
    dynamic but unrolls a plain RNN over the example's length.
    """
    if rnn.nonlinearity != "tanh" or not rnn.bias:
        raise ValueError("Only tanh RNN layers with biases can be exported.")
    gru = nn.GRU(rnn.input_size, rnn.hidden_size, rnn.num_layers, bias=True,
                 batch_first=rnn.batch_first, bidirectional=rnn.bidirectional)
    h = rnn.hidden_size
    with torch.no_grad():
        for name, param in gru.named_parameters():
            param.zero_()  # reset and update gates (rows :2H) read nothing
            source = getattr(rnn, name, None)  # weight_ih_l0, bias_hh_l0_reverse, ...
            if source is not None:
                param[2 * h:] = source  # the candidate state is the RNN's step
            if name.startswith("bias_ih"):
                param[:h] = _SATURATE  # reset gate = 1
                param[h:2 * h] = -_SATURATE  # update gate = 0: keep no old state
    return gru.train(rnn.training)


def _while_loop_decomposition(name):
    """torch.export's while-loop decomposition of aten.lstm / aten.gru, as a context."""

    @contextlib.contextmanager
    def context():
        try:
            from torch.export import _patches
        except ImportError as exc:
            raise ImportError(
                "Exporting with a dynamic time axis needs torch.export's while-loop RNN "
                f"decompositions, which this PyTorch ({torch.__version__}) lacks. Upgrade "
                "PyTorch (tested with 2.13), or use to_torchscript()."
            ) from exc
        with getattr(_patches, f"register_{name}_while_loop_decomposition")():
            yield

    return context


@contextlib.contextmanager
def _peephole_export_context():
    """Check that this torch can run the peephole's while-loop under torch.export."""
    try:
        from torch._higher_order_ops.while_loop import while_loop  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"Exporting a peephole LSTM needs torch.export's while_loop, which this PyTorch "
            f"({torch.__version__}) lacks. Upgrade PyTorch (tested with 2.13), or use "
            "to_torchscript()."
        ) from exc
    if getattr(getattr(torch, "compiler", None), "is_exporting", None) is None:
        raise ImportError(
            f"Exporting a peephole LSTM needs torch.compiler.is_exporting (PyTorch "
            f"{torch.__version__} lacks it): without it the loop over time would be unrolled "
            "to the example's length. Upgrade PyTorch (tested with 2.13)."
        )
    yield


# ---------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------


def _unchanged(layer):
    return layer


@dataclass(frozen=True)
class Cell:
    """Everything the library knows about one recurrent cell.

    Attributes
    ----------
    name : str
        The estimators' ``cell`` value.
    layer : type
        Whole-sequence layer: ``layer(input_size, hidden_size, num_layers,
        batch_first=True, dropout=p)``, called ``(x, hx) -> (output, h_n)``.
    step : callable
        ``step(gx, state, weights) -> new state`` (see the functions above).
    gates : int
        Blocks of ``hidden_size`` rows in ``weight_ih`` / ``weight_hh``.
    n_states : int
        1 (``h``) or 2 (``h, c``): the state tuple's length.
    fold_hh_bias : bool
        Whether ``b_hh`` may be added into the input projection (all but the
        GRU, whose reset gate scales the recurrent part).
    extra : dict
        Per-layer parameters beyond the four of ``nn.RNN``: step-weight name
        -> (parameter prefix, how to shape it for ``step``).
    export_layer : callable or None
        Layer -> the layer to export (same results; one whose time axis
        ``torch.export`` keeps dynamic); None: the layer itself.
    export_context : callable or None
        A context manager around ``torch.export`` for that layer.
    summary : str
        One line for documentation.
    """

    name: str
    layer: type
    step: Callable
    gates: int
    n_states: int
    fold_hh_bias: bool = True
    extra: dict = field(default_factory=dict)
    export_layer: Callable = None
    export_context: Callable | None = None
    summary: str = ""

    def __post_init__(self):
        if self.export_layer is None:
            object.__setattr__(self, "export_layer", _unchanged)

    def zeros(self, batch_size, hidden_size, device=None, dtype=None):
        """A zero state tuple for one layer, each tensor (batch_size, hidden_size)."""
        z = torch.zeros(batch_size, hidden_size, device=device, dtype=dtype)
        return (z,) * self.n_states

    def split(self, hx):
        """A layer's ``h_n`` (tensor or tuple, each (num_layers, N, H)) -> per-layer tuples."""
        parts = (hx,) if self.n_states == 1 else tuple(hx)
        return [tuple(p[k] for p in parts) for k in range(parts[0].shape[0])]

    def join(self, states):
        """Per-layer state tuples -> the layer's ``hx`` format (inverse of :meth:`split`)."""
        parts = tuple(torch.stack(p) for p in zip(*states))
        return parts[0] if self.n_states == 1 else parts

    def step_weights(self, layer, k, detach=True):
        """Layer ``k``'s weights as ``step`` reads them (transposed once).

        ``b_ih`` includes ``b_hh`` when ``fold_hh_bias``; ``b_hh`` is then None.
        ``detach=False`` keeps them differentiable, for training through the
        single-step equations (a decoder whose step input depends on its
        previous state, as with additive attention).
        """
        def get(name):
            value = getattr(layer, name)
            return value.detach() if detach else value

        w_ih, w_hh = get(f"weight_ih_l{k}"), get(f"weight_hh_l{k}")
        if layer.bias:
            b_ih, b_hh = get(f"bias_ih_l{k}"), get(f"bias_hh_l{k}")
        else:
            b_ih = b_hh = torch.zeros(w_hh.shape[0], device=w_hh.device, dtype=w_hh.dtype)
        weights = {"w_ih_t": w_ih.t().contiguous(), "w_hh_t": w_hh.t().contiguous()}
        if self.fold_hh_bias:
            weights.update(b_ih=b_ih + b_hh, b_hh=None)
        else:
            weights.update(b_ih=b_ih.clone() if detach else b_ih,
                           b_hh=b_hh.clone() if detach else b_hh)
        for key, (prefix, shape) in self.extra.items():
            weights[key] = shape(get(f"{prefix}_l{k}"))
        return weights


CELLS = {
    "rnn": Cell("rnn", nn.RNN, rnn_step, gates=1, n_states=1, export_layer=rnn_as_gru,
                export_context=_while_loop_decomposition("gru"),
                summary="Elman RNN (tanh): the simplest; forgets beyond a few steps"),
    "gru": Cell("gru", nn.GRU, gru_step, gates=3, n_states=1, fold_hh_bias=False,
                export_context=_while_loop_decomposition("gru"),
                summary="gated recurrent unit: update and reset gates, one state"),
    "lstm": Cell("lstm", nn.LSTM, lstm_step, gates=4, n_states=2,
                 export_context=_while_loop_decomposition("lstm"),
                 summary="long short-term memory: input, forget, output gates and a cell"),
    "peephole": Cell("peephole", PeepholeLSTM, peephole_step, gates=4, n_states=2,
                     extra={"peephole": ("weight_peephole", lambda p: p.view(3, -1).unbind(0))},
                     export_context=_peephole_export_context,
                     summary="LSTM whose gates also read the cell state (timing, counting)"),
}


def cell_of(layer):
    """The :class:`Cell` whose layer class ``layer`` is an instance of (exactly)."""
    for cell in CELLS.values():
        if type(layer) is cell.layer:
            return cell
    raise TypeError(f"{type(layer).__name__} is not a layer of the cell table "
                    f"({', '.join(CELLS)}).")


def exportable(module):
    """Replace (in place) every cell layer inside ``module`` by its ``export_layer``.

    Returns ``(module, contexts)``: the context managers of the cells found,
    to enter around ``torch.export``.
    """
    contexts = {}
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            try:
                cell = cell_of(child)
            except TypeError:
                continue
            replacement = cell.export_layer(child)
            if replacement is not child:
                setattr(parent, name, replacement)
            if cell.export_context is not None:
                contexts[cell.name] = cell.export_context
    return module, list(contexts.values())
