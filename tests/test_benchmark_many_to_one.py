"""Smoke test of benchmarks/many_to_one.py (the many-to-one suite): --quick on data sets that
need no download, the JSON it writes, a data set whose files are missing, the .ts reader."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "many_to_one.py"


@pytest.fixture(scope="module")
def suite():
    """The benchmark as a module; its import-time settings (thread variables, sys.path) are
    undone so that they do not leak into other tests."""
    environ, path = dict(os.environ), list(sys.path)
    name = "_many_to_one_suite"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclass looks itself up there
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
    yield module
    sys.modules.pop(name, None)


def run_suite(tmp_path, *args, env=None):
    out = tmp_path / "many_to_one.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def test_quick_run_writes_the_expected_json(tmp_path):
    # JapaneseVowels comes with skrnn and SyntheticAR is generated: no benchmarks/.data needed.
    # A missing .ts folder makes GunPoint skipped, with a message, whatever is installed.
    report, stdout = run_suite(
        tmp_path, "--datasets", "JapaneseVowels,SyntheticAR,GunPoint",
        "--params", '{"hidden_size": 8}', "--reg-params", '{"cell": "gru"}',
        env={"MANY_TO_ONE_TS_DATA": str(tmp_path / "absent")},
    )
    for key in ("benchmark", "quick", "settings", "skrnn_params", "skrnn_path", "minirocket",
                "versions", "source", "results", "skipped", "summary", "elapsed_s", "date"):
        assert key in report, key
    assert report["benchmark"] == "many_to_one" and report["quick"] is True
    assert report["settings"]["seeds"] == [0]
    assert report["settings"]["params"] == {
        "classification": {"hidden_size": 8, "max_epochs": 2},
        "regression": {"hidden_size": 8, "cell": "gru", "max_epochs": 2},
    }
    assert report["skrnn_params"]["regression"]["cell"] == "gru"
    assert report["skrnn_params"]["classification"]["hidden_size"] == 8
    assert report["minirocket"]["run"] is False  # --quick without --minirocket
    for dist in ("python", "torch", "numpy", "scikit-learn", "skrnn"):
        assert dist in report["versions"]

    assert [s["name"] for s in report["skipped"]] == ["GunPoint"]
    assert "skipping GunPoint" in stdout

    rows = {r["name"]: r for r in report["results"]}
    assert set(rows) == {"JapaneseVowels", "SyntheticAR"}
    jv, ar = rows["JapaneseVowels"], rows["SyntheticAR"]
    assert jv["task"] == "classification" and jv["metric"] == "accuracy"
    assert ar["task"] == "regression" and ar["metric"] == "r2"
    assert (jv["n_train"], jv["n_test"], jv["n_features"]) == (60, 60, 12)
    assert not jv["equal_length"] and ar["equal_length"] and ar["forecast_lags"] == 20
    for row, baselines in ((jv, {"logreg", "knn5", "svc"}),
                           (ar, {"ridge_raw", "ridge_pooled", "last_value"})):
        sk = row["skrnn"]
        assert sk["seeds"] == [0] and sk["errors"] == []
        assert len(sk["scores"]) == len(sk["fit_s"]) == len(sk["n_iter"]) == 1
        assert sk["n_iter"] == [2]
        assert np.isfinite(sk["mean"]) and sk["std"] == 0.0
        assert set(row["baselines"]) == baselines
        for b in row["baselines"].values():
            assert np.isfinite(b["score"]) and b["fit_s"] >= 0
        best = row["best_baseline"]
        assert best["score"] == max(b["score"] for b in row["baselines"].values())
        assert row["skrnn_minus_best"] == pytest.approx(sk["mean"] - best["score"])
        assert row["minirocket"]["score"] is None
    assert 0 <= jv["skrnn"]["mean"] <= 1
    assert set(report["summary"]) == {"classification selection", "regression selection"}
    assert "classification (accuracy)" in stdout and "regression (R²)" in stdout


def test_bad_arguments_are_refused(tmp_path):
    for args in (["--datasets", "NoSuchSet"], ["--params", "[1]"], ["--seeds", "a"]):
        proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", *args,
                               "--out", str(tmp_path / "x.json")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert not (tmp_path / "x.json").exists()


def test_ts_reader(suite, tmp_path):
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_text(
        "# a comment\n@problemName Toy\n@timeStamps false\n@missing true\n"
        "@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n"
        "@data\n1,2,3:4,5,6:a\n\n7,?:8,9:b\n"
    )
    X, y, header = suite.read_ts(path)
    assert header["problemname"] == "Toy" and list(y) == ["a", "b"]
    np.testing.assert_array_equal(X[0], [[1, 4], [2, 5], [3, 6]])
    assert X[1].shape == (2, 2) and np.isnan(X[1][1, 0]) and X[1][1, 1] == 9
    bad = tmp_path / "Bad.ts"
    bad.write_text("@data\n1,2:3:a\n")
    with pytest.raises(ValueError, match="different lengths"):
        suite.read_ts(bad)


def test_features_and_windows(suite):
    X = [np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((2, 2), np.float32)]
    P = suite.pooled(X)
    assert P.shape == (2, 10)
    np.testing.assert_allclose(P[0], [2, 3, np.std([0, 2, 4]), np.std([1, 3, 5]), 0, 1, 4, 5,
                                      4, 5])
    padded = suite.padded_3d(X, 4)
    assert padded.shape == (2, 2, 4)
    np.testing.assert_array_equal(padded[1, 0], [1, 1, 1, 1])
    np.testing.assert_array_equal(padded[0, 1], [1, 3, 5, 5])
    Xtr, ytr, Xte, yte = suite.lag_windows(np.arange(15.0), 5)
    assert Xtr.shape == (8, 5) and Xte.shape == (2, 5)
    np.testing.assert_array_equal(Xtr[0], np.arange(5))
    assert ytr[0] == 5 and yte[-1] == 14
    assert suite.skrnn_input([np.zeros((4, 1))] * 3).shape == (3, 4)
    assert isinstance(suite.skrnn_input(X), list)
