"""The fit loop: epochs of batches, clipping, early stopping, history.

Torch only. It knows nothing of scikit-learn or of what the network
computes: the estimator hands it a network, an optimiser, a function that
turns a batch into a loss and, optionally, a function that scores the
validation data. The loop reports how it ended (``status``) and the
estimator decides what to warn about.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from ._torch import map_tensors, release_memory, tune_malloc

try:  # optional: a progress bar within long epochs when verbose
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

#: Show a progress bar (when verbose and tqdm is installed) for epochs with
#: at least this many batches; shorter epochs print their table row only.
PROGRESS_MIN_BATCHES = 200

#: The gradient diagnostics each epoch's history record holds (see :func:`train`).
GRADIENT_KEYS = ("grad_norm_mean", "grad_norm_max", "clipped_fraction")

# torch >= 2.6; older versions get the same computation from _total_norm below.
_get_total_norm = getattr(torch.nn.utils, "get_total_norm", None)


#: The optimisers ``make_optimizer`` builds, by the name the estimators' ``solver`` takes.
SOLVERS = ("adam", "sgd")

#: The learning-rate schedules :func:`scheduled_rate` computes.
LR_SCHEDULES = ("constant", "plateau", "step")


def make_optimizer(params, learning_rate, weight_decay=0.0, *, solver="adam", momentum=0.0):
    """Adam or SGD (with ``momentum``), fused where this PyTorch build and device support it.

    The fused kernel updates all parameters in one pass (measured ~1.7x the
    epoch throughput of the per-parameter loop on 2 CPU cores, for Adam).
    """
    params = list(params)
    if solver == "adam":
        cls, kwargs = torch.optim.Adam, {}
    elif solver == "sgd":
        cls, kwargs = torch.optim.SGD, {"momentum": momentum}
    else:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    try:
        return cls(params, lr=learning_rate, weight_decay=weight_decay, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, lr=learning_rate, weight_decay=weight_decay, **kwargs)


def set_learning_rate(optimizer, learning_rate):
    """Set every parameter group's step size (a plain float: fused kernels read it as one)."""
    for group in optimizer.param_groups:
        group["lr"] = float(learning_rate)


def scheduled_rate(schedule, learning_rate, history, *, decay=0.5, patience=1,
                   decay_after=4, tol=1e-4):
    """The step size of the next epoch, from the epochs run so far.

    Computed from ``history`` alone (the records :func:`train` writes), so a
    fit continued by ``partial_fit``, a warm start or a saved-and-loaded
    model picks the schedule up where it was, and changing ``learning_rate``
    between calls rescales it.

    Parameters
    ----------
    schedule : {"constant", "plateau", "step"}
        ``"constant"``: always ``learning_rate``. ``"step"``: ``learning_rate``
        for the first ``decay_after`` epochs, then multiplied by ``decay``
        once per epoch (the classic recipe of Zaremba et al., 2014: 4 epochs
        at 1, then halved every epoch). ``"plateau"``: multiplied by
        ``decay`` each time ``patience`` epochs in a row failed to improve
        the watched value by more than ``tol`` over its best so far (the
        validation score when the record has one, otherwise minus the
        training loss), as ``torch.optim.lr_scheduler.ReduceLROnPlateau``
        and scikit-learn's MLP ``learning_rate="adaptive"`` do.
    learning_rate : float
    history : sequence of dict
        The epochs so far, oldest first; diverged epochs are skipped.
    decay : float in (0, 1)
    patience : int >= 1
    decay_after : int >= 0
    tol : float

    Returns
    -------
    float
    """
    epochs = [r for r in history if not r.get("diverged") and "train_loss" in r]
    if schedule == "constant":
        return float(learning_rate)
    if schedule == "step":
        return float(learning_rate * decay ** max(0, len(epochs) + 1 - decay_after))
    if schedule != "plateau":
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}.")
    rate, best, bad = float(learning_rate), -math.inf, 0
    for record in epochs:
        value = record.get("valid_score", -record["train_loss"])
        if value > best + tol:
            best, bad = value, 0
        else:
            bad += 1
            if bad >= patience:
                rate, bad = rate * decay, 0
    return rate


def _total_norm(grads, norm_type=2.0):
    """The ``norm_type`` norm of all ``grads`` seen as one vector: a 0-d tensor, no host sync.

    0 for no gradients; inf or nan, without raising, when a gradient holds them.
    """
    if _get_total_norm is not None:
        return _get_total_norm(grads, norm_type)
    if not grads:
        return torch.tensor(0.0)
    device = grads[0].device
    norms = [torch.linalg.vector_norm(g.detach(), norm_type).to(device) for g in grads]
    return torch.linalg.vector_norm(torch.stack(norms), norm_type)


def _max_abs(grads):
    """The largest ``|element|`` of all ``grads``, their inf-norm: a 0-d tensor, no host sync.

    Computed with ``_foreach_abs`` / ``_foreach_max`` (``aminmax`` per
    gradient where those are missing): on the CPU ``vector_norm(g, inf)``
    takes ~20x as long (7.5 ms vs 0.34 ms per step for a 12k-word tagger),
    which made this check a sixth of a training step. Same value, nan when
    a gradient holds one; 0 for no gradients.
    """
    grads = [g.detach() for g in grads if g.numel()]
    if not grads:
        return torch.tensor(0.0)
    device = grads[0].device
    try:
        tops = torch._foreach_max(torch._foreach_abs(grads))
    except (AttributeError, RuntimeError, NotImplementedError):  # older torch, other devices
        tops = [torch.stack(torch.aminmax(g)).abs().amax() for g in grads]
    return torch.stack([t.to(device) for t in tops]).amax()


class _GradientStats:
    """The epoch's global gradient norms before clipping, and how often clipping acted.

    Kept as the steps' 0-d device tensors and reduced once per epoch
    (:meth:`summary`, float32: MPS has no float64): the loop adds no host
    synchronisation, and no arithmetic, per step.
    """

    def __init__(self):
        self.norms, self.clipped = [], []

    @property
    def n_steps(self):
        return len(self.norms)

    def add(self, norm, clipped):
        self.norms.append(norm.detach())
        self.clipped.append(clipped)

    def summary(self):
        """``{grad_norm_mean, grad_norm_max, clipped_fraction}``; empty without steps."""
        if not self.norms:
            return {}
        device = self.norms[0].device
        norms = torch.stack([n.to(device, torch.float32) for n in self.norms])
        clipped = torch.stack([c.to(device, torch.float32) for c in self.clipped])
        # max propagates nan, as the norms' diagnostics should
        mean, top, n_clipped = torch.stack([norms.sum(), norms.max(), clipped.sum()]).tolist()
        n = len(self.norms)
        return dict(zip(GRADIENT_KEYS, (mean / n, top, n_clipped / n)))


def _clip(params, grads, clip_value, clip_norm):
    """Clip the gradients in place; return ``(norm before clipping, whether clipping acted)``.

    Both as 0-d tensors on the gradients' device. With ``clip_norm`` alone the
    norm is the one :func:`torch.nn.utils.clip_grad_norm_` computes anyway.
    ``grads`` may hold the coalesced values of sparse gradients (see
    :func:`_gradients`; only CPU embeddings have them, see
    :func:`sparse_embeddings`): the CPU path clips the tensors themselves with
    the formulas of ``clip_grad_value_`` and ``clip_grad_norm_``, which cannot
    take sparse gradients.
    """
    if grads and all(g.device.type == "cpu" for g in grads):
        return _clip_on_cpu(grads, clip_value, clip_norm)
    return _clip_with_torch(params, grads, clip_value, clip_norm)


def _clip_with_torch(params, grads, clip_value, clip_norm):
    """:func:`_clip` by torch's clipping functions (on any device, no host reads)."""
    if clip_norm is not None and clip_value is None:
        norm = torch.nn.utils.clip_grad_norm_(params, clip_norm)
        return norm, norm > clip_norm
    norm = _total_norm(grads)
    clipped = torch.zeros((), dtype=torch.bool, device=norm.device)
    if clip_value is not None:
        clipped = _max_abs(grads) > clip_value
        torch.nn.utils.clip_grad_value_(params, clip_value)
    if clip_norm is not None:
        # The norm after clipping by value: the one clip_grad_norm_ acts on.
        clipped = clipped | (torch.nn.utils.clip_grad_norm_(params, clip_norm) > clip_norm)
    return norm, clipped


#: Relative margin under ``clip_value`` within which a gradient's L2 norm does not prove
#: that none of its elements exceeds it (float rounding of the norm).
_NORM_BOUND_MARGIN = 1e-5


def _clip_on_cpu(grads, clip_value, clip_norm):
    """:func:`_clip` for CPU tensors, skipping the passes that cannot change anything.

    Reading a CPU tensor's value costs no device synchronisation, so: an
    element is at most its tensor's L2 norm, and a tensor whose norm is
    below ``clip_value`` needs neither the inf-norm check nor the clamps
    (which would leave it unchanged); a gradient whose total norm is below
    ``clip_norm`` is not multiplied by the coefficient, which is then
    exactly 1. Same norms, flags and gradients as the full computation
    (nan and inf norms take the full path); measured on a small BiLSTM
    classifier (10 parameters, 5 ms steps): 0.34 -> 0.1 ms per step.
    """
    norms = torch._foreach_norm(grads)  # per tensor, as get_total_norm computes them
    norm = torch.linalg.vector_norm(torch.stack(norms))
    clipped = torch.zeros((), dtype=torch.bool)
    over = []
    if clip_value is not None:
        bound = clip_value * (1 - _NORM_BOUND_MARGIN)
        over = [g for g, n in zip(grads, torch.stack(norms).tolist()) if not n <= bound]
        if over:
            clipped = _max_abs(over) > clip_value
            torch._foreach_clamp_min_(over, -clip_value)
            torch._foreach_clamp_max_(over, clip_value)
    if clip_norm is not None:
        after = _total_norm(grads) if over else norm
        coef = torch.clamp(clip_norm / (after + 1e-6), max=1.0)
        if not coef.item() >= 1.0:  # nan included: multiplied, as clip_grad_norm_ does
            torch._foreach_mul_(grads, coef)
        clipped = clipped | (after > clip_norm)
    return norm, clipped


#: Embedding tables with fewer rows keep dense gradients (see :func:`sparse_embeddings`).
SPARSE_MIN_ROWS = 5000


def sparse_embeddings(module, *, min_rows=None):
    """The embedding tables of ``module`` whose gradients :func:`train` takes sparse.

    A word embedding's gradient is zero but for the rows of the batch's
    tokens, yet as a dense table every step pays for all of it: torch's
    backward fills the whole table and adds the rows in, the gradient norm,
    the clipping check and ``clip_value``'s two clamps each read all of it,
    and the optimizer's step reads and writes the table and its state. With
    ``sparse=True`` the backward gives the rows alone and norms and clipping
    run on them (the same values: the other entries are zeros). The
    gradient is then made dense for the optimizer, whose step is unchanged
    (Adam still updates every row, as without it), except for plain SGD
    without momentum or weight decay, where stepping the batch's rows alone
    is the same step (``_row_step``). Same results up to float rounding
    (duplicate ids are summed in another order); measured on all of Brown
    (53k words, no character CNN, 1 thread) 0.86x -> 1.0x the training
    throughput of a plain PyTorch loop.

    Only ``nn.Embedding`` tables (not frozen-row ones) of at least
    ``min_rows`` rows (default :data:`SPARSE_MIN_ROWS`; character
    vocabularies gain nothing), trainable, without ``max_norm``, on the
    CPU.

    Returns
    -------
    list of torch.nn.Embedding
    """
    min_rows = SPARSE_MIN_ROWS if min_rows is None else min_rows
    return [sub for sub in module.modules()
            if type(sub) is torch.nn.Embedding and sub.num_embeddings >= min_rows
            and sub.weight.requires_grad and sub.weight.device.type == "cpu"
            and sub.max_norm is None]


def _row_step(group, p):
    """Step only the rows of ``p`` its sparse gradient holds, where that is the dense step.

    For SGD without momentum or weight decay a row absent from the batch has
    a zero gradient and does not move, so stepping the batch's rows alone
    gives the dense step's result without reading the table. Every other
    setting moves absent rows too (Adam's and momentum's running averages,
    weight decay); returns False for them, having done nothing, and the
    caller takes the dense step. A "lazy" Adam that steps the batch's rows
    only (as ``torch.optim.SparseAdam``) was measured and rejected: on Brown
    POS it trained 1.32x the plain loop's tokens per second but reached
    0.9248 test accuracy after one epoch against dense Adam's 0.9427.
    """
    if "betas" in group or group.get("momentum", 0) or group["weight_decay"] \
            or group.get("maximize"):
        return False
    grad = p.grad  # coalesced: unique rows
    with torch.no_grad():
        p.index_add_(0, grad._indices()[0], grad._values(), alpha=-float(group["lr"]))
    p.grad = None  # the optimizer's own step skips it
    return True


class _DenseGradients:
    """Dense gradient tables for the optimizer, one per sparse parameter, kept for an epoch.

    ``to_dense`` allocates and zero-fills the whole table every step (1.5 ms
    of a 5.5 ms Adam step for a 53k x 100 table on one CPU thread); instead
    each table is kept, the rows the last step wrote are zeroed and the new
    rows copied in (0.1 ms). The optimizers never write into a gradient, so
    the table is all zeros but for the batch's rows, as ``to_dense`` gives.
    """

    def __init__(self):
        self._tables = {}  # id(param) -> (table, rows written last)

    def fill(self, p):
        grad = p.grad  # coalesced
        rows = grad._indices()[0]
        entry = self._tables.get(id(p))
        if entry is None or entry[0].shape != grad.shape or entry[0].dtype != grad.dtype:
            table = torch.zeros(grad.shape, dtype=grad.dtype, device=grad.device)
        else:
            table, last = entry
            table.index_fill_(0, last, 0)
        table.index_copy_(0, rows, grad._values())
        self._tables[id(p)] = (table, rows)
        p.grad = table


def _sparse_step(optimizer, params, dense):
    """Take the row step of each parameter in ``params``, or give it a dense gradient.

    ``dense``: the epoch's :class:`_DenseGradients`.
    """
    groups = {id(q): group for group in optimizer.param_groups for q in group["params"]}
    for p in params:
        if not _row_step(groups[id(p)], p):
            dense.fill(p)  # the optimizer's step is the dense one


def _gradients(params):
    """``(tensors to clip, parameters with sparse gradients)`` after a backward pass.

    A sparse gradient is coalesced (one row per distinct id, the rows
    summed: the nonzero rows of the dense gradient) and stands in the list
    by its values, which clipping changes in place.
    """
    grads, sparse = [], []
    for p in params:
        g = p.grad
        if g is None:
            continue
        if g.is_sparse:
            g = p.grad = g.coalesce()
            sparse.append(p)
            g = g._values()
        grads.append(g)
    return grads, sparse


class EpochResult(NamedTuple):
    """What :func:`train_epoch` returns.

    ``loss`` is the mean loss per step (tokens, sequences), ``n_steps`` the
    steps it was averaged over, ``finite`` whether loss and weights stayed
    finite and ``gradients`` the epoch's gradient diagnostics (the keys of
    :data:`GRADIENT_KEYS`, empty when no optimiser step was taken).
    """

    loss: float
    n_steps: int
    finite: bool
    gradients: dict


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _copy_tree(value):
    """A deep copy of an optimizer state dict (its tensors cloned).

    ``copy.deepcopy`` gets there through a Python ``__deepcopy__`` per tensor
    and its memo; for the Adam state of a BiLSTM 128 classifier this takes
    0.3 ms instead of 1.4 ms, and a checkpoint is taken every epoch (small
    classifiers run ~90 ms epochs).
    """
    return map_tensors(value, lambda t: t.detach().clone())


class _Checkpoint:
    """Everything training changes, as it was at one moment: weights, optimizer, random state.

    Restoring all three (not the weights alone) makes a run that is stopped
    and continued equal to one that was never stopped: Adam's moments and
    the shuffling generator are where the kept weights left them.
    """

    def __init__(self, module, optimizer, rng=None):
        self.weights = _snapshot(module)
        self.optimizer = _copy_tree(optimizer.state_dict())
        self.rng = None if rng is None else rng.get_state()

    def restore(self, module, optimizer, rng=None):
        module.load_state_dict(self.weights)
        # load_state_dict keeps tensors that already sit on the right device:
        # hand it a copy so the checkpoint stays usable.
        optimizer.load_state_dict(_copy_tree(self.optimizer))
        if rng is not None and self.rng is not None:
            rng.set_state(self.rng)


@contextlib.contextmanager
def interrupt_once():
    """Let the first Ctrl-C stop training; hold any further one until the block is done.

    A user who presses Ctrl-C twice (or whose terminal sends two SIGINTs)
    would otherwise interrupt the restoring of the kept weights itself and
    leave weights of no epoch. The first SIGINT raises ``KeyboardInterrupt``
    as usual; later ones are recorded, and one ``KeyboardInterrupt`` is raised
    when the block ends, once the estimator is consistent again. Only in the
    main thread (the only one Python delivers signals to) and only when
    SIGINT has Python's default handler; otherwise nothing changes.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    seen = {"raised": False, "held": False}

    def handler(signum, frame):
        if seen["raised"]:
            seen["held"] = True
            return
        seen["raised"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if seen["held"]:
            raise KeyboardInterrupt


@dataclass
class TrainingResult:
    """How a call of :func:`train` ended.

    ``status`` is one of ``"converged"`` (no improvement for
    ``n_iter_no_change`` epochs), ``"max_epochs"`` (the epoch budget ran
    out while still improving), ``"interrupted"`` (KeyboardInterrupt) or
    ``"diverged"`` (a non-finite loss; the weights are those of the last
    finished epoch).
    """

    status: str
    history: list = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None


class _Table:
    """One aligned row per epoch, like skorch's PrintLog.

    ``columns`` are record keys; ``headers`` renames some of them for the header.
    """

    def __init__(self, columns, print_fn, headers=None):
        self.columns = columns
        self.headers = headers or {}
        self.print_fn = print_fn
        self.header_done = False

    def row(self, record):
        if not self.header_done:
            self.print_fn("  ".join(f"{self.headers.get(c, c):>12}" for c in self.columns))
            self.print_fn("  ".join("-" * 12 for _ in self.columns))
            self.header_done = True
        cells = []
        for c in self.columns:
            v = record.get(c)
            if v is None:
                cells.append(f"{'':>12}")
            elif isinstance(v, bool):
                cells.append(f"{'*' if v else '':>12}")
            elif isinstance(v, int):
                cells.append(f"{v:>12d}")
            elif abs(v) >= 1e6:  # an exploding norm or loss keeps the column width
                cells.append(f"{v:>12.4e}")
            else:
                cells.append(f"{v:>12.4f}")
        self.print_fn("  ".join(cells))


def train_epoch(module, optimizer, batches, loss_fn, *, clip_value=None, clip_norm=None,
                progress=False, sync=None, sparse=(), precision=None):
    """One pass over ``batches``; return an :class:`EpochResult`.

    ``loss_fn(module, batch)`` returns the mean loss of the batch and the
    number of steps (tokens, sequences) it was averaged over. Clipping by
    value (element-wise) is applied first, then by total norm. Before
    clipping, each optimiser step's global gradient L2 norm is taken (of the
    parameters that have a gradient) and whether clipping changed the
    gradient; the result's ``gradients`` sums them up, and on a non-finite
    loss holds the steps taken before it.

    ``sync`` (data-parallel training, see :mod:`skrnn.distributed`) turns
    each process's loss into the one to back-propagate and the global
    batch's mean loss and step count: ``sync.reduce_loss(loss, n) -> (loss,
    value, n)``; ``sync.all_finite(flag)`` agrees on the divergence check.
    The gradients are all-reduced by then, so every process sees the same
    norms.

    ``sparse``: embeddings (from :func:`sparse_embeddings`) that give sparse
    gradients during this epoch; they are clipped as such, then made dense
    for the optimizer (or, for plain SGD, stepped by their rows alone: see
    ``_row_step``).
    ``precision``: None, or the dtype (``torch.bfloat16``) that ``loss_fn``
    runs under :func:`torch.autocast` (see :func:`train`); the backward
    pass follows the forward's dtypes, the weights and the optimizer stay
    float32.
    """
    switched = [e for e in sparse if not e.sparse]
    for e in switched:
        e.sparse = True
    try:
        return _train_epoch(module, optimizer, batches, loss_fn, clip_value, clip_norm,
                            progress, sync, precision)
    finally:
        for e in switched:
            e.sparse = False


def _train_epoch(module, optimizer, batches, loss_fn, clip_value, clip_norm, progress, sync,
                 precision):
    module.train()
    params = list(module.parameters())
    device_type = params[0].device.type if params else "cpu"
    stats = _GradientStats()
    dense = _DenseGradients()
    total = 0.0
    n_total = 0
    bar = None
    if progress and _tqdm is not None:
        bar = _tqdm(total=len(batches), leave=False, unit="batch")
    for batch in batches:
        batch = batch() if callable(batch) else batch
        optimizer.zero_grad(set_to_none=True)
        if precision is None:
            loss, n = loss_fn(module, batch)
        else:
            with torch.autocast(device_type, dtype=precision):
                loss, n = loss_fn(module, batch)
        if sync is None:
            value = loss.item()
        else:
            loss, value, n = sync.reduce_loss(loss, n)
        if not math.isfinite(value):
            if bar is not None:
                bar.close()
            return EpochResult(value, n_total + n, False, stats.summary())
        loss.backward()
        grads, sparse = _gradients(params)
        stats.add(*_clip(params, grads, clip_value, clip_norm))
        if sparse:
            _sparse_step(optimizer, sparse, dense)
        optimizer.step()
        total += value * n
        n_total += n
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total / n_total:.4f}", refresh=False)
    if bar is not None:
        bar.close()
    finite = all(torch.isfinite(p).all() for p in params)
    if sync is not None:
        finite = sync.all_finite(finite)
    return EpochResult(total / max(n_total, 1), n_total, finite, stats.summary())


def train(module, optimizer, epoch_batches, loss_fn, *, max_epochs, validate=None,
          n_iter_no_change=5, tol=1e-4, clip_value=None, clip_norm=None, verbose=0,
          start_epoch=0, check_convergence=True, print_fn=print, sync=None, rng=None,
          learning_rate=None, sparse=(), precision=None):
    """Train for up to ``max_epochs`` epochs, with optional early stopping.

    Parameters
    ----------
    module : torch.nn.Module
    optimizer : torch.optim.Optimizer
    epoch_batches : callable
        ``epoch_batches(epoch)`` returns the list of batches for that epoch
        (batches or zero-argument callables that build one lazily).
    loss_fn : callable
        ``loss_fn(module, batch) -> (mean loss tensor, n_steps)``.
    max_epochs : int
    validate : callable or None
        ``validate(module) -> (loss, score)`` on held-out data, higher score
        is better. When given, training stops once the score has not improved
        by ``tol`` for ``n_iter_no_change`` epochs and the best weights are
        restored. Otherwise the training loss is watched the same way.
    n_iter_no_change : int
    tol : float
    clip_value, clip_norm : float or None
    verbose : int
        0 silent; 1 one table row per epoch (and a progress bar within long
        epochs when tqdm is installed).
    start_epoch : int
        Number of epochs already run (for warm starts and partial_fit).
    check_convergence : bool
        False for a single partial_fit epoch: no early stop, no status.
    print_fn : callable
    sync : object or None
        Data-parallel training only: see :func:`train_epoch`. ``validate``
        must then return the same result on every process.
    rng : numpy.random.RandomState or None
        The generator ``epoch_batches`` draws from; rolled back with the
        weights and the optimizer when an epoch is abandoned (interrupt,
        divergence), so continuing equals a run that stopped at that epoch.
    learning_rate : callable or None
        ``learning_rate(history) -> float``: the step size of the next epoch
        from this call's records so far (a schedule, see
        :func:`scheduled_rate`); set on every parameter group before the
        epoch and recorded as its ``lr``. None: the optimizer's rate as it
        is (still recorded).
    sparse : sequence of torch.nn.Embedding
        Embeddings whose gradients are sparse during training (see
        :func:`sparse_embeddings`, which says which qualify): norms and
        clipping read only their batch's rows; the optimizer step is dense.
    precision : torch.dtype or None
        ``torch.bfloat16``: each batch's forward pass and loss run under
        ``torch.autocast`` in that dtype (matrix products and the fused
        LSTM in bfloat16, losses in float32; the weights, their gradients
        and the optimizer's state stay float32). None: float32 throughout.
        Validation is never autocast.

    Returns
    -------
    TrainingResult
        Its ``history`` holds one dict per epoch: ``epoch``, ``train_loss``,
        ``n_steps``, ``valid_loss`` and ``valid_score`` (when validating),
        ``best``, ``dur``, ``lr`` (its step size) and the gradient
        diagnostics below; an epoch that
        diverged has ``epoch``, ``train_loss``, ``diverged=True`` and the
        gradient diagnostics of the optimiser steps it took before (none if
        its first batch's loss was already non-finite).

    Notes
    -----
    Gradient diagnostics, per epoch: ``grad_norm_mean`` and
    ``grad_norm_max`` are the mean and the largest global gradient L2 norm
    (all parameters' gradients as one vector) over the epoch's optimiser
    steps, taken *before* clipping; ``clipped_fraction`` is the fraction of
    those steps whose gradient clipping changed (``clip_value``: some
    element exceeded it; ``clip_norm``: the total norm did; 0.0 without
    clipping). Non-finite norms are recorded as they were (inf, nan); the
    norm is computed in the gradients' dtype, as clipping computes it, so in
    float32 one above about 1.8e19 reads inf (and ``clip_norm`` then scales
    that step's gradient to zero). How to read them:

    - Norms that rise from epoch to epoch, or a ``grad_norm_max`` many
      times (10x, 1000x) ``grad_norm_mean``, are exploding gradients: a few
      steps have gradients far larger than the rest, typically with a loss
      that rises or spikes, or a diverged epoch. Lower ``learning_rate``
      first. The optimiser is Adam, which scales every step to about
      ``learning_rate`` whatever the gradient's size: ``clip_norm`` (about
      the typical ``grad_norm_mean``) keeps single spikes from dominating
      Adam's running averages, but it does not make the steps smaller, and
      when the backward pass itself overflows (inf or nan gradients) no
      clipping helps. ``examples/exploding_gradients.py`` shows both.
    - Norms near 0 while the training loss stays high are vanishing
      gradients: the loss no longer reaches the weights (in a plain RNN, the
      early time steps and layers), and a GRU or LSTM cell usually learns
      where ``cell="rnn"`` stalls. The global norm cannot say which layer;
      compare the parameters' ``.grad`` after one backward pass for that.
    - A ``clipped_fraction`` near 1 means nearly every step is clipped: the
      threshold is below the typical norm, so clipping acts on every step
      instead of on the spikes it is for (and, under Adam, hardly changes
      the step size). Raise it to about ``grad_norm_mean``; a small fraction
      (a few spikes clipped) is what clipping is for.
    """
    columns = ["epoch", "train_loss"]
    if validate is not None:
        columns += ["valid_loss", "valid_score"]
    columns += ["grad_norm_mean", "best", "dur"]
    if learning_rate is not None:
        columns.insert(-2, "lr")
    table = _Table(columns, print_fn, headers={"grad_norm_mean": "grad_norm"})
    result = TrainingResult(status="max_epochs")
    tune_malloc()  # freed buffers are reused, not faulted in again each step
    # The best epoch so far: (score, epoch, its weights when validating).
    best = (-math.inf, None, None)
    no_improve = 0
    # What an interrupt rolls back to: the training state after the last
    # finished epoch and the bookkeeping that matches it. Each epoch replaces
    # it in one assignment, after everything of the epoch is recorded, so an
    # interrupt anywhere sees one consistent (state, history, best) triple.
    last_good = (_Checkpoint(module, optimizer, rng), 0, best, no_improve)
    try:
        for epoch in range(start_epoch, start_epoch + max_epochs):
            tic = time.perf_counter()
            if learning_rate is not None:
                set_learning_rate(optimizer, learning_rate(result.history))
            rate = float(optimizer.param_groups[0]["lr"])
            batches = epoch_batches(epoch)
            progress = verbose > 0 and len(batches) >= PROGRESS_MIN_BATCHES
            loss, n_steps, finite, gradients = train_epoch(
                module, optimizer, batches, loss_fn, clip_value=clip_value,
                clip_norm=clip_norm, progress=progress, sync=sync, sparse=sparse,
                precision=precision)
            if not finite:
                last_good[0].restore(module, optimizer, rng)
                result.status = "diverged"
                result.history.append({"epoch": epoch + 1, "train_loss": loss, "diverged": True,
                                       **gradients})
                break
            record = {"epoch": epoch + 1, "train_loss": loss, "n_steps": n_steps, "lr": rate,
                      **gradients}
            if validate is not None:
                module.eval()
                with torch.no_grad():
                    v_loss, v_score = validate(module)
                record["valid_loss"], record["valid_score"] = v_loss, v_score
                value = v_score
            else:
                value = -loss
            improved = value > best[0] + tol
            if value > best[0]:
                # Keep the best weights even for improvements below tol.
                best = (value, epoch + 1, _snapshot(module) if validate is not None else None)
            no_improve = 0 if improved else no_improve + 1
            record["best"] = best[1] == epoch + 1
            record["dur"] = time.perf_counter() - tic
            result.history.append(record)
            last_good = (_Checkpoint(module, optimizer, rng), len(result.history), best,
                         no_improve)
            if verbose:
                table.row(record)
            if check_convergence and no_improve >= n_iter_no_change:
                result.status = "converged"
                break
    except KeyboardInterrupt:
        # Everything as the last finished epoch left it; a second Ctrl-C
        # cannot cut this short inside interrupt_once().
        result.status = "interrupted"
        checkpoint, n_records, best, _ = last_good
        checkpoint.restore(module, optimizer, rng)
        del result.history[n_records:]
    best_value, result.best_epoch, best_state = best
    if validate is not None and best_state is not None:
        module.load_state_dict(best_state)
    if validate is not None and best_value > -math.inf:
        result.best_score = best_value
    if not check_convergence and result.status == "max_epochs":
        result.status = "partial"
    module.eval()
    release_memory()
    return result
