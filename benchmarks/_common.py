"""Helpers every benchmark shares: clocks, the machine's peak, versions, the JSON report.

Imported by the scripts in this folder (``python benchmarks/<name>.py`` puts the
folder on ``sys.path``); not part of the skrnn package.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Clock:
    """Wall and process CPU time of a block.

    CPU time is what other load on the machine does not inflate (with one
    torch thread). Use as ``with Clock() as c:`` or ``c = Clock().start()`` …
    ``c.stop()``; then read ``c.wall`` and ``c.cpu``.
    """

    def start(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def elapsed(self):
        return time.perf_counter() - self.wall0

    def stop(self):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        return self

    __enter__ = start

    def __exit__(self, *exc):
        self.stop()


def matmul_peak_gflops(n=2048, repeats=10):
    """Best-of-``repeats`` float32 ``n`` x ``n`` matrix product rate on the current thread budget.

    Measured through MKL (``torch.mm`` with oneDNN switched off:
    ``torch.backends.mkldnn.flags(enabled=False)``) and through oneDNN, the
    library of the fused RNN kernels (``torch.mm`` with it on, and oneDNN's
    own linear product; the faster of the two); returns ``(higher, {"mkl":
    ..., "onednn": ...})`` in GFLOP/s. On AMD CPUs MKL runs at about half of
    what oneDNN reaches, so MKL alone understates the peak (and overstates a
    %-of-peak figure ~2x).
    """
    import torch

    def best_rate(fn):
        fn()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return 2 * n**3 / best / 1e9

    import warnings

    a, b = torch.randn(n, n), torch.randn(n, n)
    with warnings.catch_warnings():  # flags() warns that TF32 needs an Intel GPU
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            rates = {"mkl": best_rate(lambda: torch.mm(a, b))}
        onednn = []
        if torch.backends.mkldnn.is_available():
            with torch.backends.mkldnn.flags(enabled=True):
                onednn.append(best_rate(lambda: torch.mm(a, b)))
        try:
            am, bm = a.to_mkldnn(), b.to_mkldnn()
            onednn.append(best_rate(lambda: torch._C._nn.mkldnn_linear(am, bm)))
        except (AttributeError, RuntimeError):
            pass
    rates["onednn"] = max(onednn) if onednn else None
    return max(r for r in rates.values() if r is not None), rates


def measure_peak(label="1 thread"):
    """Measure :func:`matmul_peak_gflops` and print it; return ``(peak, rates)``."""
    peak, rates = matmul_peak_gflops()
    print(f"float32 matmul peak, {label}: {peak:.1f} GFLOP/s (MKL {rates['mkl']:.1f}, "
          f"oneDNN {rates['onednn'] or 0:.1f})", flush=True)
    return peak, rates


# -- training FLOPs: matrix products only, x2 per multiply-add, x3 for forward + backward ------

#: Gate blocks of each cell's input and recurrent weights.
CELL_GATES = {"rnn": 1, "gru": 3, "lstm": 4, "peephole": 4}


def recurrent_flops(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    """Forward FLOPs per step of a recurrent stack: ``2 * G * H * (I + H)`` per layer and
    direction (the gate products; biases, nonlinearities and padding not counted)."""
    gates, directions = CELL_GATES[cell], 2 if bidirectional else 1
    total, size = 0, input_size
    for _ in range(num_layers):
        total += directions * 2 * gates * hidden_size * (size + hidden_size)
        size = directions * hidden_size
    return total


def linear_flops(n_in, n_out):
    """Forward FLOPs of one ``n_in -> n_out`` linear layer per row."""
    return 2 * n_in * n_out


def train_flops(forward_flops):
    """Training FLOPs from forward FLOPs: the backward pass costs about twice the forward
    (gradients with respect to inputs and weights)."""
    return 3 * forward_flops


def peak_fraction(items_per_s, flops_per_item, peak_gflops):
    """``(achieved GFLOP/s, fraction of the peak)`` of a training rate."""
    achieved = items_per_s * flops_per_item / 1e9
    return achieved, achieved / peak_gflops


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def versions(*extra):
    """Installed versions of python, torch, numpy, scikit-learn, skrnn and ``extra`` dists."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("torch", "numpy", "scikit-learn", "skrnn", *extra):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def source_revision():
    """The repository's commit (and whether skrnn/ has uncommitted changes), if known."""

    def git(*cmd):
        return subprocess.run(["git", *cmd], cwd=HERE.parent, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None,
                "skrnn_modified": bool(git("status", "--porcelain", "--", "skrnn"))}
    except (OSError, subprocess.SubprocessError):
        return None


def load():
    """The 1-minute load average (other work on the machine skews timings)."""
    return os.getloadavg()[0]


def write_report(report, path, announce=True):
    """Write ``report`` as JSON to ``path`` (creating its folder), stamped with the date.

    The file is replaced atomically: a run interrupted while writing keeps the
    previous report instead of leaving a truncated JSON file.
    """
    # Imported here, as torch is above: importing _common stays cheap (skrnn imports torch).
    from skrnn._files import write_text

    report.setdefault("date", time.strftime("%Y-%m-%dT%H:%M:%S"))
    # Serialised before anything is touched: a value json cannot encode fails here.
    text = json.dumps(report, indent=2, default=float) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    if announce:
        print(f"\nwrote {path}")
