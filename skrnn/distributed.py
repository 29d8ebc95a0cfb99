"""Data-parallel training with ``torch.distributed`` (DistributedDataParallel).

Launch the script that calls ``fit`` with ``torchrun`` and every estimator
trains data-parallel, with no change to the code::

    torchrun --standalone --nproc_per_node=2 train.py          # one machine
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=4 \\
        --rdzv_backend=c10d --rdzv_endpoint=host0:29500 train.py  # on each machine

How it works (and why it gives the same result as one process):

- Every process passes the **same X and y** (checked) and builds the same
  epoch plan from the same ``random_state``: length buckets, shuffles and
  ``<unk>`` replacement draws stay in lockstep. ``batch_size`` is the
  *global* batch size.
- Each process collates the whole global batch and keeps its own rows
  (rank ``r`` of ``W`` takes rows ``r::W``). A process left without rows
  (a batch smaller than ``W``) still runs forward and backward on a
  stand-in row with weight 0, because every process must join every
  gradient all-reduce.
- Its loss is scaled so that DDP's gradient *averaging* yields exactly the
  gradient of the global batch's mean loss, whatever the rows per process
  (or the class weights): the gradients, the clipping and the optimiser
  step are those of single-process training on the same global batches,
  up to floating-point summation order.
- Validation (early stopping) is sharded too: each process scores its
  share of the held-out sequences and the parts (sums, or outputs and
  targets) are gathered, so every process computes the same score, takes
  the same decision and restores the same best weights. The divergence
  check is reduced as well.
- Streams of long sequences (:class:`~skrnn.LanguageModel`) keep their
  carried state per row, so each process carries the state of its own
  rows: truncated back-propagation stays exact.

- Dropout masks differ between processes (rank 0 keeps the
  single-process ones); ``verbose`` prints on rank 0 only.
- Ctrl-C ends the whole ``torchrun`` job (the single-process "keep what
  was learned" recovery is not coordinated across processes): to resume
  long runs, save between ``partial_fit`` calls.

Every process ends with the same fitted estimator; save or pickle it from
rank 0. Predicting, scoring and sampling are not distributed. Without
``torchrun`` (no ``WORLD_SIZE > 1`` in the environment and no initialised
process group) nothing here runs. Use :func:`single_process` to fit
something on one rank only inside a distributed job.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import multiprocessing
import os
import threading
from numbers import Integral

import numpy as np
import torch
import torch.distributed as dist

from .data import select_rows

_local = threading.local()


@contextlib.contextmanager
def single_process():
    """Fit as a plain single process inside a distributed job.

    Inside ``with single_process():`` estimators ignore ``torchrun`` and
    the process group, e.g. to fit a small model on rank 0 only (a
    distributed ``fit`` called on one rank alone would wait for the others
    forever).
    """
    previous = getattr(_local, "disabled", False)
    _local.disabled = True
    try:
        yield
    finally:
        _local.disabled = previous


def is_distributed():
    """Whether ``fit`` trains data-parallel here.

    True inside a ``torchrun`` launch with more than one process
    (``WORLD_SIZE > 1`` with ``RANK`` and ``MASTER_ADDR`` set), or when a
    process group of more than one process is already initialised; False
    within :func:`single_process`, and off the main thread.

    The environment alone counts only in the process ``torchrun`` started:
    worker processes of joblib / dask / multiprocessing inherit its
    variables (a ``GridSearchCV(n_jobs=2)`` inside a torchrun job) but are
    not ranks, and would wait forever for the others.
    """
    if getattr(_local, "disabled", False) or not dist.is_available():
        return False
    if threading.current_thread() is not threading.main_thread():
        # Fits in threads (joblib's threading backend) would interleave
        # their collectives on one process group.
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if multiprocessing.parent_process() is not None:
        return False
    env = os.environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
    except ValueError:
        return False
    return world > 1 and "RANK" in env and "MASTER_ADDR" in env


def setup(device, resolve_device):
    """Join (or start) the process group for a distributed fit.

    Parameters
    ----------
    device : str or torch.device
        The estimator's ``device`` parameter.
    resolve_device : callable
        Turns ``device`` into a ``torch.device`` (single-process rules).

    Returns
    -------
    DistributedContext or None
        None when not running distributed: the caller trains as usual.
    """
    if not is_distributed():
        return None
    resolved = resolve_device(device)
    if resolved.type == "cuda" and str(device) in ("auto", "cuda"):
        # One GPU per process: torchrun's LOCAL_RANK picks it.
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        resolved = torch.device("cuda", local_rank % torch.cuda.device_count())
    if not dist.is_initialized():
        if resolved.type == "cuda":
            torch.cuda.set_device(resolved)
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
        # A group still alive at interpreter exit can abort the process in
        # gloo's threads ("terminate called without an active exception",
        # SIGABRT; seen on a loaded 2-core machine): close the one we opened.
        atexit.register(_close_process_group)
    return DistributedContext(resolved)


#: How long the exit hook waits for the other ranks before closing the group anyway.
_EXIT_BARRIER_SECONDS = 60


def _close_process_group():
    """Close the process group skrnn opened, once every rank has got here (at exit).

    Tearing gloo down while another rank is still working (a rank-specific
    step after the last fit) aborted a process with SIGABRT ("terminate
    called without an active exception") in CI dry-runs on a loaded 2-core
    machine. So with gloo the ranks first meet in a monitored barrier,
    bounded by :data:`_EXIT_BARRIER_SECONDS` (a rank that died or hangs
    costs that wait, then the group is closed as before).
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_backend() == "gloo" and dist.get_world_size() > 1:
        import datetime

        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=_EXIT_BARRIER_SECONDS))
        except Exception:  # noqa: BLE001 - a missing rank must not stop the exit
            pass
    dist.destroy_process_group()


class DistributedContext:
    """The process group as one fit sees it: rank, world size, device."""

    def __init__(self, device):
        self.device = device
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        # NCCL reduces device tensors only; gloo reduces CPU tensors.
        self._comm_device = device if dist.get_backend() == "nccl" else torch.device("cpu")

    # -- agreeing before training ------------------------------------------------

    def sync_random_state(self, rng, random_state):
        """Give every rank rank 0's random state (already equal for an int seed)."""
        if isinstance(random_state, Integral):
            return rng
        state = [rng.get_state() if self.rank == 0 else None]
        dist.broadcast_object_list(state, src=0)
        if self.rank != 0:
            if random_state is None:
                # Not numpy's global singleton: leave this process's global RNG alone.
                rng = np.random.RandomState()
            rng.set_state(state[0])
        return rng

    def torch_seed(self, seed):
        """This rank's seed for dropout: rank 0 keeps ``seed``, the others differ."""
        if self.rank == 0:
            return None
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0] >> 1)

    def check_same_data(self, data, extra=()):
        """Raise ValueError on every rank unless all ranks passed the same data."""
        digest = _fingerprint(data, extra)
        digests = [None] * self.world_size
        dist.all_gather_object(digests, digest)
        if len(set(digests)) > 1:
            differ = [r for r, d in enumerate(digests) if d != digests[0]]
            raise ValueError(
                "Data-parallel fit needs the same X and y on every process (each process reads "
                "the whole data set and trains on its share of every batch), but rank(s) "
                f"{differ} passed different data than rank 0. Load the same data on every rank, "
                "or wrap a fit meant for one process in skrnn.distributed.single_process()."
            )

    # -- training ------------------------------------------------------------------

    def data_parallel(self, module, batch_loss, loss_weight):
        """The pieces :func:`skrnn.training.train` needs to train ``module`` data-parallel."""
        return _DataParallel(self, module, batch_loss, loss_weight)

    def sharded_validation(self, valid_data, partial, combine):
        """Score this rank's share of ``valid_data``; combine every rank's part everywhere.

        ``partial(module, data)`` returns what ``combine(parts)`` turns into
        ``(loss, score)``: sums for token metrics, outputs and targets for
        per-sequence ones. Every rank combines the same gathered parts, so
        all take the same early-stopping decision.
        """
        shard = valid_data.subset(np.arange(self.rank, len(valid_data), self.world_size))

        def validate(module):
            part = partial(module, shard) if len(shard) else None
            parts = [None] * self.world_size
            dist.all_gather_object(parts, part)
            return combine([p for p in parts if p is not None])

        return validate

    def shared_validation(self, validate):
        """Score on rank 0 and broadcast (for estimators without sharded validation)."""
        def shared(module):
            result = [validate(module) if self.rank == 0 else None]
            dist.broadcast_object_list(result, src=0)
            return result[0]

        return shared


class _DataParallel:
    """DDP wrapper, batch sharding and loss scaling for one call of ``train``."""

    def __init__(self, ctx, module, batch_loss, loss_weight):
        self.ctx = ctx
        # device_ids=None: the batches are already on the module's device.
        self.ddp = torch.nn.parallel.DistributedDataParallel(module, device_ids=None)
        self.batch_loss = batch_loss
        self.loss_weight = loss_weight

    def epoch_batches(self, epoch_batches):
        """Wrap ``epoch_batches``: each batch is built whole, then cut to this rank's rows."""
        def sharded(epoch):
            return [(lambda b=b: self._shard(b() if callable(b) else b))
                    for b in epoch_batches(epoch)]

        return sharded

    def _shard(self, batch):
        n_rows = len(batch.lengths)
        rows = np.arange(self.ctx.rank, n_rows, self.ctx.world_size)
        if len(rows):
            return select_rows(batch, rows), True
        # Fewer rows than ranks: compute on a stand-in row, weighted 0 below.
        return select_rows(batch, np.array([self.ctx.rank % n_rows])), False

    def loss_fn(self, module, shard):
        """``(loss, (n, weight))`` of this rank's rows, through the DDP wrapper."""
        batch, active = shard
        loss, n = self.batch_loss(self.ddp, batch)
        if not active:
            return loss * 0.0, (0, 0.0)
        return loss, (n, float(self.loss_weight(batch, n)))

    def reduce_loss(self, loss, counts):
        """Scale ``loss`` so that DDP's averaged gradient is the global mean's gradient.

        Returns the loss to back-propagate, the global batch's mean loss and
        its global item count (as single-process training reports them).
        """
        n, weight = counts
        stats = torch.tensor([loss.item() * weight, weight, n], dtype=torch.float64,
                             device=self.ctx._comm_device)
        dist.all_reduce(stats)
        total, global_weight, global_n = stats.tolist()
        value = total / global_weight if global_weight > 0 else total
        scale = self.ctx.world_size * weight / global_weight if global_weight > 0 else 0.0
        return loss * scale, value, int(round(global_n))

    def all_finite(self, finite):
        """True on every rank only if it is True on every rank."""
        flag = torch.tensor([1.0 if finite else 0.0], device=self.ctx._comm_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() > 0)


def _fingerprint(data, extra):
    """A short digest of the encoded data set (and anything else that must agree)."""
    h = hashlib.sha1()
    h.update(np.asarray(data.lengths, dtype=np.int64).tobytes())
    for part in (data.inputs, data.targets):
        if part is None:
            continue
        for a in ([part] if isinstance(part, np.ndarray) else part):
            h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(extra).encode())
    return h.hexdigest()


__all__ = ["is_distributed", "single_process"]
