#!/usr/bin/env python
"""Training time of every cell of the cell table, as a ratio to torch's fused ``nn.LSTM``.

Two measurements, side by side in one run, one torch thread:

* ``tagger``: one epoch of ``SequenceTagger(cell=...)`` at its default size (bidirectional,
  hidden 128, batch 32, word embeddings + character CNN) on Brown sentences
  (``skrnn.datasets.load_brown_pos``, bundled), everything else default. What a user waits for.
* ``stack``: the recurrent stack alone (``skrnn.modules.RecurrentStack``, bidirectional,
  128 -> 128) forward + backward on the same batches' shapes. Isolates the cell.

Times are process CPU seconds (with one thread, what other load on a shared machine inflates
least); the cells are run in rotated order ``--repeats`` times and each cell's best time is
kept. The ratio column is ``time / time of "lstm"``. The peephole LSTM has no fused torch
kernel: its input projection over all steps is one matrix product and only the recurrent
part loops in Python, with a hand-written backward (``skrnn.cells._PeepholeFunction``).
Target (issue: cells as one spec): peephole training at most 2.5x the fused LSTM's.

How to run (from the repository root, skrnn importable)::

    python benchmarks/cells.py                  # 1000 sentences, 3 repeats: ~3 min on 2 cores
    python benchmarks/cells.py --quick          # 200 sentences, 1 repeat: < 1 min

Writes the table and ``benchmarks/results/cells.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from _common import HERE, Clock, cpu_name, load, source_revision, versions, write_report

DEFAULT_OUT = HERE / "results" / "cells.json"


def brown(n):
    from skrnn.datasets import load_brown_pos

    X, y = load_brown_pos(subset="train")
    return X[:n], y[:n]


def time_tagger(cell, X, y):
    from skrnn import SequenceTagger

    est = SequenceTagger(cell=cell, max_epochs=1, early_stopping=False, random_state=0,
                         device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Clock() as clock:
            est.fit(X, y)
    return clock.cpu


def stack_batches(X, batch_size=32, width=128, seed=0):
    """Random inputs with the shapes of the tagger's length-bucketed batches of X."""
    import numpy as np
    import torch

    from skrnn.data import bucket_batches

    lengths = np.array([len(s) for s in X])
    rng = np.random.RandomState(seed)
    g = torch.Generator().manual_seed(seed)
    out = []
    for idx in bucket_batches(lengths, batch_size, rng):
        lens = torch.as_tensor(lengths[idx])
        out.append((torch.randn(len(idx), int(lens.max()), width, generator=g), lens))
    return out


def time_stack(cell, batches):
    import torch

    from skrnn.modules import RecurrentStack

    torch.manual_seed(0)
    stack = RecurrentStack(cell, 128, 128, bidirectional=True)
    with Clock() as clock:
        for x, lengths in batches:
            out, _ = stack(x, lengths)
            out.sum().backward()
    return clock.cpu


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="200 sentences, 1 repeat")
    p.add_argument("--sentences", type=int, default=None, help="Brown training sentences "
                   "(default 1000; 200 with --quick)")
    p.add_argument("--repeats", type=int, default=None, help="rotations (default 3; 1 quick)")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    import torch

    from skrnn.cells import CELLS

    torch.set_num_threads(1)
    n = args.sentences or (200 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 3)
    X, y = brown(n)
    batches = stack_batches(X)
    names = list(CELLS)
    best = {name: {"tagger": float("inf"), "stack": float("inf")} for name in names}
    # Warm-up (first-call costs: oneDNN set-up, lazy imports) outside the clock.
    time_stack("lstm", batches[:2])
    time_stack("peephole", batches[:2])
    time_tagger("lstm", X[:64], y[:64])
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            best[name]["tagger"] = min(best[name]["tagger"], time_tagger(name, X, y))
            best[name]["stack"] = min(best[name]["stack"], time_stack(name, batches))
            print(f"  repeat {r + 1}/{repeats} {name:9s} tagger {best[name]['tagger']:6.2f} s"
                  f"  stack {best[name]['stack']:6.2f} s", flush=True)
    base = best["lstm"]
    rows = [dict(cell=name, tagger_s=t["tagger"], tagger_ratio=t["tagger"] / base["tagger"],
                 stack_s=t["stack"], stack_ratio=t["stack"] / base["stack"])
            for name, t in best.items()]
    print(f"\n{n} Brown sentences, batch 32, bidirectional hidden 128, 1 thread, best of "
          f"{repeats} (CPU s); ratio = time / lstm's")
    print(f"{'cell':10s} {'tagger s':>9s} {'ratio':>6s} {'stack s':>9s} {'ratio':>6s}")
    for row in rows:
        print(f"{row['cell']:10s} {row['tagger_s']:9.2f} {row['tagger_ratio']:6.2f} "
              f"{row['stack_s']:9.2f} {row['stack_ratio']:6.2f}")
    peephole = next(r for r in rows if r["cell"] == "peephole")
    verdict = "met" if peephole["tagger_ratio"] <= 2.5 else "NOT met"
    print(f"\npeephole tagger training {peephole['tagger_ratio']:.2f}x the fused LSTM's "
          f"(target <= 2.5x: {verdict})")
    report = dict(benchmark="cells", sentences=n, repeats=repeats, rows=rows,
                  target_peephole_ratio=2.5, target_met=verdict == "met", cpu=cpu_name(),
                  load_1min=load(), versions=versions(), source=source_revision())
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
