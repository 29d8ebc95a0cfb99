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

    Measured through MKL (``torch.mm``) and through oneDNN (the library of
    the fused RNN kernels); returns ``(higher, {"mkl": ..., "onednn": ...})``.
    On AMD CPUs MKL runs at about half of what oneDNN reaches, so ``torch.mm``
    alone understates the peak (and overstates a %-of-peak figure ~2x).
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

    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    rates = {"mkl": best_rate(lambda: torch.mm(a, b, out=c))}
    try:
        am, bm = a.to_mkldnn(), b.to_mkldnn()
        rates["onednn"] = best_rate(lambda: torch._C._nn.mkldnn_linear(am, bm))
    except (AttributeError, RuntimeError):  # a build without oneDNN
        rates["onednn"] = None
    return max(r for r in rates.values() if r is not None), rates


def measure_peak(label="1 thread"):
    """Measure :func:`matmul_peak_gflops` and print it; return ``(peak, rates)``."""
    peak, rates = matmul_peak_gflops()
    print(f"float32 matmul peak, {label}: {peak:.1f} GFLOP/s (torch.mm / MKL "
          f"{rates['mkl']:.1f}, oneDNN {rates['onednn'] or 0:.1f})", flush=True)
    return peak, rates


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
