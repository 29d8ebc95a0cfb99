"""Checks every skrnn estimator must pass (parametrized over the estimators)."""

import pickle

import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger

ESTIMATORS = [SequenceTagger, LanguageModel, SequenceClassifier, SequenceRegressor]
DATA_FREE_CHECKS = [
    check_no_attributes_set_in_init,
    check_estimator_cloneable,
    check_get_params_invariance,
    check_set_params,
    check_parameters_default_constructible,
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_sklearn_data_free_checks(Estimator, check):
    """scikit-learn's data-free estimator checks pass."""
    check(Estimator.__name__, Estimator())


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_unfitted_estimator_clones_pickles_and_refuses_to_predict(Estimator):
    """An unfitted estimator clones and pickles, and says it is not fitted."""
    est = Estimator(hidden_size=7)
    assert clone(est).get_params() == est.get_params()
    assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.predict(["ab"])


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_html_repr_names_parameters(Estimator):
    """Each estimator renders scikit-learn's HTML repr with its changed parameters."""
    html = Estimator(hidden_size=7)._repr_html_()
    assert Estimator.__name__ in html and "hidden_size" in html
