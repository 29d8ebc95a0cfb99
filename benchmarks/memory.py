#!/usr/bin/env python
"""Memory benchmark: does prediction stream, or does its peak memory grow with the data?

What is measured
----------------
For every estimator and every data size, in a fresh Python process (so that no allocator
cache or earlier run is counted), on one CPU thread:

1. build synthetic but structured input of about N tokens (steps):

   * ``tagger``     -- :meth:`skrnn.SequenceTagger.predict` on sentences of 10-30 words from
     a 40-word vocabulary (determiner / noun / verb phrases; character CNN on);
   * ``lm``         -- :meth:`skrnn.LanguageModel.score` (mean log-likelihood) on strings
     of 50-150 characters over a 12-letter alphabet (character level);
   * ``classifier`` -- :meth:`skrnn.SequenceClassifier.predict_proba` on the tagger's kind
     of sentences;
   * ``regressor``  -- :meth:`skrnn.SequenceRegressor.predict` on float32 series of 10-30
     steps with 4 features;

2. fit a tiny model (hidden 16, 1 epoch) on the first 200 sequences;
3. ``gc.collect()``, read the resident set size (``VmRSS`` in ``/proc/self/status``), reset
   the process's peak (writing ``5`` to ``/proc/self/clear_refs``; on systems without it,
   ``ru_maxrss`` is used and the figure is an upper bound), call the prediction method, read
   the peak (``VmHWM``).

``overhead`` = peak during the call - RSS before it: everything the call held at once
(torch's CPU allocations included, which ``tracemalloc`` cannot see). It is compared with

* ``output``  -- the bytes of the returned object (numpy ``nbytes`` plus list and array
  headers, measured with ``sys.getsizeof``), which the call cannot avoid holding;
* ``input``   -- the bytes of the caller's X (lists, arrays and string objects; the shared
  word strings are counted once).

Streaming means ``overhead - output`` stays flat as N grows: batches are encoded, run and
freed one at a time. ``extra/Mtok`` is the growth of ``overhead - output`` per million
tokens between the smallest and largest size (0 when it streams).

How to run
----------
From the repository root::

    python benchmarks/memory.py            # 10k, 100k and 1M tokens per estimator, ~3 min
    python benchmarks/memory.py --quick    # 10k and 100k tokens, ~40 s
    python benchmarks/memory.py --estimators tagger,lm --sizes 10000,2000000

The table is printed and the JSON written to ``benchmarks/results/memory.json``
(``--out`` to change). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "memory.json"

# Run from a source checkout without installing: make the repository root importable.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import cpu_name, source_revision, versions, write_report  # noqa: E402

ALL_ESTIMATORS = ("tagger", "lm", "classifier", "regressor")
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
N_FIT = 200  # sequences of the tiny fit
SEED = 0
MIB = 2**20

WORDS = dict(
    det=["the", "a", "every", "some", "this", "that", "no", "my"],
    adj=["big", "small", "red", "old", "quick", "lazy", "happy", "green"],
    noun=["dog", "cat", "bird", "fish", "house", "tree", "car", "river", "city", "child",
          "teacher", "garden"],
    verb=["runs", "eats", "sees", "likes", "jumps", "sleeps", "reads", "finds"],
    prep=["in", "on", "under", "near"],
)
TAG = dict(det="DET", adj="ADJ", noun="NOUN", verb="VERB", prep="ADP")
LETTERS = "abcdefgh ijk"


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def sentences(n_tokens, rng):
    """Sentences of 10-30 words (phrases: det [adj] noun verb [prep det noun]) with tags."""
    X, y, total = [], [], 0
    while total < n_tokens:
        words, tags = [], []
        target = rng.randint(10, 31)
        while len(words) < target:
            kinds = ["det"] + (["adj"] if rng.rand() < 0.5 else []) + ["noun", "verb"]
            if rng.rand() < 0.5:
                kinds += ["prep", "det", "noun"]
            for k in kinds:
                options = WORDS[k]
                words.append(options[rng.randint(len(options))])
                tags.append(TAG[k])
        X.append(words[:target])
        y.append(tags[:target])
        total += target
    return X, y


def texts(n_chars, rng):
    """Strings of 50-150 characters: repeated short 'words' over a 12-letter alphabet."""
    syllables = ["ab", "cad", "efg", "hi", "jk", "bead", "fig", "dig"]
    out, total = [], 0
    while total < n_chars:
        target = rng.randint(50, 151)
        s = ""
        while len(s) < target:
            s += syllables[rng.randint(len(syllables))] + " "
        out.append(s[:target])
        total += target
    return out


def series(n_steps, rng):
    """Float32 series of 10-30 steps, 4 features; the target is a noisy mean of feature 0."""
    X, y, total = [], [], 0
    while total < n_steps:
        t = rng.randint(10, 31)
        x = rng.randn(t, 4).astype(np.float32)
        X.append(x)
        y.append(float(x[:, 0].mean() + 0.1 * rng.randn()))
        total += t
    return X, y


def make_task(name, n_tokens, rng):
    """(estimator, fit X, fit y, predict X, method name)."""
    from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger

    small = dict(hidden_size=16, max_epochs=1, early_stopping=False, random_state=SEED,
                 device="cpu")
    if name == "tagger":
        X, y = sentences(n_tokens, rng)
        est = SequenceTagger(embedding_dim=16, char_embedding_dim=8, char_filters=16, **small)
        return est, X[:N_FIT], y[:N_FIT], X, "predict"
    if name == "lm":
        X = texts(n_tokens, rng)
        est = LanguageModel(num_layers=1, embedding_dim=16, **small)
        return est, X[:N_FIT], None, X, "score"
    if name == "classifier":
        X, _ = sentences(n_tokens, rng)
        y = ["cat" if "cat" in s else "other" for s in X]
        est = SequenceClassifier(embedding_dim=16, char_embedding_dim=8, char_filters=16,
                                 **small)
        return est, X[:N_FIT], y[:N_FIT], X, "predict_proba"
    if name == "regressor":
        X, y = series(n_tokens, rng)
        est = SequenceRegressor(**small)
        return est, X[:N_FIT], y[:N_FIT], X, "predict"
    raise ValueError(f"unknown estimator {name!r}; choose from {ALL_ESTIMATORS}")


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def deep_bytes(obj, seen=None):
    """Bytes of lists / tuples / numpy arrays / strings / numbers, shared objects counted once."""
    if seen is None:
        seen = set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        size = sys.getsizeof(obj) + (obj.nbytes if obj.base is not None else 0)
        if obj.dtype == object:
            size += sum(deep_bytes(o, seen) for o in obj.ravel())
        return size
    size = sys.getsizeof(obj)
    if isinstance(obj, (list, tuple)):
        size += sum(deep_bytes(o, seen) for o in obj)
    return size


def child(name, n_tokens):
    """Run one (estimator, size) measurement in this process; return its record."""
    torch.set_num_threads(1)
    rng = np.random.RandomState(SEED)
    est, X_fit, y_fit, X, method = make_task(name, n_tokens, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_fit, y_fit)
    input_bytes = deep_bytes(X)
    n_steps = int(sum(len(s) for s in X))
    fn = getattr(est, method)
    fn(X[:N_FIT])  # first-call costs (kernel creation, lazy imports) are not the data's
    gc.collect()
    rss_before = _status_kib("VmRSS")
    exact = reset_peak()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tic = time.perf_counter()
    out = fn(X)
    seconds = time.perf_counter() - tic
    peak = _status_kib("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    overhead = max(peak - rss_before, 0) * 1024
    if not exact and maxrss_before > rss_before:
        overhead = max(peak - maxrss_before, 0) * 1024  # a lower bound then
    output_bytes = deep_bytes(out)
    return dict(
        estimator=name, method=method, n_tokens=n_steps, n_sequences=len(X),
        input_bytes=input_bytes, output_bytes=output_bytes, overhead_bytes=overhead,
        extra_bytes=overhead - output_bytes, rss_before_bytes=rss_before * 1024,
        peak_reset=exact, predict_s=seconds,
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def run_child(name, n_tokens):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, str(n_tokens)]
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} at {n_tokens} tokens failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def growth_per_mtok(rows):
    """Growth of (overhead - output) per million tokens, smallest to largest size."""
    rows = sorted(rows, key=lambda r: r["n_tokens"])
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    return (b["extra_bytes"] - a["extra_bytes"]) / (b["n_tokens"] - a["n_tokens"]) * 1e6


def print_table(results, growth):
    cols = [("estimator", "<10"), ("method", "<13"), ("tokens", ">9"), ("seqs", ">7"),
            ("input MiB", ">9"), ("output MiB", ">10"), ("overhead MiB", ">12"),
            ("extra MiB", ">9"), ("seconds", ">7")]
    head = " ".join(format(name, spec) for name, spec in cols)
    print("\n" + head + "\n" + "-" * len(head))
    for r in results:
        cells = [r["estimator"], r["method"], r["n_tokens"], r["n_sequences"],
                 r["input_bytes"] / MIB, r["output_bytes"] / MIB, r["overhead_bytes"] / MIB,
                 r["extra_bytes"] / MIB, r["predict_s"]]
        specs = ["<10", "<13", ">9d", ">7d", ">9.2f", ">10.2f", ">12.2f", ">9.2f", ">7.2f"]
        print(" ".join(format(c, s) for c, s in zip(cells, specs, strict=True)))
    print("\nextra = overhead - output; growth of extra per million tokens (0: streams):")
    for name, g in growth.items():
        print(f"  {name:<10} {'-' if g is None else f'{g / MIB:+.2f} MiB/Mtok'}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"sizes {','.join(map(str, QUICK_SIZES))} only (~40 s)")
    p.add_argument("--estimators", default=",".join(ALL_ESTIMATORS),
                   help="comma-separated subset of %(default)s")
    p.add_argument("--sizes", help="comma-separated token counts (default "
                   f"{','.join(map(str, FULL_SIZES))})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    p.add_argument("--child", nargs=2, metavar=("ESTIMATOR", "N_TOKENS"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.estimators = [e for e in args.estimators.split(",") if e]
    bad = sorted(set(args.estimators) - set(ALL_ESTIMATORS))
    if bad:
        p.error(f"unknown estimators {bad}; choose from {', '.join(ALL_ESTIMATORS)}")
    if args.sizes:
        try:
            args.sizes = tuple(int(s) for s in args.sizes.split(",") if s)
        except ValueError:
            p.error(f"--sizes must be comma-separated integers; got {args.sizes!r}")
    else:
        args.sizes = QUICK_SIZES if args.quick else FULL_SIZES
    if not args.sizes or min(args.sizes) <= N_FIT * 30:
        p.error(f"every size must exceed {N_FIT * 30} tokens (the fit slice)")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return None
    if not os.path.exists("/proc/self/status"):
        sys.exit("memory.py needs Linux's /proc to read the resident set size.")
    results = []
    for name in args.estimators:
        for size in args.sizes:
            print(f"  {name} {size} tokens ...", end=" ", flush=True)
            r = run_child(name, size)
            results.append(r)
            print(f"overhead {r['overhead_bytes'] / MIB:.2f} MiB, output "
                  f"{r['output_bytes'] / MIB:.2f} MiB, {r['predict_s']:.2f} s", flush=True)
    growth = {n: growth_per_mtok([r for r in results if r["estimator"] == n])
              for n in args.estimators}
    print_table(results, growth)
    report = dict(
        benchmark="memory", quick=args.quick, sizes=list(args.sizes), fit_sequences=N_FIT,
        torch_threads=1, cpu=cpu_name(), source=source_revision(),
        cpu_count=os.cpu_count(), versions=versions(), results=results,
        extra_growth_bytes_per_mtok=growth, date=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
