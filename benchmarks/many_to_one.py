#!/usr/bin/env python
"""Many-to-one suite: skrnn's SequenceClassifier / SequenceRegressor with their defaults vs the
baselines a data scientist tries first, on several real numeric data sets.

Its purpose is to choose (and then to check) skrnn's defaults for numeric input: every data
set is fitted by ``SequenceClassifier(random_state=seed)`` / ``SequenceRegressor(random_state=
seed)`` with nothing else set (or with what ``--params`` says), on the *raw* input a user
would pass, and compared with simple scikit-learn recipes fitted on the same split. The older
speed comparison (skrnn vs a hand-written PyTorch loop on JapaneseVowels) is ``--speed``, see
``benchmarks/many_to_one_speed.py``.

How to run
----------
From the repository root (skrnn importable: ``pip install -e ".[series]"``; statsmodels, the
``series`` extra, supplies the forecasting series), after ``bash benchmarks/setup_data.sh``
(installs the UCR/UEA ``.ts`` files into ``benchmarks/.data/sktime``)::

    python benchmarks/many_to_one.py --jobs 2      # full run: 12 data sets x 3 seeds;
                                                   # ~8 min wall on 2 cores with skrnn's
                                                   # defaults (GRU, 100 epochs; OSULeaf
                                                   # ~150 s per seed), ~1 min with the
                                                   # former ones (fits stopped after 11-73)
    python benchmarks/many_to_one.py --quick       # smoke run: <= 60 train / 60 test cases,
                                                   # 2 epochs, 1 seed, no MiniRocket: < 1 min
    python benchmarks/many_to_one.py --params '{"cell": "gru", "hidden_size": 32}'
    python benchmarks/many_to_one.py --clf-params '{"dropout": 0.5}' --datasets GunPoint,OSULeaf
    python benchmarks/many_to_one.py --speed --quick   # the skrnn vs plain PyTorch speed run

Options: ``--params JSON`` (keyword arguments of both estimators), ``--clf-params JSON`` /
``--reg-params JSON`` (one of them, applied after ``--params``), ``--datasets a,b`` (names
below, case-insensitive; default all but SyntheticAR), ``--seeds 0,1,2`` (skrnn's
``random_state`` values, default 0,1,2), ``--no-holdout`` (leave the hold-out out), ``--jobs
N`` (work units in N loky processes; every process uses one thread: torch, BLAS, numba),
``--minirocket`` (run MiniRocket in ``--quick`` too), ``--out PATH`` (default
``benchmarks/results/many_to_one.json``). Data sets whose files are not installed are skipped
with a message (and listed under ``skipped`` in the JSON). The suite passes ``--params``
through unchecked, so it works with any skrnn version that accepts them.

Data sets
---------
Classification (accuracy), the UCR/UEA archive's own train/test splits:

=================  =====  =====  ======  ====  =======  ====================================
name               train  test   length  feat  classes  what
=================  =====  =====  ======  ====  =======  ====================================
ArrowHead          36     175    251     1     3        arrowhead outlines (angle series)
BasicMotions       40     40     100     6     4        smart-watch accelerometer + gyroscope
GunPoint           50     150    150     1     2        hand x-position, gun draw vs point
ItalyPowerDemand   67     1029   24      1     2        daily power demand, winter vs summer
JapaneseVowels     270    370    7-29    12    9        speaker from LPC cepstra (ragged)
OSULeaf            200    242    427     1     6        leaf outlines
=================  =====  =====  ======  ====  =======  ====================================

Regression (R²): Tecator (172 / 43, fat content from a 100-point NIR absorbance spectrum) and
Covid3Month (140 / 61, a country's COVID-19 death rate from 84 days of case counts), their
own splits; and next-value forecasts of statsmodels' series, each a 2-D array of the
previous ``k`` values (univariate, equal length) -> the next value, the windows split
chronologically (first 80 % train, last 20 % test): Sunspots (yearly sunspot numbers
1700-2008, k = 20), CO2Monthly (Mauna Loa CO2, weekly averaged to months 1958-2001, 5 empty
months interpolated, k = 24; the test years lie above the training range: a test of
extrapolating a trend), MacroInflation (US quarterly CPI inflation 1959-2009, k = 12).

**Hold-out**: ElNino (monthly Niño 1+2 sea-surface temperature 1950-2010, k = 36, 557 / 139
windows) is listed in a table of its own and is *not* used to choose defaults; look at it
once a choice is made (``--no-holdout`` leaves it out). **SyntheticAR** (an AR(2) series
generated here, k = 20) needs no files; it is for the smoke test only and not in the
default selection. JapaneseVowels is read from ``skrnn.datasets.load_japanese_vowels`` (the
same values as sktime's ``.ts`` files), so it needs no files either.

**Provenance and licences.** The ``.ts`` files ship in the sktime 1.2.0 wheel
(``sktime/datasets/data/<Name>/<Name>_TRAIN.ts`` / ``_TEST.ts``; sktime is BSD-3-Clause) and
come from the UCR / UEA time series classification archive (timeseriesclassification.com;
Dau et al., "The UCR time series archive", 2019; Bagnall et al., "The UEA multivariate time
series classification archive", 2018) and, for Tecator and Covid3Month, the Monash time
series extrinsic regression archive (Tan et al., 2021; Tecator: the Tecator Infratec meat
spectra of Borggaard & Thodberg 1992, via StatLib / OpenML; Covid3Month: the WHO COVID-19
database).
The files carry no licence of their own (the archives ask that they and the original
donors be cited): the data are for benchmarking only. ``benchmarks/setup_data.sh`` installs
them into ``benchmarks/.data/sktime`` (never imported, never committed: ``.gitignore`` has
``benchmarks/.data/``); an installed sktime's own copy is used when that folder is absent,
and ``MANY_TO_ONE_TS_DATA=<folder of <Name>/<Name>_TRAIN.ts ...>`` overrides both.
The statsmodels series come with statsmodels (BSD-3-Clause), which marks each as public
domain: NOAA NGDC yearly sunspots, Scripps (Keeling & Whorf) Mauna Loa CO2 via CDIAC, NOAA
CPC ERSST.V3B Niño 1+2, FRED (St. Louis Fed) / BLS macro data.

Systems
-------
* ``skrnn``: ``SequenceClassifier`` / ``SequenceRegressor`` with its defaults (plus
  ``--params``), ``random_state`` = each seed; fitted on the raw X (a list of ``(T_i,
  n_features)`` float32 arrays, or the ``(n_samples, length)`` array for univariate
  equal-length data) and y (class label strings / float targets).
* Baselines, scikit-learn with their defaults unless said; *pooled* features are, per input
  feature, the mean, standard deviation, minimum, maximum and last value over time (5 x
  features numbers); *raw* is the series flattened (equal-length data only):

  - classification: ``logreg`` (StandardScaler + LogisticRegression on pooled), ``knn5``
    (StandardScaler + 5-nearest-neighbours on pooled), ``svc`` (StandardScaler + RBF SVC on
    pooled), ``1nn_raw`` (StandardScaler + 1-nearest-neighbour on raw), ``logreg_raw``
    (StandardScaler + LogisticRegression on raw);
  - regression: ``ridge_raw`` (StandardScaler + RidgeCV, alphas 1e-3..1e3, on raw),
    ``ridge_pooled`` (the same on pooled), ``last_value`` (forecasts only: predict the
    window's last value, no fit).
* ``minirocket``: the strongest cheap peer, sktime's ``MiniRocket`` (univariate) or
  ``MiniRocketMultivariate`` (10,000 features, ``random_state=0``) + StandardScaler(with_mean=
  False) + RidgeClassifierCV / RidgeCV (alphas 1e-3..1e3), the published recipe; ragged
  series are padded to the longest by repeating their last frame. Needs ``pip install
  sktime==1.2.0 "numba<0.68"`` (optional: the column shows "n/a" without it). Its first run
  compiles numba kernels (~25 s per variant, cached afterwards).

What the columns mean
---------------------
``n_tr/n_te`` training / test cases; ``len`` series length (min-max when ragged; the window
``k`` for forecasts); ``feat`` input features per step; ``skrnn`` mean ± standard deviation
over seeds of the test score (accuracy, or R²: 1 is perfect, 0 is as good as predicting the
test set's mean, below 0 worse than that); ``fit_s`` skrnn's mean fit time in seconds (one
thread; each process first makes an untimed 1-epoch fit; other load on the machine inflates
it); ``ep`` skrnn's mean number of epochs trained; one column per baseline (its test score,
"-" where it does not apply); ``best`` the best simple baseline's score (MiniRocket not
included); ``skrnn-best`` skrnn's mean minus that (above 0: skrnn wins); ``minirocket``
MiniRocket's score ("n/a": not run). Each task ends with the means over its data sets (the
hold-out in a table of its own), the median of ``skrnn-best`` (one very negative R² can
dominate the mean) and on how many of them skrnn's mean beats the best baseline. The JSON has
every seed's score, fit time and epoch count, skrnn's full effective parameters, every
baseline's score and fit time, the versions and the source revision (and ``skrnn_path``: which
skrnn was imported).
"""

from __future__ import annotations

import os

# One thread per process everywhere (set before numpy / torch / numba load their pools):
# fit times stay comparable and --jobs N processes do not oversubscribe the cores.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "many_to_one.json"
SKTIME_DATA = HERE / ".data" / "sktime" / "sktime" / "datasets" / "data"

if str(HERE) not in sys.path:  # _common, when imported rather than run as a script
    sys.path.insert(0, str(HERE))
# Run from a source checkout without installing: make the repository root importable, unless
# a skrnn is importable already (an installed one, or one put first on PYTHONPATH on purpose).
if importlib.util.find_spec("skrnn") is None:
    sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

SEEDS = (0, 1, 2)
QUICK = dict(max_train=60, max_test=60, max_epochs=2, seeds=(0,))
ALPHAS = np.logspace(-3, 3, 13)  # RidgeCV's grid for the baselines
ROCKET_ALPHAS = np.logspace(-3, 3, 10)  # MiniRocket's published grid
CLF_BASELINES = ("logreg", "knn5", "svc", "1nn_raw", "logreg_raw")
REG_BASELINES = ("ridge_raw", "ridge_pooled", "last_value")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

class Missing(Exception):
    """A data set's files (or the package that bundles them) are not installed."""


@dataclass(frozen=True)
class Spec:
    name: str
    task: str  # "classification" or "regression"
    source: str
    holdout: bool = False
    default: bool = True  # in the default selection
    lags: int | None = None  # forecasting windows: the k previous values


def read_ts(path):
    """Read a ``.ts`` file (sktime / UCR-UEA format): ``(X, y, header)``.

    ``X`` is a list of ``(T_i, n_dims)`` float arrays (ragged series allowed), ``y`` the
    strings after the last ``:`` of each case (class label or target value), ``header`` the
    ``@`` keys (lower-cased) and their values. Lines starting with ``#`` are comments;
    missing values ``?`` become NaN; time stamps are not supported.
    """
    header, X, y = {}, [], []
    in_data = False
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise ValueError(f"{path}:{lineno}: expected an @ header line")
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    if header.get("timestamps", "false").lower() == "true":
                        raise ValueError(f"{path}: time stamps are not supported")
                    in_data = True
                else:
                    header[key] = value.strip()
                continue
            *dims, label = line.split(":")
            if not dims:
                raise ValueError(f"{path}:{lineno}: no ':' before the label")
            series = [np.array([np.nan if v == "?" else float(v) for v in d.split(",")])
                      for d in dims]
            if len({len(s) for s in series}) != 1:
                raise ValueError(f"{path}:{lineno}: dimensions of different lengths")
            X.append(np.stack(series, axis=1))
            y.append(label.strip())
    if not in_data:
        raise ValueError(f"{path}: no @data section")
    return X, np.array(y), header


def sktime_data_dir():
    """The folder of sktime's bundled ``.ts`` files: $MANY_TO_ONE_TS_DATA if set (and only
    it), else benchmarks/.data, else an installed sktime's (located without importing it)."""
    override = os.environ.get("MANY_TO_ONE_TS_DATA")
    if override:
        if not Path(override).is_dir():
            raise Missing(f"MANY_TO_ONE_TS_DATA={override} is not a folder")
        return Path(override)
    if SKTIME_DATA.is_dir():
        return SKTIME_DATA
    spec = importlib.util.find_spec("sktime")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            d = Path(loc) / "datasets" / "data"
            if d.is_dir():
                return d
    raise Missing("the UCR/UEA .ts files are not installed: run bash benchmarks/setup_data.sh")


def load_ts_problem(name, task):
    folder = sktime_data_dir() / name
    parts = []
    for split in ("TRAIN", "TEST"):
        path = folder / f"{name}_{split}.ts"
        if not path.is_file():
            raise Missing(f"{path} is missing: run bash benchmarks/setup_data.sh")
        X, y, _ = read_ts(path)
        parts += [X, y.astype(float) if task == "regression" else y]
    return parts


def statsmodels_series(name):
    """A statsmodels series as a float array (chronological)."""
    try:
        import statsmodels.api as sm
    except ImportError as exc:
        raise Missing("statsmodels is not installed (pip install -e '.[series]')") from exc
    ds = sm.datasets
    if name == "Sunspots":
        return ds.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    if name == "CO2Monthly":
        weekly = ds.co2.load_pandas().data["co2"]
        return weekly.resample("MS").mean().interpolate("linear").to_numpy(float)
    if name == "MacroInflation":
        return ds.macrodata.load_pandas().data["infl"].to_numpy(float)
    if name == "ElNino":
        months = ds.elnino.load_pandas().data.drop(columns="YEAR")
        return months.to_numpy(float).ravel()  # row = year, columns JAN..DEC
    raise KeyError(name)


def synthetic_ar(n=400, seed=0):
    """A stationary AR(2) series (quasi-periodic, period ~12) with Gaussian noise."""
    rng = np.random.RandomState(seed)
    s = np.zeros(n + 100)
    for t in range(2, len(s)):
        s[t] = 1.5 * s[t - 1] - 0.75 * s[t - 2] + rng.randn()
    return s[100:]


def lag_windows(series, k, train_fraction=0.8):
    """Windows of ``k`` values -> the next value, split chronologically."""
    n = len(series) - k
    X = np.stack([series[i: i + k] for i in range(n)])
    y = series[k:].copy()
    cut = int(round(train_fraction * n))
    return X[:cut], y[:cut], X[cut:], y[cut:]


SPECS = [
    Spec("ArrowHead", "classification", "sktime .ts (UCR)"),
    Spec("BasicMotions", "classification", "sktime .ts (UEA)"),
    Spec("GunPoint", "classification", "sktime .ts (UCR)"),
    Spec("ItalyPowerDemand", "classification", "sktime .ts (UCR)"),
    Spec("JapaneseVowels", "classification", "skrnn.datasets (UEA / UCI)"),
    Spec("OSULeaf", "classification", "sktime .ts (UCR)"),
    Spec("Tecator", "regression", "sktime .ts (Monash TSER)"),
    Spec("Covid3Month", "regression", "sktime .ts (Monash TSER)"),
    Spec("Sunspots", "regression", "statsmodels", lags=20),
    Spec("CO2Monthly", "regression", "statsmodels", lags=24),
    Spec("MacroInflation", "regression", "statsmodels", lags=12),
    Spec("ElNino", "regression", "statsmodels", holdout=True, lags=36),
    Spec("SyntheticAR", "regression", "synthetic (generated)", default=False, lags=20),
]
BY_NAME = {s.name.lower(): s for s in SPECS}


@functools.cache
def load(name, quick=False):
    """``(X_train, y_train, X_test, y_test)`` of a data set: X a list of ``(T_i, F)``
    float32 arrays. ``quick``: at most QUICK's numbers of cases (a fixed random subset)."""
    spec = BY_NAME[name.lower()]
    if spec.name == "JapaneseVowels":
        from skrnn.datasets import load_japanese_vowels

        parts = [*load_japanese_vowels("train"), *load_japanese_vowels("test")]
    elif spec.lags is not None:
        series = (synthetic_ar() if spec.name == "SyntheticAR"
                  else statsmodels_series(spec.name))
        Xtr, ytr, Xte, yte = lag_windows(series, spec.lags)
        parts = [list(Xtr[:, :, None]), ytr, list(Xte[:, :, None]), yte]
    else:
        parts = load_ts_problem(spec.name, spec.task)
    Xtr, ytr, Xte, yte = parts
    if quick:
        rng = np.random.RandomState(0)
        keep = [np.sort(rng.permutation(len(X))[:m]) for X, m in
                ((Xtr, QUICK["max_train"]), (Xte, QUICK["max_test"]))]
        Xtr, ytr = [Xtr[i] for i in keep[0]], np.asarray(ytr)[keep[0]]
        Xte, yte = [Xte[i] for i in keep[1]], np.asarray(yte)[keep[1]]
    as32 = lambda X: [np.ascontiguousarray(x, dtype=np.float32) for x in X]  # noqa: E731
    return as32(Xtr), np.asarray(ytr), as32(Xte), np.asarray(yte)


def describe(X_train, X_test):
    lengths = [len(x) for x in (*X_train, *X_test)]
    return dict(min_length=min(lengths), max_length=max(lengths),
                n_features=int(X_train[0].shape[1]), equal_length=min(lengths) == max(lengths))


def skrnn_input(X):
    """What a user passes: the 2-D array for univariate equal-length series, else the list."""
    if X[0].shape[1] == 1 and len({len(x) for x in X}) == 1:
        return np.stack([x[:, 0] for x in X])
    return X


def pooled(X):
    """Per feature: mean, std, min, max, last value over time -> (n, 5 * n_features)."""
    return np.stack([np.concatenate([x.mean(0), x.std(0), x.min(0), x.max(0), x[-1]])
                     for x in X]).astype(np.float64)


def flat(X):
    return np.stack([x.ravel() for x in X]).astype(np.float64)


def padded_3d(X, length):
    """(n, F, length) float64 for sktime: each series padded by repeating its last frame."""
    out = np.empty((len(X), X[0].shape[1], length))
    for i, x in enumerate(X):
        x = x[:length]
        out[i, :, : len(x)] = x.T
        out[i, :, len(x):] = x[-1][:, None]
    return out


# --------------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------------

def score(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classification":
        return float(accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred))


def _timed_fit_predict(model, Xtr, ytr, Xte):
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(Xtr, ytr)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    return model.predict(Xte), fit_s, fit_cpu


def baseline_models(task, equal_length, forecast):
    """name -> (model factory, feature function) of the baselines that apply."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    S = StandardScaler
    if task == "classification":
        out = {
            "logreg": (lambda: make_pipeline(S(), LogisticRegression(max_iter=5000)), pooled),
            "knn5": (lambda: make_pipeline(S(), KNeighborsClassifier(5)), pooled),
            "svc": (lambda: make_pipeline(S(), SVC()), pooled),
        }
        if equal_length:
            out["1nn_raw"] = (lambda: make_pipeline(S(), KNeighborsClassifier(1)), flat)
            out["logreg_raw"] = (lambda: make_pipeline(S(), LogisticRegression(max_iter=5000)),
                                 flat)
        return out
    out = {}
    if equal_length:
        out["ridge_raw"] = (lambda: make_pipeline(S(), RidgeCV(alphas=ALPHAS)), flat)
    out["ridge_pooled"] = (lambda: make_pipeline(S(), RidgeCV(alphas=ALPHAS)), pooled)
    if forecast:
        out["last_value"] = (None, None)
    return out


def run_baselines(name, quick, with_minirocket):
    """Every baseline of a data set (and MiniRocket): name -> {score, fit_s}."""
    from sklearn.exceptions import ConvergenceWarning

    spec = BY_NAME[name.lower()]
    Xtr, ytr, Xte, yte = load(spec.name, quick)
    info = describe(Xtr, Xte)
    results = {}
    for bname, (factory, features) in baseline_models(
            spec.task, info["equal_length"], spec.lags is not None).items():
        if factory is None:  # last_value: the persistence forecast
            results[bname] = dict(score=score(spec.task, yte, [x[-1, 0] for x in Xte]),
                                  fit_s=0.0)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pred, fit_s, _ = _timed_fit_predict(factory(), features(Xtr), ytr, features(Xte))
        results[bname] = dict(score=score(spec.task, yte, pred), fit_s=fit_s)
    rocket = run_minirocket(spec, Xtr, ytr, Xte, yte) if with_minirocket else dict(
        score=None, note="skipped (--quick; --minirocket runs it)")
    print(f"  {spec.name}: baselines done" + (
        f", minirocket {rocket['score']:.3f}" if rocket.get("score") is not None else
        f" (minirocket: {rocket['note']})"), flush=True)
    return dict(baselines=results, minirocket=rocket)


def minirocket_available():
    """(available, note): sktime with numba importable for MiniRocket?"""
    for mod in ("sktime", "numba"):
        if importlib.util.find_spec(mod) is None:
            return False, f"{mod} not installed (pip install sktime==1.2.0 'numba<0.68')"
    return True, None


def run_minirocket(spec, Xtr, ytr, Xte, yte):
    ok, note = minirocket_available()
    if not ok:
        return dict(score=None, note=note)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            try:
                from sktime.transformations.rocket import MiniRocket, MiniRocketMultivariate
            except ImportError:
                from sktime.transformations.panel.rocket import (
                    MiniRocket,
                    MiniRocketMultivariate,
                )
        from sklearn.linear_model import RidgeClassifierCV, RidgeCV
        from sklearn.preprocessing import StandardScaler

        length = max(len(x) for x in (*Xtr, *Xte))
        A, B = padded_3d(Xtr, length), padded_3d(Xte, length)
        t0 = time.perf_counter()
        cls = MiniRocket if A.shape[1] == 1 else MiniRocketMultivariate
        rocket = cls(random_state=0).fit(A)
        scaler = StandardScaler(with_mean=False)
        Ftr = scaler.fit_transform(np.asarray(rocket.transform(A)))
        head = (RidgeClassifierCV(alphas=ROCKET_ALPHAS) if spec.task == "classification"
                else RidgeCV(alphas=ROCKET_ALPHAS)).fit(Ftr, ytr)
        fit_s = time.perf_counter() - t0
        pred = head.predict(scaler.transform(np.asarray(rocket.transform(B))))
        return dict(score=score(spec.task, yte, pred), fit_s=fit_s, transform=cls.__name__,
                    padded_to=length if len({len(x) for x in (*Xtr, *Xte)}) > 1 else None)
    except Exception as exc:  # an optional peer: report, never abort the suite
        return dict(score=None, note=f"failed: {type(exc).__name__}: {exc}")


def estimator_for(task, params, seed):
    from skrnn import SequenceClassifier, SequenceRegressor

    cls = SequenceClassifier if task == "classification" else SequenceRegressor
    return cls(random_state=seed, **params)


_WARM = set()  # tasks this process has fitted once, untimed


def run_skrnn(name, quick, params, seed):
    """One skrnn fit: test score, fit time, epochs; errors are recorded, not raised."""
    import torch

    torch.set_num_threads(1)
    spec = BY_NAME[name.lower()]
    Xtr, ytr, Xte, yte = load(spec.name, quick)
    out = dict(seed=seed)
    try:
        if spec.task not in _WARM:  # untimed: one-off start-up costs (oneDNN kernels, imports)
            _WARM.add(spec.task)
            idx = np.linspace(0, len(Xtr) - 1, min(16, len(Xtr))).astype(int)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    estimator_for(spec.task, {**params, "max_epochs": 1}, 0).fit(
                        skrnn_input([Xtr[i] for i in idx]), ytr[idx])
                except Exception:  # the real fit below reports any problem
                    pass
        est = estimator_for(spec.task, params, seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pred, fit_s, fit_cpu = _timed_fit_predict(est, skrnn_input(Xtr), ytr,
                                                      skrnn_input(Xte))
        out.update(score=score(spec.task, yte, pred), fit_s=fit_s, fit_cpu_s=fit_cpu,
                   n_iter=int(est.n_iter_), final_loss=float(est.loss_curve_[-1]),
                   warnings=sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:5])
    except Exception as exc:
        out.update(score=None, error=f"{type(exc).__name__}: {exc}")
    shown = f"{out['score']:.4f} in {out['fit_s']:.1f} s ({out['n_iter']} epochs)" \
        if out.get("score") is not None else out["error"]
    print(f"  {spec.name} skrnn seed {seed}: {shown}", flush=True)
    return out


def run_unit(unit):
    kind, *args = unit
    return run_baselines(*args) if kind == "baselines" else run_skrnn(*args)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def _json_dict(text, flag, p):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        p.error(f"{flag}: not JSON ({exc}): {text!r}")
    if not isinstance(value, dict):
        p.error(f"{flag} must be a JSON object of keyword arguments; got {text!r}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--speed [options]: the skrnn vs plain PyTorch speed benchmark "
               "(benchmarks/many_to_one_speed.py; --speed --help for its options)")
    p.add_argument("--datasets", help="comma-separated names (case-insensitive) of "
                   f"{', '.join(s.name for s in SPECS)}; default all but SyntheticAR")
    p.add_argument("--seeds", default=None,
                   help=f"skrnn random_state values (default {','.join(map(str, SEEDS))}; "
                        f"quick {QUICK['seeds'][0]})")
    p.add_argument("--params", default="{}", help="JSON object of keyword arguments of both "
                   "estimators, e.g. '{\"cell\": \"gru\", \"hidden_size\": 64}'")
    p.add_argument("--clf-params", default="{}", help="JSON: SequenceClassifier only "
                   "(applied after --params)")
    p.add_argument("--reg-params", default="{}", help="JSON: SequenceRegressor only "
                   "(applied after --params)")
    p.add_argument("--quick", action="store_true",
                   help=f"<= {QUICK['max_train']} train / {QUICK['max_test']} test cases, "
                        f"max_epochs={QUICK['max_epochs']} (unless the params set it), seed "
                        f"{QUICK['seeds'][0]}, no MiniRocket: a smoke run (< 1 min)")
    p.add_argument("--minirocket", action="store_true", help="run MiniRocket in --quick too")
    p.add_argument("--no-holdout", action="store_true", help="leave the hold-out data set out")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel processes (loky), one thread each (default 1)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args = p.parse_args(argv)
    base = _json_dict(args.params, "--params", p)
    args.params = {
        "classification": {**base, **_json_dict(args.clf_params, "--clf-params", p)},
        "regression": {**base, **_json_dict(args.reg_params, "--reg-params", p)},
    }
    if args.quick:
        for task_params in args.params.values():
            task_params.setdefault("max_epochs", QUICK["max_epochs"])
    if args.seeds is None:
        args.seeds = QUICK["seeds"] if args.quick else SEEDS
    else:
        try:
            args.seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
        except ValueError:
            p.error(f"--seeds must be comma-separated integers; got {args.seeds!r}")
        if not args.seeds:
            p.error("--seeds must name at least one seed")
    if args.datasets is None:
        args.datasets = [s for s in SPECS if s.default]
    else:
        names = [n.strip().lower() for n in args.datasets.split(",") if n.strip()]
        bad = [n for n in names if n not in BY_NAME]
        if bad or not names:
            p.error(f"--datasets: unknown {bad}; choose from "
                    f"{','.join(s.name for s in SPECS)}")
        args.datasets = list(dict.fromkeys(BY_NAME[n] for n in names))
    if args.no_holdout:
        args.datasets = [s for s in args.datasets if not s.holdout]
    if args.jobs < 1:
        p.error("--jobs must be >= 1")
    return args


def effective_params(task, params):
    """The estimator's full get_params() with ``params`` applied (None if they are rejected)."""
    try:
        est = estimator_for(task, params, 0)
        return {k: v for k, v in est.get_params().items() if k != "random_state"}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--speed" in argv:
        import many_to_one_speed

        argv.remove("--speed")
        return many_to_one_speed.main(argv)
    args = parse_args(argv)
    started = time.perf_counter()
    from _common import cpu_name, source_revision, versions, write_report

    import skrnn

    rocket_ok, rocket_note = minirocket_available()
    with_rocket = rocket_ok and (args.minirocket or not args.quick)

    # Which data sets are installed (loaded once here: cheap, and the workers reload them).
    specs, skipped, infos = [], [], {}
    for spec in args.datasets:
        try:
            Xtr, ytr, Xte, yte = load(spec.name, args.quick)
        except Missing as exc:
            print(f"skipping {spec.name}: {exc}", flush=True)
            skipped.append(dict(name=spec.name, reason=str(exc)))
            continue
        info = describe(Xtr, Xte)
        info.update(n_train=len(Xtr), n_test=len(Xte))
        if spec.task == "classification":
            info["n_classes"] = int(len(np.unique(ytr)))
        infos[spec.name] = info
        specs.append(spec)
    if not specs:
        print("no data set is installed; nothing to run", flush=True)

    # Work units, the most expensive first (OSULeaf's skrnn fits), so N processes finish
    # close together.
    units = []
    for spec in specs:
        info = infos[spec.name]
        cost = info["n_train"] * info["max_length"]
        units += [(cost, ("skrnn", spec.name, args.quick, args.params[spec.task], seed))
                  for seed in args.seeds]
        units.append((cost / 10, ("baselines", spec.name, args.quick, with_rocket)))
    units = [u for _, u in sorted(units, key=lambda cu: -cu[0])]
    print(f"{len(specs)} data set(s), seeds {list(args.seeds)}, {len(units)} work units on "
          f"{args.jobs} process(es); skrnn {skrnn.__version__} from "
          f"{Path(skrnn.__file__).parent}", flush=True)
    if args.jobs == 1:
        outputs = [run_unit(u) for u in units]
    else:
        from joblib import Parallel, delayed

        # By reference to this file imported as a module (not __main__), so each worker
        # imports it (and its one-thread settings) instead of unpickling copies.
        from many_to_one import run_unit as unit_runner

        outputs = Parallel(n_jobs=args.jobs, backend="loky")(delayed(unit_runner)(u)
                                                             for u in units)

    rows = []
    for spec in specs:
        fits = sorted((o for u, o in zip(units, outputs)
                       if u[0] == "skrnn" and u[1] == spec.name), key=lambda o: o["seed"])
        base = next(o for u, o in zip(units, outputs)
                    if u[0] == "baselines" and u[1] == spec.name)
        rows.append(summarise_row(spec, infos[spec.name], fits, base))

    report = dict(
        benchmark="many_to_one", quick=args.quick,
        settings=dict(seeds=list(args.seeds), datasets=[s.name for s in specs],
                      jobs=args.jobs, params=args.params,
                      threads_per_process=1, quick_limits=QUICK if args.quick else None),
        skrnn_params={task: effective_params(task, p) for task, p in args.params.items()},
        skrnn_path=str(Path(skrnn.__file__).parent),
        skrnn_is_checkout=Path(skrnn.__file__).parent == HERE.parent / "skrnn",
        minirocket=dict(available=rocket_ok, run=with_rocket, note=rocket_note),
        cpu=cpu_name(), cpu_count=os.cpu_count(),
        versions=versions("statsmodels", "sktime", "numba", "joblib"),
        source=source_revision(),
        results=rows, skipped=skipped, summary=summarise(rows),
        elapsed_s=time.perf_counter() - started,
    )
    print_tables(report)
    write_report(report, args.out)
    return report


def summarise_row(spec, info, fits, base):
    scores = [f["score"] for f in fits if f.get("score") is not None]
    ok = [f for f in fits if f.get("score") is not None]
    baselines = base["baselines"]
    best_name = max(baselines, key=lambda b: baselines[b]["score"]) if baselines else None
    best = baselines[best_name]["score"] if best_name else None
    mean = float(np.mean(scores)) if scores else None
    return dict(
        name=spec.name, task=spec.task, source=spec.source, holdout=spec.holdout,
        forecast_lags=spec.lags, **info,
        metric="accuracy" if spec.task == "classification" else "r2",
        skrnn=dict(
            mean=mean, std=float(np.std(scores)) if scores else None,
            scores=[f.get("score") for f in fits], seeds=[f["seed"] for f in fits],
            fit_s=[f.get("fit_s") for f in fits], fit_cpu_s=[f.get("fit_cpu_s") for f in fits],
            mean_fit_s=float(np.mean([f["fit_s"] for f in ok])) if ok else None,
            n_iter=[f.get("n_iter") for f in fits],
            mean_n_iter=float(np.mean([f["n_iter"] for f in ok])) if ok else None,
            errors=[f["error"] for f in fits if "error" in f],
            warnings=sorted({w for f in fits for w in f.get("warnings", [])}),
        ),
        baselines=baselines, best_baseline=dict(name=best_name, score=best),
        skrnn_minus_best=None if mean is None or best is None else mean - best,
        minirocket=base["minirocket"],
    )


def summarise(rows):
    out = {}
    for task in ("classification", "regression"):
        for group, holdout in (("selection", False), ("holdout", True)):
            rs = [r for r in rows if r["task"] == task and r["holdout"] == holdout
                  and r["skrnn"]["mean"] is not None]
            if not rs:
                continue
            rocket = [r["minirocket"]["score"] for r in rs
                      if r["minirocket"].get("score") is not None]
            out[f"{task} {group}"] = dict(
                datasets=[r["name"] for r in rs],
                mean_skrnn=float(np.mean([r["skrnn"]["mean"] for r in rs])),
                mean_best_baseline=float(np.mean([r["best_baseline"]["score"] for r in rs])),
                mean_skrnn_minus_best=float(np.mean([r["skrnn_minus_best"] for r in rs])),
                # One bad R² (CO2Monthly's trend) can dominate the mean: the median does not.
                median_skrnn_minus_best=float(np.median([r["skrnn_minus_best"] for r in rs])),
                skrnn_wins=int(sum(r["skrnn_minus_best"] > 0 for r in rs)),
                mean_minirocket=float(np.mean(rocket)) if len(rocket) == len(rs) else None,
                total_skrnn_fit_s=float(sum(sum(t for t in r["skrnn"]["fit_s"] if t)
                                            for r in rs)),
            )
    return out


def print_tables(report):
    rows = report["results"]

    def f(v, spec=".3f"):
        return "-" if v is None else format(v, spec)

    for task, names in (("classification", CLF_BASELINES), ("regression", REG_BASELINES)):
        for holdout in (False, True):
            rs = [r for r in rows if r["task"] == task and r["holdout"] == holdout]
            if not rs:
                continue
            metric = "accuracy" if task == "classification" else "R²"
            title = f"{task} ({metric})" + (
                " -- held out, not used to choose defaults" if holdout else "")
            cols = [("dataset", "<17"), ("n_tr/n_te", ">9"), ("len", ">5"), ("feat", ">4"),
                    ("skrnn", ">13"), ("fit_s", ">6"), ("ep", ">5"),
                    *[(n, ">10") for n in names], ("best", ">6"), ("skrnn-best", ">10"),
                    ("minirocket", ">10")]
            head = " ".join(format(n, s) for n, s in cols)
            print(f"\n{title}\n{head}\n" + "-" * len(head))
            for r in rs:
                sk = r["skrnn"]
                length = (str(r["min_length"]) if r["equal_length"]
                          else f"{r['min_length']}-{r['max_length']}")
                skrnn_cell = ("error" if sk["mean"] is None
                              else f"{sk['mean']:.3f}±{sk['std']:.3f}")
                cells = [r["name"], f"{r['n_train']}/{r['n_test']}", length,
                         str(r["n_features"]), skrnn_cell, f(sk["mean_fit_s"], ".1f"),
                         f(sk["mean_n_iter"], ".0f"),
                         *[f(r["baselines"].get(n, {}).get("score")) for n in names],
                         f(r["best_baseline"]["score"]), f(r["skrnn_minus_best"], "+.3f"),
                         f(r["minirocket"].get("score")) if r["minirocket"].get("score")
                         is not None else "n/a"]
                print(" ".join(format(c, s) for c, (_, s) in zip(cells, cols)))
            s = report["summary"].get(f"{task} {'holdout' if holdout else 'selection'}")
            if s:
                print(f"mean over {len(s['datasets'])}: skrnn {s['mean_skrnn']:.3f}, best "
                      f"baseline {s['mean_best_baseline']:.3f}, skrnn-best "
                      f"{s['mean_skrnn_minus_best']:+.3f} "
                      f"(median {s['median_skrnn_minus_best']:+.3f}); skrnn beats the best "
                      f"baseline on {s['skrnn_wins']}/{len(s['datasets'])}"
                      + (f"; minirocket {s['mean_minirocket']:.3f}"
                         if s["mean_minirocket"] is not None else ""))
            for r in rs:
                for e in r["skrnn"]["errors"]:
                    print(f"note: {r['name']}: skrnn failed: {e}")
    if report["skipped"]:
        print("\nskipped: " + "; ".join(f"{s['name']} ({s['reason']})"
                                        for s in report["skipped"]))
    m = report["minirocket"]
    if not m["run"]:
        print(f"minirocket: not run ({m['note'] or 'quick run'})")
    params = report["settings"]["params"]
    print(f"skrnn params: classifier {json.dumps(params['classification'])}, regressor "
          f"{json.dumps(params['regression'])} (the rest defaults); seeds "
          f"{report['settings']['seeds']}; {report['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
