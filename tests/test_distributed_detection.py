"""When fit trains data-parallel: only in a torchrun rank's main thread (or a real group)."""

import multiprocessing
import threading

import pytest

from skrnn import distributed as skdist

_TORCHRUN_ENV = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                 "MASTER_PORT": "29500"}


@pytest.fixture
def torchrun_env(monkeypatch):
    for k, v in _TORCHRUN_ENV.items():
        monkeypatch.setenv(k, v)


def _report(queue):
    queue.put(skdist.is_distributed())


def test_torchrun_environment_means_distributed(torchrun_env):
    """The process torchrun starts (no multiprocessing parent) trains data-parallel."""
    assert skdist.is_distributed()


def test_no_environment_means_single_process(monkeypatch):
    """Without torchrun's variables nothing is distributed."""
    for k in _TORCHRUN_ENV:
        monkeypatch.delenv(k, raising=False)
    assert not skdist.is_distributed()


def test_single_process_context_turns_it_off(torchrun_env):
    """single_process() lets one rank fit alone."""
    with skdist.single_process():
        assert not skdist.is_distributed()
    assert skdist.is_distributed()


def test_threads_never_train_distributed(torchrun_env):
    """A fit in a thread (joblib's threading backend) stays single-process."""
    seen = []
    t = threading.Thread(target=lambda: seen.append(skdist.is_distributed()))
    t.start()
    t.join()
    assert seen == [False]


def test_worker_processes_inherit_the_variables_but_are_not_ranks(torchrun_env):
    """A joblib / dask / multiprocessing worker inside a torchrun job does not join the group."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_report, args=(queue,))
    proc.start()
    result = queue.get(timeout=120)
    proc.join(timeout=60)
    assert result is False
