"""Tests for skrnn.SequenceTagger: learning, API, sklearn integration, errors."""

import pickle
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skrnn import SequenceTagger
from skrnn.cells import CELLS
from skrnn.metrics import token_accuracy, token_accuracy_scorer
from skrnn.preprocessing import TokenNormalizer

TINY = dict(hidden_size=16, embedding_dim=16, char_embedding_dim=8, char_filters=8,
            max_epochs=3, device="cpu")


def tiny(**kw):
    return SequenceTagger(**{**TINY, "random_state": 0, **kw})


def quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def weights(est):
    return {k: v.clone() for k, v in est.module_.state_dict().items()}


# -- learning -------------------------------------------------------------------


def test_learns_toy_structure(fitted_tagger, toy_factory):
    """On clearly structured data the tagger labels unseen sentences perfectly."""
    X_new, y_new = toy_factory(n=30, seed=1)
    assert fitted_tagger.score(X_new, y_new) == 1.0


def test_beats_most_frequent_tag_on_real_data(brown_small):
    """On real Brown text the tagger beats the most-frequent-tag-per-word baseline."""
    Xtr, ytr, Xte, yte = brown_small
    by_word = {}
    for words, tags in zip(Xtr, ytr):
        for w, t in zip(words, tags):
            by_word.setdefault(w, Counter())[t] += 1
    overall = Counter(t for tags in ytr for t in tags).most_common(1)[0][0]
    base_pred = [[by_word[w].most_common(1)[0][0] if w in by_word else overall for w in s]
                 for s in Xte]
    baseline = token_accuracy(yte, base_pred)
    tagger = quiet_fit(SequenceTagger(hidden_size=64, dropout=0.3, learning_rate=1e-2,
                                      max_epochs=4, random_state=0, device="cpu"), Xtr, ytr)
    acc = tagger.score(Xte, yte)
    assert acc > baseline + 0.02, (acc, baseline)


def test_character_input_learns_segmentation():
    """With strings as X, each character is tagged (B = word start, I = inside)."""
    rng = np.random.RandomState(0)
    words = ["red", "blue", "cat", "dog", "sun", "tree"]
    X, y = [], []
    for _ in range(150):
        picked = [words[i] for i in rng.randint(len(words), size=rng.randint(1, 5))]
        X.append("".join(picked))
        y.append("".join("B" + "I" * (len(w) - 1) for w in picked))
    est = quiet_fit(tiny(max_epochs=25, learning_rate=1e-2), X[:120], y[:120])
    assert est.input_kind_ == "chars" and est.char_vocabulary_ is None
    assert est.score(X[120:], y[120:]) > 0.97
    assert isinstance(est.predict(["redcat"])[0][0], str)


def test_numeric_input_learns_a_lagged_rule():
    """On float steps, the tag of step t is the sign of feature 0 at step t-1 (needs memory)."""
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(2, 12), 3).astype(np.float32) for _ in range(300)]
    y = [np.r_[0, (x[:-1, 0] > 0).astype(int)] for x in X]
    est = quiet_fit(tiny(bidirectional=False, max_epochs=20, learning_rate=1e-2), X[:250],
                    y[:250])
    assert est.n_features_in_ == 3
    assert est.score(X[250:], y[250:]) > 0.9
    assert est.predict(X[250:251])[0].dtype.kind == "i"


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_cell_and_direction_fits(cell, bidirectional, toy_data):
    """Every cell type, in one or two directions and two layers, trains and predicts."""
    X, y = toy_data
    est = quiet_fit(tiny(cell=cell, bidirectional=bidirectional, num_layers=2), X, y)
    pred = est.predict(X[:5])
    assert [len(p) for p in pred] == [len(s) for s in X[:5]]
    assert est.loss_curve_[-1] < est.loss_curve_[0]


# -- predictions ----------------------------------------------------------------


def test_predict_shapes_and_labels(fitted_tagger):
    """predict returns one array per sequence, of its length, with known labels."""
    X = [["the"], ["a", "cat", "eats", "the", "unseenword"]]
    pred = fitted_tagger.predict(X)
    assert [len(p) for p in pred] == [1, 5]
    assert set(np.concatenate(pred)) <= set(fitted_tagger.classes_)


def test_predict_proba_rows_sum_to_one(fitted_tagger):
    """Probabilities are (T_i, n_classes), sum to 1 and agree with predict."""
    X = [["the", "dog"], ["every", "bird", "runs"]]
    proba = fitted_tagger.predict_proba(X)
    assert [p.shape for p in proba] == [(2, 3), (3, 3)]
    for p, labels in zip(proba, fitted_tagger.predict(X)):
        np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
        assert fitted_tagger.classes_[p.argmax(1)].tolist() == labels.tolist()


def test_prediction_independent_of_batch_company(fitted_tagger, toy_data):
    """A sequence gets the same probabilities alone or among longer ones."""
    X, _ = toy_data
    alone = fitted_tagger.predict_proba([X[0]])[0]
    together = fitted_tagger.predict_proba(X)[0]
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


def test_int_labels_roundtrip(toy_data):
    """Integer labels come back as the same integers."""
    X, y = toy_data
    mapping = {"DET": 10, "NOUN": 20, "VERB": 30}
    y_int = [[mapping[t] for t in tags] for tags in y]
    est = quiet_fit(tiny(max_epochs=10), X, y_int)
    assert est.classes_.tolist() == [10, 20, 30]
    assert set(np.concatenate(est.predict(X)).tolist()) <= {10, 20, 30}


def test_score_counts_unseen_labels_as_errors(fitted_tagger):
    """A label never seen in training cannot be predicted: it lowers the score."""
    X = [["the", "dog", "runs"]]
    assert fitted_tagger.score(X, [["DET", "NOUN", "VERB"]]) == 1.0
    assert fitted_tagger.score(X, [["DET", "NOUN", "NEWTAG"]]) == pytest.approx(2 / 3)


# -- training behaviour -------------------------------------------------------------


def test_same_seed_same_weights_and_no_global_seeding(toy_data):
    """The same random_state gives identical weights; fit leaves the global RNG alone."""
    X, y = toy_data
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = quiet_fit(tiny(random_state=7), X, y)
    after = torch.rand(1)
    b = quiet_fit(tiny(random_state=7), X, y)
    c = quiet_fit(tiny(random_state=8), X, y)
    assert torch.equal(before, after)
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    assert [p.tolist() for p in a.predict(X)] == [p.tolist() for p in b.predict(X)]


def test_early_stopping_keeps_best_epoch(toy_data):
    """With early stopping the best validation score is kept and recorded."""
    X, y = toy_data
    est = quiet_fit(tiny(early_stopping=True, max_epochs=40, n_iter_no_change=2), X, y)
    assert est.validation_scores_ is not None
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert len(est.validation_scores_) == est.n_iter_ < 40
    best = [h["epoch"] for h in est.history_ if h["best"]][-1]
    assert est.history_[best - 1]["valid_score"] == est.best_validation_score_


def test_early_stopping_needs_enough_sequences():
    """Early stopping with too few sequences says how to fix it."""
    with pytest.raises(ValueError, match="set early_stopping=False"):
        tiny(early_stopping=True).fit([["a"]], [["X"]])


def test_convergence_warning_at_max_epochs(toy_data):
    """Reaching max_epochs while still improving warns ConvergenceWarning."""
    X, y = toy_data
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        tiny(max_epochs=2).fit(X, y)


class _FailingTagger(SequenceTagger):
    """A tagger whose loss fails after a number of batches (simulated faults)."""

    fail_after = 5
    fault = "nan"

    def _batch_loss(self, module, batch):
        self.calls_ = getattr(self, "calls_", 0) + 1
        loss, n = super()._batch_loss(module, batch)
        if self.calls_ > self.fail_after:
            if self.fault == "interrupt":
                raise KeyboardInterrupt
            return loss * float("nan"), n
        return loss, n


def test_diverging_run_keeps_last_good_weights(toy_data):
    """A NaN loss stops training with a warning and leaves finite, usable weights."""
    X, y = toy_data
    est = _FailingTagger(**{**TINY, "random_state": 0, "batch_size": 20, "max_epochs": 10})
    est.fail_after = 7  # 3 batches per epoch: fails in epoch 3
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 3"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert all(torch.isfinite(v).all() for v in est.module_.state_dict().values())
    assert len(est.predict(X[:2])) == 2


def test_diverging_first_epoch_raises(toy_data):
    """Divergence before any finished epoch is an error with advice."""
    X, y = toy_data
    est = _FailingTagger(**{**TINY, "random_state": 0})
    est.fail_after = 0
    with pytest.raises(ValueError, match="Lower learning_rate"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_keyboard_interrupt_keeps_a_usable_model(toy_data):
    """Ctrl-C during fit warns and leaves a fitted estimator with the best weights so far."""
    X, y = toy_data
    est = _FailingTagger(**{**TINY, "random_state": 0, "batch_size": 20, "max_epochs": 10,
                            "early_stopping": True})
    est.fault, est.fail_after = "interrupt", 8
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert len(est.predict(X[:3])) == 3


def test_partial_fit_runs_one_epoch_each(toy_data):
    """partial_fit adds one epoch per call and continues from the current weights."""
    X, y = toy_data
    est = tiny()
    est.partial_fit(X, y, classes=["DET", "NOUN", "VERB", "X"])
    est.partial_fit(X, y)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert est.classes_.tolist() == ["DET", "NOUN", "VERB", "X"]
    with pytest.raises(ValueError, match=r"not fitted with: \['NEW'\]"):
        est.partial_fit([["the"]], [["NEW"]])


def test_partial_fit_classes_must_cover_y(toy_data):
    """classes that miss a label of y are refused."""
    X, y = toy_data
    with pytest.raises(ValueError, match="not in classes"):
        tiny().partial_fit(X, y, classes=["DET"])


def test_warm_start_continues_and_checks_shape(toy_data):
    """warm_start continues training; changing the network's shape is refused."""
    X, y = toy_data
    est = quiet_fit(tiny(warm_start=True), X, y)
    first = weights(est)
    quiet_fit(est, X, y)
    assert est.n_iter_ == 6
    assert not all(torch.equal(first[k], v) for k, v in weights(est).items())
    est.set_params(hidden_size=32)
    with pytest.raises(ValueError, match="shape parameters changed"):
        est.fit(X, y)


def test_verbose_prints_one_row_per_epoch(toy_data, capsys):
    """verbose=1 prints a header and one aligned row per epoch."""
    X, y = toy_data
    quiet_fit(tiny(verbose=1, max_epochs=2), X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "train_loss" in lines[0]
    assert len(lines) == 4 and lines[2].split()[0] == "1" and lines[3].split()[0] == "2"


# -- scikit-learn integration ----------------------------------------------------------


def test_clone_gives_unfitted_same_params(fitted_tagger):
    """clone copies parameters and no fitted state."""
    c = clone(fitted_tagger)
    assert c.get_params() == fitted_tagger.get_params()
    assert not hasattr(c, "module_")


def test_invalid_parameters_have_sklearn_messages(toy_data):
    """Bad parameter values fail in fit with scikit-learn's uniform message."""
    X, y = toy_data
    with pytest.raises(InvalidParameterError, match="'cell' parameter of SequenceTagger"):
        SequenceTagger(cell="transformer").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'hidden_size'"):
        SequenceTagger(hidden_size=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'dropout'"):
        SequenceTagger(dropout=1.5).fit(X, y)
    with pytest.raises(ValueError, match="'device' parameter must be"):
        SequenceTagger(device="gpu").fit(X, y)


def test_unfitted_estimator_raises_not_fitted():
    """Using the tagger before fit raises sklearn's NotFittedError."""
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SequenceTagger().predict([["a"]])


def test_predict_input_of_another_kind(fitted_tagger):
    """Predicting on strings after fitting on tokens names both kinds."""
    with pytest.raises(ValueError, match="fitted on sequences that are a list of str tokens"):
        fitted_tagger.predict(["the dog"])


def test_fit_rejects_mismatched_labels():
    """A raw sentence string with per-word labels gets a tokenising hint."""
    with pytest.raises(ValueError, match="tokenize the sentences first"):
        SequenceTagger().fit(["The cat sat"], [["DET", "NOUN", "VERB"]])


def test_pickle_roundtrip_identical_predictions(fitted_tagger, toy_data):
    """A pickled tagger predicts identically and can keep training."""
    X, y = toy_data
    restored = pickle.loads(pickle.dumps(fitted_tagger))
    for a, b in zip(restored.predict_proba(X), fitted_tagger.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    restored.partial_fit(X, y)
    assert restored.n_iter_ == fitted_tagger.n_iter_ + 1


def test_cuda_fitted_model_unpickles_on_cpu(fitted_tagger, toy_data):
    """A tagger whose device is 'cuda' unpickles onto the CPU when CUDA is missing."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fallback is for CPU-only machines")
    blob = pickle.dumps(fitted_tagger)
    est = pickle.loads(blob)
    est.device = "cuda"
    with pytest.warns(UserWarning, match="CUDA is not available"):
        moved = pickle.loads(pickle.dumps(est))
    assert moved.device_.type == "cpu"
    assert len(moved.predict(toy_data[0][:2])) == 2


def test_html_repr(fitted_tagger):
    """The estimator has scikit-learn's HTML representation."""
    html = fitted_tagger._repr_html_()
    assert "SequenceTagger" in html and "hidden_size" in html


def test_pipeline_with_token_normalizer(toy_data):
    """A Pipeline of TokenNormalizer and the tagger fits and predicts."""
    X, y = toy_data
    X_upper = [[w.upper() for w in s] for s in X]
    pipe = make_pipeline(TokenNormalizer(), tiny(max_epochs=10))
    quiet_fit(pipe, X_upper, y)
    assert pipe.score(X, y) == 1.0
    assert pipe.named_steps["sequencetagger"].vocabulary_.stoi.get("dog") is not None


def test_cross_val_score_and_train_test_split(toy_data):
    """Plain lists work with train_test_split and cross_val_score (no SliceDataset)."""
    X, y = toy_data
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    assert len(Xtr) == 45 and len(yte) == 15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(tiny(max_epochs=10), X, y, cv=3,
                                 scoring=token_accuracy_scorer)
    assert scores.shape == (3,) and scores.min() > 0.9


def _threads_scorer(estimator, X, y):
    return float(torch.get_num_threads())


def test_grid_search_over_cells_in_parallel(toy_data):
    """GridSearchCV over cell x bidirectional runs with n_jobs=2, one torch thread per worker."""
    X, y = toy_data
    grid = {"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]}
    search = GridSearchCV(tiny(max_epochs=2), grid, cv=3, n_jobs=2,
                          scoring={"acc": token_accuracy_scorer, "threads": _threads_scorer},
                          refit="acc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert search.best_params_["cell"] in {"rnn", "gru", "lstm"}
    # 2 workers on a machine with N cores get N // 2 threads each: no oversubscription.
    import os

    expected = max((os.cpu_count() or 1) // 2, 1)
    assert set(search.cv_results_["mean_test_threads"]) == {float(expected)}


@pytest.mark.slow
def test_full_brown_reaches_crf_level_accuracy():
    """Trained on all of Brown for 3 epochs with defaults, test accuracy exceeds 0.97."""
    from skrnn.datasets import load_brown_pos

    Xtr, ytr = load_brown_pos("train")
    Xte, yte = load_brown_pos("test")
    est = quiet_fit(SequenceTagger(max_epochs=3, random_state=0), Xtr, ytr)
    assert est.score(Xte, yte) > 0.97


def test_failed_refit_leaves_the_previous_model_whole(toy_data):
    """A refit that fails on bad labels changes nothing: the previous model (network,
    vocabulary and classes together) still predicts as before; never a mix of the two fits."""
    X, y = toy_data
    est = quiet_fit(tiny(), X, y)
    before, vocabulary = est.predict(X), est.vocabulary_
    with pytest.raises(ValueError, match="different numbers of sequences"):
        est.fit([["new", "words"]], y)
    assert est.vocabulary_ is vocabulary
    for a, b in zip(est.predict(X), before):
        np.testing.assert_array_equal(a, b)
