"""Numeric input: standardisation inside the network (``standardize``) and ``input_dropout``.

Also files saved before these parameters existed, which must load with the behaviour they
were fitted with (``_legacy_params``).
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, toy_tagging_data
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from test_persistence import read_file, write_file

import skrnn
from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn._base import AUTO_INPUT_DROPOUT, feature_standardization

# TorchScript is deprecated upstream; torch.jit.trace says so on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.*` is deprecated:DeprecationWarning"
)

TINY = dict(hidden_size=4, max_epochs=2, early_stopping=False, random_state=0, device="cpu")
NUMERIC = [SequenceTagger, SequenceClassifier, SequenceRegressor]


def series(n=24, seed=0, *, offset=(50.0, -3.0, 0.0), spread=(10.0, 0.01, 1.0)):
    """Ragged float32 series (1 to 9 steps) far from mean 0 / scale 1, so scaling matters."""
    rng = np.random.RandomState(seed)
    lengths = list(rng.randint(1, 10, size=n - 1)) + [1]
    return [(rng.randn(t, len(offset)) * spread + offset).astype(np.float32) for t in lengths]


def targets(Estimator, X):
    """y for ``Estimator`` from the series X (per step for the tagger)."""
    if Estimator is SequenceTagger:
        return [np.where(x[:, 0] > 50, "hi", "lo") for x in X]
    if Estimator is SequenceClassifier:
        return np.array([int(x[:, 0].mean() > 50) for x in X])
    return np.array([x[:, 0].mean() * 3 + 100 for x in X])


def fitted(Estimator, X=None, **params):
    X = series() if X is None else X
    return quiet_fit(Estimator(**{**TINY, **params}), X, targets(Estimator, X))


def predictions(est, X):
    """What the estimator returns for X, as one float array."""
    if isinstance(est, SequenceTagger):
        return np.concatenate(est.predict_proba(X))
    if isinstance(est, SequenceClassifier):
        return est.predict_proba(X)
    return est.predict(X)


# -- the statistics -----------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", NUMERIC)
def test_statistics_are_those_of_the_real_steps(Estimator):
    """input_mean_ / input_scale_ are numpy's mean / std over the real steps of ragged X
    (padding would pull the mean of feature 0, ~50, towards 0)."""
    X = series()
    est = fitted(Estimator, X)
    steps = np.concatenate(X).astype(np.float64)
    np.testing.assert_allclose(est.input_mean_, steps.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(est.input_scale_, steps.std(axis=0), rtol=1e-6)
    assert est.input_mean_.dtype == np.float64 and est.input_mean_.shape == (3,)
    assert est._network_config_["encoder"]["standardize"] is True


def test_network_feeds_standardised_steps():
    """The encoder's input representation is (x - input_mean_) / input_scale_."""
    X = series()
    est = fitted(SequenceClassifier, X)
    batch = skrnn.data.collate(est._encode_inputs(X[:3]), np.arange(3), est.device_)
    with torch.no_grad():
        embedded = est.module_.encoder.embed(batch).numpy()
    for i, x in enumerate(X[:3]):
        expected = (x - est.input_mean_) / est.input_scale_
        np.testing.assert_allclose(embedded[i, : len(x)], expected, rtol=1e-5, atol=1e-5)


def test_standardization_is_stable_far_from_zero():
    """Two passes in float64: a large offset does not swallow a small spread."""
    rng = np.random.RandomState(0)
    X = [(1e6 + rng.randn(t, 2) * [1.0, 100.0]).astype(np.float32) for t in (3, 50, 7)]
    mean, scale = feature_standardization(X)
    steps = np.concatenate(X).astype(np.float64)
    np.testing.assert_allclose(mean, steps.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scale, steps.std(axis=0), rtol=1e-9)


def test_statistics_in_chunks_equal_one_pass(monkeypatch):
    """Summing in bounded chunks gives numpy's statistics over all the steps."""
    import skrnn._base as base

    X = series(n=40)
    expected = feature_standardization(X)
    monkeypatch.setattr(base, "_MOMENTS_CHUNK", 7)  # a chunk every few sequences
    for got, want in zip(feature_standardization(X), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("Estimator", [SequenceClassifier, SequenceRegressor])
def test_constant_feature_gets_scale_one(Estimator):
    """A feature with zero variance (exactly, or at float64 rounding: 0.1 is inexact) gets
    scale 1, and predictions stay finite, as with StandardScaler."""
    rng = np.random.RandomState(0)
    X = [np.c_[50 + 10 * rng.randn(t), np.full(t, 0.1), np.zeros(t)].astype(np.float32)
         for t in rng.randint(1, 8, size=20)]
    est = fitted(Estimator, X)
    np.testing.assert_array_equal(est.input_scale_[1:], [1.0, 1.0])
    np.testing.assert_allclose(est.input_mean_[1:], [0.1, 0.0], rtol=1e-6)
    assert est.input_scale_[0] != 1.0
    assert np.isfinite(predictions(est, X)).all()
    # At predict time the constant may change: still finite.
    assert np.isfinite(predictions(est, [x + [0, 5, -5] for x in X])).all()


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("Estimator", [SequenceTagger, SequenceRegressor])
def test_continued_training_keeps_the_statistics(Estimator, how):
    """partial_fit and warm_start train on, with the first fit's statistics; a fresh fit
    computes new ones."""
    first, other = series(seed=0), series(seed=1, offset=(0.0, 7.0, 1.0))
    est = fitted(Estimator, first)
    mean, scale = est.input_mean_, est.input_scale_
    if how == "partial_fit":
        quiet_partial_fit(est, other, targets(Estimator, other))
    else:
        quiet_fit(est.set_params(warm_start=True), other, targets(Estimator, other))
    assert est.n_iter_ > 2  # it did train on
    np.testing.assert_array_equal(est.input_mean_, mean)
    np.testing.assert_array_equal(est.input_scale_, scale)
    quiet_fit(est.set_params(warm_start=False), other, targets(Estimator, other))
    steps = np.concatenate(other).astype(np.float64)
    np.testing.assert_allclose(est.input_mean_, steps.mean(axis=0), rtol=1e-6, atol=1e-6)


def test_first_partial_fit_computes_the_statistics():
    X = series()
    est = quiet_partial_fit(SequenceClassifier(**TINY), X, targets(SequenceClassifier, X))
    steps = np.concatenate(X).astype(np.float64)
    np.testing.assert_allclose(est.input_mean_, steps.mean(axis=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("Estimator", NUMERIC)
def test_save_load_and_pickle_keep_the_statistics(Estimator, tmp_path):
    """The statistics live in the network's buffers: saved, loaded and pickled with it,
    predictions bit-identical."""
    X = series()
    est = fitted(Estimator, X)
    est.save(tmp_path / "m.skrnn")
    _, tensors = read_file(tmp_path / "m.skrnn")
    assert {"module.encoder.input_mean", "module.encoder.input_scale"} <= set(tensors)
    for other in (skrnn.load(tmp_path / "m.skrnn"), pickle.loads(pickle.dumps(est))):
        np.testing.assert_array_equal(other.input_mean_, est.input_mean_)
        np.testing.assert_array_equal(other.input_scale_, est.input_scale_)
        np.testing.assert_array_equal(predictions(other, X), predictions(est, X))


def test_set_params_after_fit_saves_and_loads_as_fitted(tmp_path):
    """standardize / input_dropout changed after fit: the file keeps the fitted network."""
    X = series()
    est = fitted(SequenceClassifier, X).set_params(standardize=False, input_dropout=0.4)
    loaded = skrnn.load(est.save(tmp_path / "m.skrnn"))
    assert loaded.get_params()["standardize"] is False
    assert loaded.get_params()["input_dropout"] == 0.4
    assert loaded._network_config_ == est._network_config_
    np.testing.assert_array_equal(loaded.input_mean_, est.input_mean_)
    np.testing.assert_array_equal(predictions(loaded, X), predictions(est, X))


def test_file_setting_input_mean_is_refused(tmp_path):
    """input_mean_ is read from the network, never stored: a file may not set it."""
    est = fitted(SequenceClassifier)
    doc, tensors = read_file(est.save(tmp_path / "m.skrnn"))
    doc["attributes"]["input_mean_"] = [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="input_mean_"):
        skrnn.load(write_file(tmp_path / "bad.skrnn", doc, tensors))


# -- export -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_cases():
    X = series(n=30)
    return {"classifier": (fitted(SequenceClassifier, X, cell="gru", num_layers=2), X),
            "regressor": (fitted(SequenceRegressor, X, bidirectional=False), X)}


#: Batches of several sizes: a 1-step sequence alone, a few, all (in reverse order).
SLICES = [slice(-1, None), slice(3, 7), slice(None, None, -1)]


@pytest.mark.parametrize("case", ["classifier", "regressor"])
def test_torchscript_export_standardises(exported_cases, case, tmp_path):
    """A saved and reloaded TorchScript module reproduces predict / predict_proba."""
    est, X = exported_cases[case]
    est.to_torchscript(tmp_path / "m.pt")
    module = torch.jit.load(tmp_path / "m.pt")
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        with torch.no_grad():
            out = module(*map(torch.from_numpy, arrays.values())).numpy()
        np.testing.assert_allclose(out, predictions(est, X[part]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["classifier", "regressor"])
def test_onnx_export_standardises(exported_cases, case, tmp_path):
    """ONNX Runtime reproduces predict / predict_proba: the standardisation is in the graph."""
    ort = pytest.importorskip("onnxruntime")
    est, X = exported_cases[case]
    session = ort.InferenceSession(str(est.to_onnx(tmp_path / "m.onnx")))
    for part in SLICES:
        arrays = est.export_inputs(X[part])
        out = session.run(None, arrays)[0]
        np.testing.assert_allclose(out, predictions(est, X[part]), rtol=1e-5, atol=1e-6)


# -- token and character input; standardize=False ---------------------------------------------


def _strings(X):
    return ["".join("ab"[int(v > 0)] for v in x[:, 2]) for x in X]


@pytest.mark.parametrize("kind", ["tokens", "chars"])
def test_token_and_character_input_are_not_scaled(kind):
    """standardize does nothing to token or character input: no buffers, config unchanged."""
    X, y = toy_tagging_data(n=12)
    if kind == "chars":
        X = [" ".join(x) for x in X]
        y = [["S" if c == " " else "L" for c in x] for x in X]
    est = quiet_fit(SequenceTagger(**TINY, standardize=True), X, y)
    plain = quiet_fit(SequenceTagger(**TINY, standardize=False), X, y)
    assert est.input_kind_ == kind
    assert not hasattr(est, "input_mean_") and not hasattr(est, "input_scale_")
    assert not any("input_mean" in k or "input_scale" in k for k in est.module_.state_dict())
    assert est._network_config_ == plain._network_config_
    assert "standardize" not in est._network_config_["encoder"]
    for a, b in zip(est.predict_proba(X), plain.predict_proba(X)):
        np.testing.assert_array_equal(a, b)


def test_classifier_on_strings_has_no_standardization():
    X = _strings(series())
    est = quiet_fit(SequenceClassifier(**TINY), X, np.arange(len(X)) % 2)
    assert est.input_kind_ == "chars" and not hasattr(est, "input_mean_")


@pytest.mark.parametrize("Estimator", NUMERIC)
def test_standardize_false_reads_raw_inputs(Estimator):
    """standardize=False: no buffers, and on unscaled data another model than the default."""
    X = series()
    raw = fitted(Estimator, X, standardize=False)
    assert not hasattr(raw, "input_mean_")
    assert "standardize" not in raw._network_config_["encoder"]
    assert not any("input_mean" in k for k in raw.module_.state_dict())
    scaled = fitted(Estimator, X)
    assert not np.allclose(predictions(raw, X), predictions(scaled, X), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("Estimator", [SequenceClassifier, SequenceRegressor])
def test_standardize_equals_standardising_by_hand(Estimator):
    """standardize=True trains exactly as standardize=False on inputs standardised by hand
    (in float32, as the network does): same initial weights, same steps."""
    X = series()
    y = targets(Estimator, X)
    inside = quiet_fit(Estimator(**TINY), X, y)
    mean = inside.input_mean_.astype(np.float32)
    scale = inside.input_scale_.astype(np.float32)
    by_hand = [(x - mean) / scale for x in X]
    outside = quiet_fit(Estimator(**TINY, standardize=False), by_hand, y)
    np.testing.assert_allclose(predictions(inside, X), predictions(outside, by_hand),
                               rtol=1e-5, atol=1e-6)


# -- input_dropout --------------------------------------------------------------------------


def _dropouts(est):
    """(input dropout, dropout before the head) of the fitted network."""
    return est.module_.encoder.input_dropout.p, est.module_.dropout.p


def test_auto_input_dropout_by_input_kind():
    """"auto": the table's value for numeric input (0), dropout's for tokens and characters."""
    assert AUTO_INPUT_DROPOUT["numeric"] == 0.0
    assert AUTO_INPUT_DROPOUT["tokens"] is None and AUTO_INPUT_DROPOUT["chars"] is None
    numeric = fitted(SequenceClassifier, dropout=0.3)
    assert _dropouts(numeric) == (0.0, 0.3)
    assert numeric._network_config_["encoder"]["input_dropout"] == 0.0
    X, y = toy_tagging_data(n=12)
    tokens = quiet_fit(SequenceTagger(**TINY, dropout=0.3), X, y)
    assert _dropouts(tokens) == (0.3, 0.3)
    assert "input_dropout" not in tokens._network_config_["encoder"]
    lm = quiet_fit(LanguageModel(**TINY, num_layers=1, dropout=0.3), [" ".join(x) for x in X])
    assert _dropouts(lm) == (0.3, 0.3)


@pytest.mark.parametrize("value", [0.0, 0.35])
def test_explicit_input_dropout_is_used(value):
    """A float is the input dropout for any input; dropout keeps its other places."""
    numeric = fitted(SequenceRegressor, dropout=0.1, input_dropout=value, num_layers=2)
    assert _dropouts(numeric) == (value, 0.1)
    assert numeric.module_.encoder.stack.between.p == 0.1  # between the layers
    X, y = toy_tagging_data(n=12)
    tokens = quiet_fit(SequenceTagger(**TINY, dropout=0.1, input_dropout=value), X, y)
    assert _dropouts(tokens) == (value, 0.1)
    lm = quiet_fit(LanguageModel(**TINY, num_layers=1, dropout=0.1, input_dropout=value),
                   [" ".join(x) for x in X])
    assert _dropouts(lm) == (value, 0.1)


def test_input_dropout_none_is_dropout():
    """None means "as dropout": the same config, hence the same model, as input_dropout=dropout."""
    a = fitted(SequenceClassifier, dropout=0.25, input_dropout=None)
    b = fitted(SequenceClassifier, dropout=0.25, input_dropout=0.25)
    assert _dropouts(a) == (0.25, 0.25)
    assert a._network_config_ == b._network_config_
    assert "input_dropout" not in a._network_config_["encoder"]


def test_input_dropout_changes_training():
    """The input dropout rate is applied in training: another rate, other weights."""
    X = series()
    a = fitted(SequenceClassifier, X, input_dropout=0.0)
    b = fitted(SequenceClassifier, X, input_dropout=0.5)
    assert not np.array_equal(predictions(a, X), predictions(b, X))


@pytest.mark.parametrize("Estimator", [SequenceTagger, SequenceClassifier, SequenceRegressor,
                                       LanguageModel])
@pytest.mark.parametrize("params", [
    {"input_dropout": 1.0}, {"input_dropout": -0.1}, {"input_dropout": "high"},
    {"input_dropout": [0.1]}, {"standardize": "yes"}, {"standardize": None},
])
def test_invalid_values_are_refused(Estimator, params):
    """scikit-learn's parameter validation names the parameter."""
    if "standardize" in params and Estimator is LanguageModel:
        assert "standardize" not in Estimator().get_params()  # no numeric input, no parameter
        return
    X, y = toy_tagging_data(n=4)
    y = None if Estimator is LanguageModel else (
        y if Estimator is SequenceTagger else np.arange(4) % 2)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        Estimator(**TINY, **params).fit(X, y)


def test_grid_search_over_the_new_parameters():
    """GridSearchCV clones and sets both parameters; each candidate is the model it names."""
    X = series(n=24)
    y = targets(SequenceClassifier, X)
    grid = {"standardize": [True, False], "input_dropout": [0.0, 0.2]}
    search = GridSearchCV(SequenceClassifier(**TINY), grid, cv=2, error_score="raise")
    quiet_fit(search, X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert hasattr(best, "input_mean_") is best.standardize
    assert best.module_.encoder.input_dropout.p == best.input_dropout


# -- files written before these parameters existed -----------------------------------------


def _as_old_file(path, out):
    """A copy of the saved file at ``path`` as an older skrnn wrote it: without the new
    parameters (in params and _fitted_params) and config keys."""
    doc, tensors = read_file(path)
    for params in (doc["params"], doc["attributes"]["_fitted_params"]):
        for name in ("standardize", "input_dropout"):
            params.pop(name, None)
    for name in ("standardize", "input_dropout"):
        doc["attributes"]["_network_config_"]["encoder"].pop(name, None)
    return write_file(out, doc, tensors)


def test_old_numeric_file_loads_with_old_behaviour(tmp_path):
    """A file without standardize / input_dropout loads as the model it was: unstandardised,
    dropout on the inputs; it predicts bit-identically, and refits as before."""
    X = series()
    y = targets(SequenceClassifier, X)
    # The behaviour before the parameters existed.
    old = quiet_fit(SequenceClassifier(**TINY, standardize=False, input_dropout=None), X, y)
    assert old._input_dropout() == old.dropout
    path = _as_old_file(old.save(tmp_path / "new.skrnn"), tmp_path / "old.skrnn")
    doc, _ = read_file(path)
    assert "standardize" not in doc["params"] and "input_dropout" not in doc["params"]
    loaded = skrnn.load(path)
    assert loaded.get_params()["standardize"] is False
    assert loaded.get_params()["input_dropout"] is None
    assert loaded._fitted_params["standardize"] is False
    assert loaded._network_config_ == old._network_config_
    assert not hasattr(loaded, "input_mean_")
    np.testing.assert_array_equal(loaded.predict_proba(X), old.predict_proba(X))
    # A refit of the loaded model does what the old one did.
    again = quiet_fit(clone(loaded), X, y)
    np.testing.assert_array_equal(again.predict_proba(X), old.predict_proba(X))
    # And a re-save is a complete new file.
    doc, _ = read_file(loaded.save(tmp_path / "resaved.skrnn"))
    assert doc["params"]["standardize"] is False
    assert doc["attributes"]["_fitted_params"]["input_dropout"] is None


@pytest.mark.parametrize("name", ["tagger", "lm"])
def test_old_token_file_loads_unchanged(name, tmp_path):
    """Token and character models with the defaults have the configs they always had: a file
    without the new parameters loads and predicts bit-identically."""
    X, y = toy_tagging_data(n=12)
    if name == "lm":
        est = quiet_fit(LanguageModel(**TINY, num_layers=1), [" ".join(x) for x in X])
    else:
        est = quiet_fit(SequenceTagger(**TINY), X, y)
    path = _as_old_file(est.save(tmp_path / "new.skrnn"), tmp_path / "old.skrnn")
    loaded = skrnn.load(path)
    assert loaded.get_params()["input_dropout"] is None
    assert loaded._network_config_ == est._network_config_
    if name == "lm":
        assert "standardize" not in loaded.get_params()
        np.testing.assert_array_equal(loaded.predict_proba(["the d"]),
                                      est.predict_proba(["the d"]))
    else:
        for a, b in zip(loaded.predict_proba(X), est.predict_proba(X)):
            np.testing.assert_array_equal(a, b)


def test_standardised_file_without_its_parameters_is_refused(tmp_path):
    """The legacy values never disguise a standardised network: its buffers are refused."""
    est = fitted(SequenceClassifier)
    path = _as_old_file(est.save(tmp_path / "new.skrnn"), tmp_path / "old.skrnn")
    with pytest.raises(ValueError, match="unexpected network weights.*input_mean"):
        skrnn.load(path)


def test_old_pickle_unpickles_with_old_behaviour():
    """A pickle made before the parameters existed gets their legacy values too."""
    X = series()
    old = fitted(SequenceClassifier, X, standardize=False, input_dropout=None)
    state = old.__getstate__()
    for name in ("standardize", "input_dropout"):
        del state[name]
        del state["_fitted_params"][name]
    est = object.__new__(SequenceClassifier)
    est.__setstate__(state)
    assert est.get_params()["standardize"] is False and est.input_dropout is None
    assert est._fitted_params["standardize"] is False
    np.testing.assert_array_equal(est.predict_proba(X), old.predict_proba(X))
    # Training on works: the config it implies is the one it was fitted with.
    quiet_partial_fit(est, X, targets(SequenceClassifier, X))
    assert est.n_iter_ == old.n_iter_ + 1


# -- per-kind "auto" defaults of the many-to-one estimators -------------------------------------


def _resolved(est):
    cfg = est._network_config_
    return (cfg["encoder"]["cell"], cfg["pooling"], est.optimizer_.param_groups[0]["lr"],
            est._setting("n_iter_no_change"))


@pytest.mark.parametrize("cls, y", [(SequenceClassifier, [0, 1] * 10),
                                    (SequenceRegressor, np.arange(20.0))])
def test_auto_defaults_resolve_per_input_kind(cls, y):
    """Numeric input gets the measured numeric defaults; token input keeps the old ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        numeric = cls(max_epochs=1, random_state=0, device="cpu").fit(
            np.random.RandomState(0).randn(20, 6), y)
        tokens = cls(max_epochs=1, random_state=0, device="cpu").fit(
            [["a", "b", "c"], ["b", "a"]] * 10, y)
    table = cls._auto_params
    assert _resolved(numeric) == tuple(
        table[k]["numeric"] for k in ("cell", "pooling", "learning_rate", "n_iter_no_change"))
    assert _resolved(tokens) == ("lstm", "mean", 5e-3, 10)  # as before "auto" existed
    assert numeric.get_params()["cell"] == "auto" and clone(numeric).cell == "auto"


def test_explicit_values_override_auto():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SequenceRegressor(cell="lstm", pooling="max", learning_rate=0.02,
                                n_iter_no_change=3, max_epochs=1, random_state=0,
                                device="cpu").fit(np.random.RandomState(0).randn(20, 6),
                                                  np.arange(20.0))
    assert _resolved(est) == ("lstm", "max", 0.02, 3)


def test_auto_values_refused_where_not_defined():
    """The tagger has no per-kind table for cell: 'auto' there is a parameter error."""
    with pytest.raises(ValueError, match="cell"):
        SequenceTagger(cell="auto").fit([["a"]], [["x"]])


def test_token_model_saved_with_auto_defaults_equals_explicit_old_defaults(tmp_path):
    """A token classifier with the new "auto" defaults builds the very network the old
    explicit defaults built (same config, same weights for a seed)."""
    X, y = [["a", "b", "c"], ["b", "a"]] * 10, [0, 1] * 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = SequenceClassifier(max_epochs=2, random_state=0, device="cpu").fit(X, y)
        old = SequenceClassifier(cell="lstm", pooling="mean", learning_rate=5e-3,
                                 n_iter_no_change=10, max_epochs=2, random_state=0,
                                 device="cpu").fit(X, y)
    assert auto._network_config_ == old._network_config_
    np.testing.assert_array_equal(auto.predict_proba(X), old.predict_proba(X))
    loaded = skrnn.load(auto.save(tmp_path / "m.skrnn"))
    np.testing.assert_array_equal(loaded.predict_proba(X), auto.predict_proba(X))
