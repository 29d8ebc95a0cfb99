"""Tests for SequenceClassifier, SequenceRegressor and StepwiseTransformer."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrnn import SequenceClassifier, SequenceRegressor, StepwiseTransformer
from skrnn.modules import pool_steps

SMALL = dict(hidden_size=16, max_epochs=40, learning_rate=2e-2, random_state=0, device="cpu")


def quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def ragged_data(n=240, seed=0, scale=1.0):
    """Variable-length 2-feature series; class = sign of the mean of feature 0 over the series."""
    rng = np.random.RandomState(seed)
    X = [(rng.randn(rng.randint(3, 20), 2) * scale).astype(np.float32) for _ in range(n)]
    y = np.array(["pos" if x[:, 0].mean() > 0 else "neg" for x in X])
    return X, y


@pytest.fixture(scope="module")
def fitted_clf():
    X, y = ragged_data()
    return quiet(SequenceClassifier(**SMALL), X[:180], y[:180])


def test_classifier_learns_variable_length_rule(fitted_clf):
    """The classifier learns a rule over whole variable-length series (chance is ~0.5)."""
    X, y = ragged_data()
    assert fitted_clf.score(X[180:], y[180:]) > 0.85
    assert fitted_clf.classes_.tolist() == ["neg", "pos"]


def test_proba_log_proba_decision_agree(fitted_clf):
    """predict_proba sums to 1, matches exp(predict_log_proba), and predict is its argmax."""
    X, _ = ragged_data(n=20, seed=1)
    proba = fitted_clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(fitted_clf.predict_log_proba(X)), proba, rtol=1e-6)
    assert (fitted_clf.classes_[proba.argmax(1)] == fitted_clf.predict(X)).all()
    dec = fitted_clf.decision_function(X)
    assert dec.shape == (20,) and ((dec > 0) == (proba[:, 1] > 0.5)).all()


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_ignores_padding(pooling, bidirectional):
    """Pooling a padded batch equals pooling each sequence alone."""
    torch.manual_seed(0)
    out = torch.randn(2, 6, 8)
    lengths = torch.tensor([3, 6])
    padded = out.clone()
    padded[0, 3:] = 1e6
    batch = pool_steps(padded, lengths, pooling, bidirectional)
    alone = pool_steps(out[:1, :3], lengths[:1], pooling, bidirectional)
    torch.testing.assert_close(batch[0], alone[0])


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_sequence_scores_same_alone_or_batched(fitted_clf, pooling):
    """A short sequence gets the same probabilities alone or batched with longer ones."""
    X, y = ragged_data(n=60)
    clf = quiet(SequenceClassifier(**{**SMALL, "max_epochs": 3, "pooling": pooling}), X, y)
    short = min(range(60), key=lambda i: len(X[i]))
    np.testing.assert_allclose(clf.predict_proba([X[short]])[0], clf.predict_proba(X)[short],
                               rtol=1e-5, atol=1e-6)


def test_token_input_classifier():
    """Token sequences work too (e.g. sentence classification)."""
    X = [["good", "movie"], ["bad", "movie"], ["good", "film"], ["bad", "film"]] * 10
    y = [1, 0, 1, 0] * 10
    clf = quiet(SequenceClassifier(**SMALL), X, y)
    assert clf.predict([["film", "good"], ["movie", "bad"]]).tolist() == [1, 0]


def test_class_weight_shifts_predictions():
    """A heavy class weight makes the classifier prefer that class on ambiguous data."""
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    y = rng.randint(2, size=200)  # labels unrelated to X
    plain = quiet(SequenceClassifier(**SMALL), X, y)
    heavy = quiet(SequenceClassifier(**SMALL, class_weight={0: 1.0, 1: 20.0}), X, y)
    assert (heavy.predict(X) == 1).mean() > max((plain.predict(X) == 1).mean(), 0.8)


def test_regressor_single_and_multi_output():
    """The regressor learns sums over variable-length series, for one and two outputs."""
    X, _ = ragged_data(n=300)
    y = np.array([x[:, 0].sum() for x in X]) * 100 + 5000  # far from unit scale
    reg = quiet(SequenceRegressor(**{**SMALL, "max_epochs": 60}), X[:250], y[:250])
    assert reg.score(X[250:], y[250:]) > 0.8
    assert reg.predict(X[:3]).shape == (3,)
    assert reg.y_mean_[0] == pytest.approx(y[:250].astype(np.float64).mean(), rel=1e-6)
    Y = np.c_[y, -y]
    multi = quiet(SequenceRegressor(**{**SMALL, "max_epochs": 60}), X[:250], Y[:250])
    assert multi.predict(X[:3]).shape == (3, 2)
    assert multi.score(X[250:], Y[250:]) > 0.8


def test_stepwise_transformer_scales_over_all_steps():
    """StepwiseTransformer fits on all steps and keeps sequence lengths."""
    X = [np.array([[1.0], [3.0]]), np.array([[5.0], [7.0], [9.0]])]
    st = StepwiseTransformer(StandardScaler()).fit(X)
    out = st.transform(X)
    assert [o.shape for o in out] == [(2, 1), (3, 1)]
    all_steps = np.concatenate(out)
    assert abs(all_steps.mean()) < 1e-6 and abs(all_steps.std() - 1) < 1e-6
    with pytest.raises(ValueError, match="fitted with 1"):
        st.transform([np.ones((2, 2))])


def test_pipeline_and_stratified_grid_search():
    """A scaling pipeline tunes over cell with stratified CV on plain lists."""
    X, y = ragged_data(n=120, scale=50.0)
    pipe = make_pipeline(StepwiseTransformer(StandardScaler()),
                         SequenceClassifier(**{**SMALL, "max_epochs": 15}))
    search = GridSearchCV(pipe, {"sequenceclassifier__cell": ["gru", "lstm"]},
                          cv=StratifiedKFold(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_score_ > 0.75


def test_pickle_and_seeding(fitted_clf):
    """A pickled classifier predicts identically; the same seed gives the same model."""
    X, y = ragged_data()
    restored = pickle.loads(pickle.dumps(fitted_clf))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_clf.predict_proba(X))
    again = quiet(SequenceClassifier(**SMALL), X[:180], y[:180])
    np.testing.assert_array_equal(again.predict_proba(X), fitted_clf.predict_proba(X))


@pytest.mark.parametrize(
    "X, y, match",
    [
        ([[1.0, 2.0], [3.0]], [0, 1], "ragged 2-D list"),
        ([np.array([[np.nan, 1.0]]), np.ones((2, 2))], [0, 1], "NaN or infinity"),
        ([np.ones((2, 2)), np.ones((3, 2))], [0, 0], "only one class"),
        ([np.ones((2, 2)), np.ones((3, 2))], [0, 1, 1], "different numbers of samples"),
        ([np.ones((2, 2)), np.ones((3, 2))], None, "requires y to be passed"),
    ],
)
def test_classifier_bad_input(X, y, match):
    """Bad input raises ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        SequenceClassifier(**SMALL).fit(X, y)


def test_wrong_n_features_at_predict(fitted_clf):
    """Sequences with another number of features per step are refused at predict."""
    with pytest.raises(ValueError, match="fitted with 2"):
        fitted_clf.predict([np.ones((4, 3))])
    with pytest.raises(ValueError, match=r"wrap it in a list: \[X\]"):
        fitted_clf.predict(np.ones((4, 2)))  # one sequence passed without its list


def test_regressor_rejects_non_finite_targets():
    """NaN targets are refused with scikit-learn's message."""
    with pytest.raises(ValueError, match="NaN"):
        SequenceRegressor(**SMALL).fit(np.ones((3, 4)), [1.0, np.nan, 2.0])
