#!/usr/bin/env python
"""Parallel hyperparameter search: one process vs joblib's loky, dask.distributed and Ray.

What is compared
----------------
The same ``GridSearchCV`` (``refit=False``: only the search is timed) over a small
:class:`skrnn.SequenceTagger` on a slice of the bundled Brown corpus
(``skrnn.datasets.load_brown_pos``, 3,000 sentences; hidden size 64, 3 epochs per fit), grid
``cell`` x ``bidirectional`` (6 candidates) x 3 folds, run six ways on this machine:

* ``sequential`` -- ``n_jobs=1``: the fits run one after another in this process, each on
  *all* the cores (torch's default: one thread per core). The fair baseline: a single fit
  already uses every core it can.
* ``sequential-1t`` -- the same on one torch thread (``torch.set_num_threads(1)``): not a
  baseline, it shows how much a small recurrent fit gains from more than one thread.
* ``loky``       -- ``n_jobs=N`` (N = number of cores, ``--n-jobs``): joblib's default
  backend, N worker processes; joblib gives each ``cpu_count // N`` threads.
* ``dask``       -- ``with joblib.parallel_backend("dask")`` on a
  ``distributed.LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` on
  loopback; dask's Nanny starts every worker with ``OMP_NUM_THREADS=1``.
* ``dask-tuned`` -- the same with ``MALLOC_TRIM_THRESHOLD_`` removed from dask's
  ``distributed.nanny.pre-spawn-environ`` (dask sets it to 65536 by default; setting it turns
  off glibc's adaptive mmap threshold, so every tensor above 128 KiB is a fresh ``mmap``, page
  faults and ``munmap``: measured 2-3x slower fits of this tagger in a worker, before skrnn
  set glibc's thresholds itself). Kept as a check that skrnn no longer needs it: since
  ``skrnn._torch.tune_malloc`` default workers run as fast (45.4 s vs 44.9 s, 2026-12-02).
* ``ray``        -- ``ray.init(num_cpus=N)``, ``ray.util.joblib.register_ray()``,
  ``with joblib.parallel_backend("ray")``; Ray starts every 1-CPU worker with
  ``OMP_NUM_THREADS=1``.

Every fit records ``torch.get_num_threads()`` (column ``thr/fit``), so the table shows that no
worker oversubscribes the cores. The fits are seeded (``random_state=0``): all backends
must give the same cross-validation scores. ``acc=`` says whether every split's token accuracy
equals the sequential run's; ``loss diff`` is the largest difference of a fit's final training
loss from the sequential run's (0 = bit-identical training; the sequential run uses more torch
threads than a worker, and with more threads a float sum may be split and rounded
differently, so tiny differences are expected).

How to run
----------
From the repository root (``pip install -e .`` plus ``dask[distributed]`` and/or ``ray``;
a backend that is not installed is skipped with a note)::

    python benchmarks/parallel_search.py           # full run: ~15 min on 2 cores
    python benchmarks/parallel_search.py --quick   # smoke run: tiny grid, < 2 min
                                                   # (proves it runs; too short to rank)
    python benchmarks/parallel_search.py --backends sequential,loky --repeats 5

Each backend first runs a tiny search untimed (workers start, import torch and skrnn, oneDNN
creates its kernels), so start-up costs do not land on the timed runs; the start-up of the
dask cluster and of Ray is reported separately. ``--repeats R`` runs every backend R times in
rounds (sequential, sequential-1t, loky, dask, ..., sequential, ...) and reports each one's
fastest run; all run times are kept in the JSON. The dask clusters and Ray stay up, idle
between their turns, for the whole run. The table is printed and the JSON written to
``benchmarks/results/parallel_search.json`` (``--out`` to change).

The speed-up needs a quiet machine: ``load`` shows the 1-minute load average before -> after
each backend's fastest run. The search's own processes count (N busy workers pull it towards
N); clearly more than the number of cores means other programs competed for them.

``OMP_WAIT_POLICY`` is set to ``PASSIVE`` before torch is imported unless it is already set
(``--omp-wait-policy`` to choose; ``unset`` leaves OpenMP's default): spinning OpenMP threads
make oneDNN's recurrent kernels much slower whenever another process wants the core. The
worker processes of all the parallel backends inherit it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import warnings
from pathlib import Path


def _early_wait_policy(argv):
    """Apply --omp-wait-policy before torch is imported (OpenMP reads it once, at start)."""
    policy = "PASSIVE"
    for i, arg in enumerate(argv):
        if arg == "--omp-wait-policy" and i + 1 < len(argv):
            policy = argv[i + 1]
        elif arg.startswith("--omp-wait-policy="):
            policy = arg.split("=", 1)[1]
    if policy == "unset":
        return
    os.environ.setdefault("OMP_WAIT_POLICY", policy)


if __name__ == "__main__":
    _early_wait_policy(sys.argv[1:])

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import cpu_name, source_revision, versions, write_report  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skrnn import SequenceTagger  # noqa: E402
from skrnn.datasets import load_brown_pos  # noqa: E402
from skrnn.metrics import token_accuracy_scorer  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "parallel_search.json"
ALL_BACKENDS = ("sequential", "sequential-1t", "loky", "dask", "dask-tuned", "ray")

HP = dict(hidden_size=64, embedding_dim=32, char_embedding_dim=16, char_filters=16,
          batch_size=32, early_stopping=False, random_state=0, device="cpu")
FULL = dict(sentences=3000, epochs=3, folds=3,
            grid={"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]})
QUICK = dict(sentences=150, epochs=1, folds=2,
             grid={"cell": ["rnn", "lstm"], "bidirectional": [False, True]})
WARMUP = dict(sentences=40, epochs=1, folds=2, grid={"cell": ["rnn", "lstm"]})


# Scorers: module-level so that every backend's workers can unpickle them.
def _threads(estimator, X, y):
    return float(torch.get_num_threads())


def _final_loss(estimator, X, y):
    return float(estimator.loss_curve_[-1])


SCORING = {"acc": token_accuracy_scorer, "loss": _final_loss, "threads": _threads}


def search(X, y, cfg, n_jobs):
    gs = GridSearchCV(SequenceTagger(max_epochs=cfg["epochs"], **HP), cfg["grid"],
                      cv=KFold(cfg["folds"]), scoring=SCORING, refit=False, n_jobs=n_jobs,
                      error_score="raise")
    with warnings.catch_warnings():
        # A fixed epoch budget is the point: every backend does the same work.
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        gs.fit(X, y)
        seconds = time.perf_counter() - t0
    res = gs.cv_results_
    splits = {m: np.array([res[f"split{k}_test_{m}"] for k in range(cfg["folds"])])
              for m in SCORING}
    return seconds, splits


@contextlib.contextmanager
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# Backends: each is a context manager factory (entered around a search) and its n_jobs
# --------------------------------------------------------------------------------------------


class Backends:
    """Start the engines once, hand out joblib contexts, shut everything down at the end."""

    def __init__(self, names, n_jobs, notes):
        self.n_jobs, self.notes = n_jobs, notes
        self.startup_s, self.available = {}, []
        self._dask = {}  # name -> (cluster, client)
        self._ray = None
        for name in names:
            try:
                getattr(self, "_start_" + name.replace("-", "_"))()
            except ImportError as exc:
                notes.append(f"{name} skipped: {exc} (install it to include it)")
                continue
            self.available.append(name)

    def _start_sequential(self):
        pass

    _start_sequential_1t = _start_sequential

    def _start_loky(self):
        pass

    def _start_dask(self, name="dask", config=None):
        import dask
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        # The nannies run in this process and write dask's pre-spawn-environ
        # (OMP_NUM_THREADS=1, ...) into os.environ; keep it from reaching other processes.
        saved = dict(os.environ)
        with dask.config.set(config or {}):
            cluster = LocalCluster(n_workers=self.n_jobs, threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
        self._dask[name] = (cluster, Client(cluster, set_as_default=False))
        os.environ.clear()
        os.environ.update(saved)
        self.startup_s[name] = time.perf_counter() - t0

    def _start_dask_tuned(self):
        import dask
        import distributed  # noqa: F401 - registers dask's "distributed" configuration

        # dask's pre-spawn-environ less MALLOC_TRIM_THRESHOLD_: setting it fixes glibc's mmap
        # threshold at 128 KiB, so every larger tensor is a fresh mmap + page faults + munmap.
        environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                   if k != "MALLOC_TRIM_THRESHOLD_"}
        self._start_dask("dask-tuned", {"distributed.nanny.pre-spawn-environ": environ})

    def _start_ray(self):
        import ray
        from ray.util.joblib import register_ray

        t0 = time.perf_counter()
        ray.init(num_cpus=self.n_jobs, include_dashboard=False, log_to_driver=False,
                 logging_level="error")
        register_ray()
        self._ray = ray
        self.startup_s["ray"] = time.perf_counter() - t0

    def n_jobs_of(self, name):
        return 1 if name.startswith("sequential") else self.n_jobs

    def context(self, name):
        """The joblib backend context (enter it around a search) and the search's n_jobs."""
        if name == "sequential-1t":
            return one_torch_thread(), 1
        if name in self._dask:
            client = self._dask[name][1]
            return joblib.parallel_config(backend="dask", client=client), self.n_jobs
        backend = "loky" if name == "sequential" else name  # n_jobs=1 runs in this process
        return joblib.parallel_config(backend=backend), self.n_jobs_of(name)

    def workers(self, name):
        """Processes x threads per process, in words."""
        return {"sequential": "1 (this) x all cores", "sequential-1t": "1 (this) x 1 thread",
                "loky": f"{self.n_jobs} x joblib's share",
                "dask": f"{self.n_jobs} x 1 thread", "dask-tuned": f"{self.n_jobs} x 1 thread",
                "ray": f"{self.n_jobs} x 1 CPU"}[name]

    def close(self):
        for cluster, client in self._dask.values():
            client.close()
            cluster.close()
        if self._ray is not None:
            self._ray.shutdown()


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK['sentences']} sentences, 1 epoch, 4 candidates x 2 folds: "
                        "a smoke run")
    p.add_argument("--backends", default=",".join(ALL_BACKENDS),
                   help="comma-separated subset of %(default)s (sequential is the baseline)")
    p.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1,
                   help="workers of the parallel backends (default: the number of cores, "
                        "%(default)s)")
    p.add_argument("--sentences", type=int,
                   help=f"Brown training sentences searched over (default {FULL['sentences']}; "
                        f"quick {QUICK['sentences']})")
    p.add_argument("--epochs", type=int,
                   help=f"epochs per fit (default {FULL['epochs']}; quick {QUICK['epochs']})")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs per backend, in rounds; the fastest is reported "
                        "(default %(default)s)")
    p.add_argument("--omp-wait-policy", choices=("PASSIVE", "ACTIVE", "unset"),
                   default="PASSIVE",
                   help="OMP_WAIT_POLICY set before torch is imported unless already in the "
                        "environment (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.n_jobs < 2:
        p.error("--n-jobs must be >= 2 (the parallel backends need at least two workers)")
    chosen = [b for b in args.backends.split(",") if b]
    bad = sorted(set(chosen) - set(ALL_BACKENDS))
    if bad:
        p.error(f"--backends: unknown {bad}; choose from {','.join(ALL_BACKENDS)}")
    # The baseline first: speed-ups are relative to it.
    args.backends = [b for b in ALL_BACKENDS if b in chosen]
    return args


def settings(args):
    cfg = dict(QUICK if args.quick else FULL)
    for key in ("sentences", "epochs"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    return cfg


def compare(splits, reference):
    """Whether every split's accuracy equals the reference's, and the largest loss difference."""
    if reference is None:
        return None, None
    return (bool(np.array_equal(splits["acc"], reference["acc"])),
            float(np.max(np.abs(splits["loss"] - reference["loss"]))))


def main(argv=None):
    args = parse_args(argv)
    cfg = settings(args)
    X_all, y_all = load_brown_pos("train")
    X, y = X_all[:cfg["sentences"]], y_all[:cfg["sentences"]]
    Xw, yw = X_all[:WARMUP["sentences"]], y_all[:WARMUP["sentences"]]
    n_candidates = int(np.prod([len(v) for v in cfg["grid"].values()]))
    n_fits = n_candidates * cfg["folds"]
    print(f"{len(X)} Brown sentences / {sum(map(len, X))} tokens; grid {cfg['grid']}: "
          f"{n_candidates} candidates x {cfg['folds']} folds = {n_fits} fits of "
          f"{cfg['epochs']} epoch(s); {os.cpu_count()} cores; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}", flush=True)

    notes = []
    backends = Backends(args.backends, args.n_jobs, notes)
    if "ray" in backends.available:
        notes.append("ray: ray.util.joblib starts a new pool of actors (each importing torch) "
                     "for every search; search_s includes it")
    try:
        for name in backends.available:
            # Untimed: worker start-up, imports and oneDNN kernel creation land here.
            ctx, n_jobs = backends.context(name)
            with ctx:
                search(Xw, yw, WARMUP, n_jobs)
        runs = {name: [] for name in backends.available}
        for rep in range(args.repeats):  # rounds: A B C D, A B C D, ...
            for name in backends.available:
                print(f"  round {rep + 1}: {name} ...", end=" ", flush=True)
                ctx, n_jobs = backends.context(name)
                load_before = os.getloadavg()[0]
                with ctx:
                    seconds, splits = search(X, y, cfg, n_jobs)
                runs[name].append(dict(search_s=seconds, splits=splits,
                                       loadavg_1min=[load_before, os.getloadavg()[0]]))
                print(f"{seconds:.1f} s", flush=True)
    finally:
        backends.close()

    reference = runs["sequential"][0]["splits"] if "sequential" in runs else None
    if reference is None:
        notes.append("no sequential run: no speed-ups, scores compared with nothing")
    base_s = min(r["search_s"] for r in runs["sequential"]) if reference is not None else None
    results = []
    for name, rs in runs.items():
        best = min(rs, key=lambda r: r["search_s"])  # the least disturbed run
        same = [compare(r["splits"], reference) for r in rs]
        threads = sorted({int(t) for r in rs for t in r["splits"]["threads"].ravel()})
        results.append(dict(
            backend=name, n_jobs=backends.n_jobs_of(name), workers=backends.workers(name),
            torch_threads_per_fit=threads, search_s=best["search_s"],
            search_s_runs=[r["search_s"] for r in rs],
            fits_per_s=n_fits / best["search_s"],
            speedup=None if base_s is None else base_s / best["search_s"],
            startup_s=backends.startup_s.get(name),
            accuracy_equal=None if reference is None else all(s[0] for s in same),
            max_loss_difference=None if reference is None else max(s[1] for s in same),
            loadavg_1min=best["loadavg_1min"],
            mean_test_accuracy=best["splits"]["acc"].mean(0).tolist()))

    print_table(results, notes)
    report = dict(
        benchmark="parallel_search", quick=args.quick, settings=cfg, hyperparameters=HP,
        n_fits=n_fits, n_jobs=args.n_jobs, repeats=args.repeats,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
        torch_threads_main=torch.get_num_threads(), cpu=cpu_name(), cpu_count=os.cpu_count(),
        versions=versions("joblib", "threadpoolctl", "dask", "distributed", "ray"),
        source=source_revision(), results=results,
        ratios={f"{r['backend']}/sequential": r["speedup"] for r in results
                if r["backend"] != "sequential" and r["speedup"] is not None},
        targets={"loky/sequential": 1.6}, notes=notes,
        date=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    write_report(report, args.out)
    return report


def print_table(results, notes):
    cols = [("backend", "<13"), ("n_jobs", ">6"), ("workers", "<22"), ("thr/fit", ">7"),
            ("search_s", ">9"), ("fits/s", ">7"), ("speed-up", ">8"), ("start_s", ">7"),
            ("acc=", ">4"), ("loss diff", ">9"), ("load", ">11")]
    head = " ".join(format(name, spec) for name, spec in cols)
    print("\n" + head + "\n" + "-" * len(head))
    for r in results:
        cells = [r["backend"], r["n_jobs"], r["workers"],
                 ",".join(map(str, r["torch_threads_per_fit"])), f"{r['search_s']:.1f}",
                 f"{r['fits_per_s']:.2f}",
                 "-" if r["speedup"] is None else f"{r['speedup']:.2f}x",
                 "-" if r["startup_s"] is None else f"{r['startup_s']:.1f}",
                 {True: "yes", False: "NO", None: "-"}[r["accuracy_equal"]],
                 "-" if r["max_loss_difference"] is None else f"{r['max_loss_difference']:.1e}",
                 "{:.1f}->{:.1f}".format(*r["loadavg_1min"])]
        print(" ".join(format(c, spec) for c, (_, spec) in zip(cells, cols)))
    print("\nsequential = n_jobs=1: one process, torch on all cores (thr/fit), the baseline. "
          "speed-up = fastest sequential search / fastest search of the backend (target for "
          "loky with n_jobs = cores: >= 1.6x). acc= : every split's accuracy equals the "
          "sequential run's; loss diff: largest difference of a fit's final training loss "
          "(0 = bit-identical; thread counts differ, so float sums may round differently).")
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
