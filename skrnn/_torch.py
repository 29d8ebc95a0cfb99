"""Torch utilities every layer may use: device resolution, CPU copies, tensors as bytes.

Torch only (nothing of scikit-learn), so that services such as
:mod:`skrnn.persistence` and :mod:`skrnn.export` need not import the
estimator base class for them.
"""

from __future__ import annotations

import re
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


def _to_cpu(obj):
    """A copy of ``obj`` (nested dicts / lists / tuples) with every tensor detached on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


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
