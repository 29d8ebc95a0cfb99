"""Smoke tests of the Seq2Seq example scripts and benchmark: the date generator, the G2P
training pairs, and the benchmark's plain PyTorch network (skrnn's function, skrnn's batches)."""

from __future__ import annotations

import datetime
import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load_script(path, name):
    """A script as a module; its import-time settings (environment, sys.path) are undone."""
    environ, syspath = dict(os.environ), list(sys.path)
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = syspath
    return module


@pytest.fixture(scope="module")
def dates():
    return load_script(ROOT / "examples" / "normalize_dates.py", "_normalize_dates")


@pytest.fixture(scope="module")
def g2p():
    return load_script(ROOT / "examples" / "grapheme_to_phoneme.py", "_grapheme_to_phoneme")


@pytest.fixture(scope="module")
def bench():
    return load_script(ROOT / "benchmarks" / "seq2seq.py", "_seq2seq_benchmark")


def test_every_date_style_writes_its_own_example(dates):
    """Each style's name is how it writes 3 March 2021 (a Wednesday)."""
    written = dates.styles(datetime.date(2021, 3, 3))
    assert len(written) == 16
    assert all(name == text for name, text in written.items())
    assert [dates.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_generated_dates_are_iso_targets_outside_the_excluded_set(dates):
    """Targets are ISO dates of the inputs, reproducible from the seed, never excluded ones."""
    X, y, names = dates.make_dates(300, np.random.RandomState(0))
    again = dates.make_dates(300, np.random.RandomState(0))
    assert (X, y, names) == again
    for text, iso, name in zip(X, y, names):
        assert dates.styles(datetime.date.fromisoformat(iso))[name].lower() == text.lower()
    seen = {datetime.date.fromisoformat(t) for t in y}
    _, y_test, _ = dates.make_dates(300, np.random.RandomState(1), exclude=seen)
    assert not seen & {datetime.date.fromisoformat(t) for t in y_test}


def test_g2p_training_pairs_keep_every_pronunciation_of_the_chosen_words(g2p):
    """A subset of words keeps all their listed pronunciations (one pair each)."""
    X, y, n = g2p.training_pairs(300)
    assert n == len(set(X)) == 300 and len(X) >= 300
    from skrnn.datasets import load_cmudict

    words, prons = load_cmudict("train")
    listed = {}
    for w, p in zip(words, prons):
        listed.setdefault(w, []).append(p)
    mine = {}
    for w, p in zip(X, y):
        mine.setdefault(w, []).append(p)
    assert mine == {w: listed[w] for w in mine}


@pytest.mark.parametrize("num_layers", [1, 2])
def test_benchmark_plain_loops_train_skrnn_network_on_skrnn_batches(bench, num_layers):
    """The plain networks compute skrnn's logits given its weights, and see skrnn's batches."""
    from skrnn.datasets import load_cmudict

    X, y = load_cmudict("train")
    args = types.SimpleNamespace(hidden_size=16, num_layers=num_layers, embedding_dim=8,
                                 batch_size=32, learning_rate=3e-3, dropout=0.2, repeats=1)
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = bench.throughput(args, X[:128], y[:128])
    finally:
        torch.set_num_threads(threads)
    assert result["same_batches"] is True
    assert result["same_network"] is True
    assert max(result["largest_logit_difference"].values()) < 1e-5
    assert len(set(result["parameters"].values())) == 1


def test_benchmark_reports_why_sequitur_did_not_run(bench, tmp_path, monkeypatch):
    """Without Sequitur the benchmark records the reason instead of failing."""
    monkeypatch.setattr(bench, "sequitur_script", lambda: (None, "not installed"))
    result = bench.run_sequitur([("abc", ["AE"])], ["abc"], 10, 2, tmp_path)
    assert result["available"] is False and result["error"] == "not installed"
