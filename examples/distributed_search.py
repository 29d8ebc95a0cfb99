"""Run GridSearchCV over skrnn on a dask.distributed cluster or on Ray, unchanged.
===============================================================================

The search is the ordinary scikit-learn one; only the joblib backend around ``fit``
changes. Each worker process runs its fits on one torch thread (dask's Nanny and Ray start
their workers with ``OMP_NUM_THREADS=1``), so two workers use two cores without
oversubscribing them. Pass ``--scheduler tcp://host:8786`` to use a running dask cluster
instead of starting a local one. dask's default worker settings are fine: its
``MALLOC_TRIM_THRESHOLD_`` used to make fits 2-3x slower, and skrnn now sets glibc's
thresholds itself on its first fit (see docs/scaling.md).

Run::

    pip install ".[dask]"    # or: pip install ".[ray]"
    python examples/distributed_search.py              # local dask cluster, ~75 s on 2 cores
    python examples/distributed_search.py --backend ray
"""

import os

# Let idle OpenMP threads sleep instead of spinning (workers started from here inherit it):
# on a busy machine spinning threads slow PyTorch's recurrent kernels down by up to 100x.
# Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import warnings

import joblib
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos
from skrnn.metrics import token_accuracy_scorer


def search(X, y):
    gs = GridSearchCV(
        SequenceTagger(hidden_size=32, max_epochs=2, random_state=0),
        {"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]},
        scoring=token_accuracy_scorer,
        cv=3,
        n_jobs=-1,  # every worker of the cluster
    )
    with warnings.catch_warnings():
        # A fixed 2-epoch budget is the point of this comparison.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gs.fit(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("dask", "ray"), default="dask")
    parser.add_argument("--scheduler", help="address of a running dask scheduler")
    parser.add_argument("--sentences", type=int, default=1500)
    args = parser.parse_args()

    X, y = load_brown_pos("train")
    X, y = X[:args.sentences], y[:args.sentences]

    if args.backend == "dask":
        from distributed import Client, LocalCluster

        cluster = None
        if args.scheduler:
            client = Client(args.scheduler)
        else:
            # dask starts its workers with OMP_NUM_THREADS=1: one torch thread each.
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
            client = Client(cluster)
        print(client)
        try:
            with joblib.parallel_backend("dask"):
                gs = search(X, y)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        import ray
        from ray.util.joblib import register_ray

        ray.init(num_cpus=2, include_dashboard=False)
        register_ray()
        try:
            with joblib.parallel_backend("ray"):
                gs = search(X, y)
        finally:
            ray.shutdown()

    res = gs.cv_results_
    print(f"{'cell':>6} {'bidirectional':>14} {'mean acc':>9} {'fit s':>7}")
    for i in res["rank_test_score"].argsort():
        p = res["params"][i]
        print(f"{p['cell']:>6} {p['bidirectional']!s:>14} {res['mean_test_score'][i]:9.4f} "
              f"{res['mean_fit_time'][i]:7.1f}")
    print(f"\nbest: {gs.best_params_}")


if __name__ == "__main__":
    main()
