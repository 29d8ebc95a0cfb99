"""Hyperparameter search on dask.distributed and Ray through joblib's backends.

Each test starts its own engine on this machine (processes, loopback only), runs a small
search there and checks that the result equals the same search run sequentially in this
process with the same seeds. dask and Ray are optional extras: without them these tests skip.
"""

import contextlib
import os
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from _helpers import quiet_fit, random_series
from joblib.pool import PicklingPool
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_validate

from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn.metrics import token_accuracy_scorer

TAGGER = dict(hidden_size=8, embedding_dim=8, char_embedding_dim=4, char_filters=4,
              max_epochs=2, early_stopping=False, random_state=0, device="cpu")
MANY_TO_ONE = dict(hidden_size=8, max_epochs=3, early_stopping=False, random_state=0,
                   device="cpu")
LM = dict(hidden_size=8, num_layers=1, embedding_dim=8, max_epochs=3, early_stopping=False,
          random_state=0, device="cpu")


# Scorers that record where and how each fit ran. They are module-level functions so that
# dask's and Ray's workers can unpickle them.
def _threads(estimator, X, y=None):
    return float(torch.get_num_threads())


def _pid(estimator, X, y=None):
    return float(os.getpid())


def _final_loss(estimator, X, y=None):
    # The last training loss: bit-identical only if the whole training run was.
    return float(estimator.loss_curve_[-1])


def _own_score(estimator, X, y=None):
    return estimator.score(X, y)


def scoring(main):
    return {"score": main, "loss": _final_loss, "threads": _threads, "pid": _pid}


def series_data(n=40, seed=0):
    """Variable-length 2-feature series, a class label and a real target for each."""
    X = random_series(n, seed, min_length=3, max_length=11)
    y_class = np.array(["pos" if x[:, 0].mean() > 0 else "neg" for x in X])
    y_real = np.array([x[:, 0].mean() for x in X])
    return X, y_class, y_real


@contextlib.contextmanager
def one_torch_thread():
    """Run this process's torch on one thread, as each worker does, then restore it.

    Bit-identical results need the same thread count: with more threads a float sum may be
    split and added in another order (about 1e-9 apart for a hidden size of 32).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sequential_grid_search(estimator, grid, X, y, main_scorer):
    with one_torch_thread():
        return grid_search(estimator, grid, X, y, main_scorer, n_jobs=1)


def sequential_cv(estimator, X, y):
    with one_torch_thread():
        return cv(estimator, X, y, n_jobs=1)


def grid_search(estimator, grid, X, y, main_scorer, n_jobs):
    search = GridSearchCV(estimator, grid, cv=KFold(2), n_jobs=n_jobs,
                          scoring=scoring(main_scorer), refit="score")
    return quiet_fit(search, X, y, category=ConvergenceWarning)


def cv(estimator, X, y, n_jobs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cross_validate(estimator, X, y, cv=KFold(2), n_jobs=n_jobs,
                              scoring=scoring(_own_score))


def assert_same_results(distributed, sequential, keys):
    """The distributed scores are exactly the sequential ones, candidate by candidate."""
    for key in keys:
        np.testing.assert_array_equal(distributed[key], sequential[key], err_msg=key)


def assert_ran_on(results, worker_pids=None, n_workers=2):
    """Every fit ran in another process (one of worker_pids if given), on one torch thread."""
    # GridSearchCV records split<k>_test_pid, cross_validate test_pid.
    keys = [k for k in results
            if k == "test_pid" or (k.startswith("split") and k.endswith("_pid"))]
    pids = np.concatenate([np.ravel(results[k]) for k in keys]).astype(int)
    threads = np.concatenate([np.ravel(results[k.replace("pid", "threads")]) for k in keys])
    assert len(pids) > 0 and os.getpid() not in pids and len(set(pids)) <= n_workers
    if worker_pids is not None:
        assert set(pids) <= worker_pids
    assert set(threads) == {1.0}


@contextlib.contextmanager
def restored_environ():
    """Undo the engines' changes to os.environ on exit.

    A LocalCluster's nannies run in this process and write dask's
    ``distributed.nanny.pre-spawn-environ`` (OMP_NUM_THREADS=1, ...) into os.environ
    before spawning workers; without this, later tests' subprocesses would inherit it.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


SEARCH_KEYS = ["mean_test_score", "split0_test_score", "split1_test_score",
               "split0_test_loss", "split1_test_loss", "rank_test_score"]
CV_KEYS = ["test_score", "test_loss"]


# -- dask.distributed -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    """A real two-process LocalCluster (one thread each, loopback only) and its client."""
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with restored_environ():
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client:
                yield client


@pytest.fixture(scope="module")
def dask_pids(dask_client):
    return set(dask_client.run(os.getpid).values())


def test_dask_workers_run_torch_on_one_thread(dask_client):
    """The Nanny's OMP_NUM_THREADS=1 reaches torch in every dask worker process."""
    def probe():
        import torch

        return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")

    assert set(dask_client.run(probe).values()) == {(1, "1")}


def test_dask_grid_search_tagger_equals_sequential(dask_client, dask_pids, toy_data):
    """GridSearchCV over cell x bidirectional of a tagger gives the sequential scores on dask."""
    X, y = toy_data
    grid = {"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]}
    est = SequenceTagger(**TAGGER)
    sequential = sequential_grid_search(est, grid, X, y, token_accuracy_scorer)
    with joblib.parallel_backend("dask"):
        on_dask = grid_search(est, grid, X, y, token_accuracy_scorer, n_jobs=-1)
    assert_same_results(on_dask.cv_results_, sequential.cv_results_, SEARCH_KEYS)
    assert on_dask.best_params_ == sequential.best_params_
    assert_ran_on(on_dask.cv_results_, dask_pids)


def test_dask_grid_search_classifier_equals_sequential(dask_client, dask_pids):
    """GridSearchCV over cell x pooling of a classifier gives the sequential scores on dask."""
    X, y, _ = series_data()
    grid = {"cell": ["rnn", "gru", "lstm"], "pooling": ["last", "mean"]}
    est = SequenceClassifier(**MANY_TO_ONE)
    sequential = sequential_grid_search(est, grid, X, y, "accuracy")
    with joblib.parallel_backend("dask"):
        on_dask = grid_search(est, grid, X, y, "accuracy", n_jobs=-1)
    assert_same_results(on_dask.cv_results_, sequential.cv_results_, SEARCH_KEYS)
    assert_ran_on(on_dask.cv_results_, dask_pids)


@pytest.mark.parametrize("kind", ["regressor", "language_model"])
def test_dask_cross_validate_equals_sequential(dask_client, dask_pids, kind):
    """cross_validate of a regressor and a language model gives the sequential scores on dask."""
    if kind == "regressor":
        X, _, y = series_data()
        est = SequenceRegressor(cell="gru", **MANY_TO_ONE)
    else:
        X, y = ["abcabc", "abc", "bcabca", "cab"] * 5, None
        est = LanguageModel(cell="gru", **LM)
    sequential = sequential_cv(est, X, y)
    with joblib.parallel_backend("dask"):
        on_dask = cv(est, X, y, n_jobs=-1)
    assert_same_results(on_dask, sequential, CV_KEYS)
    assert_ran_on(on_dask, dask_pids)


def test_dask_randomized_search_regressor_equals_sequential(dask_client, dask_pids):
    """RandomizedSearchCV of a regressor draws and scores the same candidates on dask."""
    X, _, y = series_data()
    space = {"cell": ["rnn", "gru", "lstm"], "learning_rate": loguniform(1e-3, 1e-1)}

    def randomized(n_jobs):
        search = RandomizedSearchCV(SequenceRegressor(**MANY_TO_ONE), space, n_iter=4,
                                    cv=KFold(2), n_jobs=n_jobs, random_state=0,
                                    scoring=scoring(_own_score), refit="score")
        return quiet_fit(search, X, y, category=ConvergenceWarning)

    with one_torch_thread():
        sequential = randomized(n_jobs=1)
    with joblib.parallel_backend("dask"):
        on_dask = randomized(n_jobs=-1)
    assert on_dask.cv_results_["params"] == sequential.cv_results_["params"]
    assert_same_results(on_dask.cv_results_, sequential.cv_results_, SEARCH_KEYS)
    assert_ran_on(on_dask.cv_results_, dask_pids)


def test_estimator_fitted_on_dask_worker_predicts_like_local(dask_client, toy_data):
    """A tagger fitted in a dask worker comes back pickled and predicts as one fitted here."""
    X, y = toy_data
    est = SequenceTagger(**TAGGER)
    remote = dask_client.submit(clone(est).fit, X, y, pure=False).result()
    with one_torch_thread():
        local = quiet_fit(clone(est), X, y, category=ConvergenceWarning)
        np.testing.assert_array_equal(remote.loss_curve_, local.loss_curve_)
        for p_remote, p_local in zip(remote.predict_proba(X), local.predict_proba(X)):
            np.testing.assert_array_equal(p_remote, p_local)


# -- Ray ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session():
    """A local Ray instance with 2 CPUs and joblib's "ray" backend registered."""
    ray = pytest.importorskip("ray")
    from ray import cloudpickle
    from ray.util.joblib import register_ray

    # Ray's workers do not see pytest's sys.path, so this module's scorers travel by value.
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    # Ray's backend rebases joblib's PicklingPool onto Ray's Pool, for the whole process.
    pool_bases = PicklingPool.__bases__
    with restored_environ():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            register_ray()
            yield ray
        finally:
            ray.shutdown()
            cloudpickle.unregister_pickle_by_value(module)
            PicklingPool.__bases__ = pool_bases


@pytest.mark.slow  # 10-30 s here: starting Ray, then the pool of actors of its joblib backend
def test_ray_grid_search_tagger_equals_sequential(ray_session, toy_data):
    """GridSearchCV over cell x bidirectional of a tagger gives the sequential scores on Ray."""
    X, y = toy_data
    grid = {"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]}
    est = SequenceTagger(**TAGGER)
    sequential = sequential_grid_search(est, grid, X, y, token_accuracy_scorer)
    with joblib.parallel_backend("ray"):
        on_ray = grid_search(est, grid, X, y, token_accuracy_scorer, n_jobs=2)
    assert_same_results(on_ray.cv_results_, sequential.cv_results_, SEARCH_KEYS)
    # The ray backend runs a pool of 2 actors, each in its own process.
    assert_ran_on(on_ray.cv_results_)

