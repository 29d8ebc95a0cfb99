"""Torch utilities every layer may use: device resolution, CPU copies, tensors as bytes.

Torch only (nothing of scikit-learn), so that services such as
:mod:`skrnn.persistence` and :mod:`skrnn.export` need not import the
estimator base class for them.
"""

from __future__ import annotations

import re
import threading
import warnings

import torch

_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


def _user_stacklevel():
    """The ``stacklevel`` that points a warning at the first caller outside skrnn and sklearn."""
    import inspect
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    level = 1
    frame = inspect.currentframe().f_back
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(here) or f"{os.sep}sklearn{os.sep}" in path):
            return level
        frame = frame.f_back
        level += 1
    return level


def resolve_device(device, *, fallback=False):
    """Turn the ``device`` parameter into a ``torch.device``.

    ``"auto"`` picks CUDA when available, else the CPU. With ``fallback``
    (used when unpickling), a CUDA device that this machine lacks becomes the
    CPU with a warning instead of an error.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise ValueError(
            "The 'device' parameter must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'. "
            f"Got {device!r} instead."
        )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        if fallback:
            warnings.warn(
                f"This estimator was fitted with device={device!r} but CUDA is not available "
                "here; it runs on the CPU.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
            return torch.device("cpu")
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine "
            "(torch.cuda.is_available() is False). Use device='auto' or 'cpu'."
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was requested but MPS is not available; use 'cpu'.")
    return torch.device(device)


def map_tensors(obj, fn):
    """``obj`` (nested dicts / lists / tuples) rebuilt with ``fn(t)`` for every tensor ``t``.

    Other leaves (numbers, strings, None: all a state dict holds) are kept as
    they are; the containers are new.
    """
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_tensors(v, fn) for v in obj)
    return obj


def _to_cpu(obj):
    """A copy of ``obj`` (nested dicts / lists / tuples) with every tensor detached on the CPU."""
    return map_tensors(obj, lambda t: t.detach().cpu())


def _tensor_bytes(obj):
    """``torch.save`` of a state dict, as bytes."""
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _tensors_from_bytes(blob):
    """Inverse of :func:`_tensor_bytes`: tensors and plain containers only, on the CPU."""
    if blob is None or isinstance(blob, dict):  # None: unfitted; dict: a pre-bytes pickle
        return blob
    import io

    return torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")


# -- glibc malloc: keep freed training buffers instead of unmapping them -------------------

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap. (32 MiB, the largest value
#: glibc's adaptive threshold reaches, still left the language model's
#: ~415k faults per 100k characters: it frees a larger block every step.)
_MMAP_THRESHOLD = 256 << 20
#: Free memory at the top of the heap kept before it is returned to the system.
_TRIM_THRESHOLD = 512 << 20
_malloc_state = {"libc": None, "tuned": False}
_malloc_lock = threading.Lock()


def _glibc():
    """The C library through ctypes where it is glibc with ``mallopt``; None elsewhere."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):
        return None
    return libc


def malloc_tuning_enabled():
    """Whether :func:`tuned_malloc` acts: not when ``SKRNN_MALLOC_TUNING`` is 0 / false / off."""
    import os

    value = os.environ.get("SKRNN_MALLOC_TUNING", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def tune_malloc():
    """Make glibc malloc keep freed training buffers for the next step (once per process).

    Every training step frees and re-allocates the same large tensors
    (activations, the fused LSTM's workspace, gradients). glibc returns
    blocks above its ``mmap`` threshold to the kernel at once and trims the
    top of its heap above a small threshold, so the next step's tensors
    arrive as fresh pages, each a page fault: measured for the character
    language model (2 x LSTM 256, batch 32 x 100), ~4,800 minor faults per
    100 characters and a sixth of the process's CPU time spent in the
    kernel. Inside a ``dask.distributed`` worker, whose
    ``MALLOC_TRIM_THRESHOLD_=65536`` trims even more eagerly, fits ran
    2-3x slower.

    The first call in the process sets glibc's ``M_MMAP_THRESHOLD`` to 256
    MiB (blocks up to that size come from the heap, and are reused) and
    ``M_TRIM_THRESHOLD`` to 512 MiB, with ``mallopt``. Both are
    process-wide and last for the rest of the process (glibc can neither
    read them back nor restore its adaptive thresholds), replacing any
    ``MALLOC_*_`` environment setting; :func:`release_memory` at the end of
    each fit hands what training freed back to the system, so a process
    does not keep a fit's peak. Measured: faults ~0 and the language model's
    training throughput +18% (CPU time) -- for a plain PyTorch loop run in
    the same process afterwards too.

    Only on Linux with glibc; elsewhere, or when the environment variable
    ``SKRNN_MALLOC_TUNING`` is ``0``, it does nothing.
    """
    if not malloc_tuning_enabled():
        return
    with _malloc_lock:
        if not _malloc_state["tuned"]:
            _malloc_state["tuned"] = True
            libc = _malloc_state["libc"] = _glibc()
            if libc is not None:
                libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
                libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def release_memory():
    """After :func:`tune_malloc`: return the heap's free memory to the system (``malloc_trim``).

    Called once per fit, not per epoch: a trimmed heap faults its pages in
    again (measured: trimming after each of 20 short epochs made a small
    classifier's fit 8% slower).
    """
    libc = _malloc_state["libc"]
    if libc is not None and malloc_tuning_enabled():
        libc.malloc_trim(0)
