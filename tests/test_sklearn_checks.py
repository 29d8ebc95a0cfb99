"""scikit-learn's own estimator checks on the many-to-one estimators (2-D input).

A 2-D array X of shape (n_samples, n_steps) is read as univariate series,
so the checks exercise the estimators on real sklearn-style input. Small
networks and few epochs keep the run fast; the checks only need a model
that learns easy problems.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skrnn import SequenceClassifier, SequenceRegressor

SMALL = dict(hidden_size=16, max_epochs=40, learning_rate=2e-2, random_state=0, device="cpu")

_STEPS_NOT_FEATURES = (
    "a 2-D X is read as univariate series of n_steps steps, and series of another length "
    "are valid input: n_features_in_ counts features per step (1), not columns"
)

EXPECTED_FAILURES = {
    # Fails only at its last step (predict on X[:, :-1] must raise); the learning part is
    # asserted by test_blobs_accuracy_as_in_check_classifiers_train below.
    "check_classifiers_train": _STEPS_NOT_FEATURES,
    "check_n_features_in_after_fitting": _STEPS_NOT_FEATURES,
    "check_n_features_in": _STEPS_NOT_FEATURES,
    "check_estimators_partial_fit_n_features": _STEPS_NOT_FEATURES,
}


#: The regressor's numeric default is a GRU (see SequenceRegressor's "auto" parameters),
#: whose CPU kernel splits its matrix products by batch size: a prediction made in a batch
#: of 20 and in one of 10 differ by float32 rounding (measured 1.8e-7 absolute, 3.5e-6
#: relative), above this check's atol=1e-7. test_regressor_subset_invariance_to_rounding
#: below asserts the same invariance at float32 precision.
_GRU_ROUNDING = "GRU predictions differ across batch sizes by float32 rounding (~2e-7)"


def _expected(estimator):
    if isinstance(estimator, SequenceRegressor):
        return {**EXPECTED_FAILURES, "check_methods_subset_invariance": _GRU_ROUNDING}
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [SequenceClassifier(**SMALL), SequenceRegressor(**SMALL)],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    """The estimator passes scikit-learn's check (expected failures carry their reason)."""
    check(estimator)


def test_blobs_accuracy_as_in_check_classifiers_train():
    """On sklearn's blobs (read as 2-step series) accuracy exceeds 0.83, as the check asks."""
    import warnings

    from sklearn.datasets import make_blobs
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SequenceClassifier(**SMALL).fit(X, y)
    assert clf.score(X, y) > 0.83


def test_regressor_subset_invariance_to_rounding():
    """Predicting a subset gives what predicting everything gives, to float32 precision."""
    import warnings

    import numpy as np

    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 8), rng.randn(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SequenceRegressor(**SMALL).fit(X, y)
    full = reg.predict(X)
    parts = np.concatenate([reg.predict(X[i:i + 7]) for i in range(0, 40, 7)])
    np.testing.assert_allclose(parts, full, rtol=1e-5, atol=1e-6)
