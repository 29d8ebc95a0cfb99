"""Reliability of every estimator: determinism, Ctrl-C, divergence, unknown tokens and labels."""

import warnings

import numpy as np
import pytest
import torch
from _helpers import (
    quiet_fit,
    quiet_partial_fit,
    random_series,
    same_weights,
    toy_tagging_data,
    weights,
)
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skrnn import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn import data as _data
from skrnn.vocab import Vocabulary

COMMON = dict(hidden_size=8, embedding_dim=8, batch_size=16, max_epochs=3, early_stopping=False,
              random_state=0, device="cpu")
CHARS = dict(char_embedding_dim=4, char_filters=4)


X_TOK, Y_TAGS = toy_tagging_data()
Y_CLASS = ["dog" if "dog" in s else "other" for s in X_TOK]
Y_NUM = [float(len(s)) for s in X_TOK]
TEXTS = [" ".join(s) for s in X_TOK]
X_NUM = random_series(60, seed=0, min_length=3, max_length=8)
Y_NUM_NUM = [float(x[:, 0].mean()) for x in X_NUM]
#: Seq2Seq: each sentence's words reversed, a few outputs empty (other lengths than the input).
Y_REVERSED = [[] if i % 10 == 0 else s[::-1] for i, s in enumerate(X_TOK)]

#: name -> (estimator class, its parameters, X, y)
SPECS = {
    "tagger": (SequenceTagger, {**COMMON, **CHARS}, X_TOK, Y_TAGS),
    "language_model": (LanguageModel, {**COMMON, "num_layers": 1, "window_length": 64},
                       TEXTS, None),
    "classifier": (SequenceClassifier, {**COMMON, **CHARS}, X_TOK, Y_CLASS),
    "regressor": (SequenceRegressor, {**COMMON}, X_NUM, Y_NUM_NUM),
    "seq2seq": (Seq2Seq, {**COMMON}, X_TOK, Y_REVERSED),
}
NAMES = list(SPECS)


def make(name, cls=None, **params):
    """An unfitted estimator of the spec ``name`` (optionally of a subclass) and its data."""
    base, defaults, X, y = SPECS[name]
    return (cls or base)(**{**defaults, **params}), X, y


def all_finite(est):
    return all(torch.isfinite(v).all() for v in est.module_.state_dict().values())


def flat_outputs(est, X):
    """Everything the estimator predicts for X, as one flat float64 array."""
    if isinstance(est, LanguageModel):
        return np.concatenate([[est.score(X)], est.predict_proba(X[:5]).ravel()])
    if isinstance(est, SequenceTagger):
        return np.concatenate([p.ravel() for p in est.predict_proba(X)]).astype(np.float64)
    if isinstance(est, SequenceClassifier):
        return est.predict_proba(X).ravel()
    if isinstance(est, Seq2Seq):
        # The log-likelihood of the training outputs, and the predicted lengths of a few.
        y = Y_REVERSED if X is X_TOK else [s[::-1] for s in X]
        return np.concatenate([est.log_likelihood(X, y),
                               [len(p) for p in est.predict(X[:5])]])
    return np.asarray(est.predict(X), dtype=np.float64).ravel()


# -- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_bit_identical_weights_and_predictions(name):
    """Two fits with the same int seed, the second on a clone, agree bit for bit."""
    est, X, y = make(name)
    first = quiet_fit(est, X, y)
    second = quiet_fit(clone(first), X, y)
    assert same_weights(weights(first), weights(second))
    assert np.array_equal(flat_outputs(first, X), flat_outputs(second, X))
    assert first.loss_curve_ == second.loss_curve_


@pytest.mark.parametrize("name", NAMES)
def test_different_seeds_give_different_weights(name):
    """Another seed gives other initial weights, hence other fitted weights."""
    a, X, y = make(name, random_state=0)
    b, _, _ = make(name, random_state=1)
    assert not same_weights(weights(quiet_fit(a, X, y)), weights(quiet_fit(b, X, y)))


@pytest.mark.parametrize("name", NAMES)
def test_fit_and_predict_leave_global_rngs_untouched(name):
    """fit, partial_fit and predict neither consume nor reseed torch's or numpy's global RNG."""
    est, X, y = make(name)
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is under test
    quiet_fit(est, X, y)
    flat_outputs(est, X)
    est.partial_fit(X, y) if y is not None else est.partial_fit(X)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


@pytest.mark.parametrize("name", NAMES)
def test_results_do_not_depend_on_the_global_seeds(name):
    """With an int random_state, the global torch and numpy seeds change nothing."""
    fitted = []
    numpy_state = np.random.get_state()  # noqa: NPY002 - restored below, for later tests
    try:
        with torch.random.fork_rng(devices=[]):
            for seed in (1, 2):
                torch.manual_seed(seed)
                np.random.seed(seed)  # noqa: NPY002 - the legacy global seed must not matter
                est, X, y = make(name)
                fitted.append(weights(quiet_fit(est, X, y)))
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
    assert same_weights(*fitted)


@pytest.mark.parametrize("name", NAMES)
def test_partial_fit_sequences_are_reproducible(name):
    """The same seed and the same partial_fit calls give identical weights."""
    runs = []
    for _ in range(2):
        est, X, y = make(name)
        for _ in range(2):
            quiet_partial_fit(est, X, y)
        runs.append(weights(est))
    assert same_weights(*runs)


def test_char_cnn_gradients_are_identical_across_runs_with_two_threads(brown_small):
    """The character CNN's gradients do not change between identical backward passes on 2 threads.

    (Advanced indexing's backward sums with atomic adds across threads: its rounding
    changed from run to run and made 2-thread fits irreproducible.)
    """
    X, y = brown_small[0][:256], brown_small[1][:256]
    est = quiet_fit(SequenceTagger(hidden_size=16, max_epochs=1, dropout=0.0, early_stopping=False,
                                   random_state=0, device="cpu"), X, y)
    seqs = est._check_inputs(X)
    targets = est._check_fit_targets(y, seqs, first=False)
    batch = _data.collate(est._encode_inputs(seqs, targets), np.arange(len(X)), est.device_)
    module = est.module_
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(8):
            module.zero_grad()
            est._batch_loss(module, batch)[0].backward()
            grads.append({k: p.grad.clone() for k, p in module.named_parameters()})
    finally:
        torch.set_num_threads(threads)
        module.zero_grad(set_to_none=True)
    assert all(same_weights(grads[0], g) for g in grads[1:])


# -- Ctrl-C ---------------------------------------------------------------------------------


def faulty(cls):
    """A subclass of ``cls`` whose loss and validation can fail on cue (simulated faults).

    ``fail_at``: 1-based training batch at which ``fault`` happens: ``"interrupt"``
    raises KeyboardInterrupt, ``"nan"`` returns a NaN loss, ``"inf_weights"`` makes a
    weight infinite while the loss stays finite. ``interrupt_validation_at``: 1-based
    validation call that raises KeyboardInterrupt. ``snapshots`` records the weights at
    the start of every batch, ``validated`` the weights and score at every validation.
    """

    class Faulty(cls):
        fail_at = None
        fault = "interrupt"
        interrupt_validation_at = None

        def _batch_loss(self, module, batch):
            self.calls_ = getattr(self, "calls_", 0) + 1
            self.snapshots = getattr(self, "snapshots", [])
            self.snapshots.append({k: v.detach().clone() for k, v in module.state_dict().items()})
            loss, n = super()._batch_loss(module, batch)
            if self.calls_ == self.fail_at:
                if self.fault == "interrupt":
                    raise KeyboardInterrupt
                if self.fault == "nan":
                    return loss * float("nan"), n
                self._corrupt_after_step(module)
            return loss, n

        def _corrupt_after_step(self, module):
            # After the optimiser's step, as an overflowing update would.
            def hook(optimizer, args, kwargs):
                handle.remove()
                with torch.no_grad():
                    next(module.parameters()).fill_(float("inf"))

            handle = self.optimizer_.register_step_post_hook(hook)

        def _validation_score(self, module, data):
            self.validated = getattr(self, "validated", [])
            if len(self.validated) + 1 == self.interrupt_validation_at:
                raise KeyboardInterrupt
            loss, score = super()._validation_score(module, data)
            state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            self.validated.append((score, state))
            return loss, score

    Faulty.__name__ = f"Faulty{cls.__name__}"
    return Faulty


def batches_per_epoch(name, **params):
    """How many training batches one epoch of this spec has."""
    base = SPECS[name][0]
    est, X, y = make(name, faulty(base), **{**params, "max_epochs": 1})
    quiet_fit(est, X, y)
    return est.calls_


def refit_once(est, X, y):
    """One more epoch with partial_fit (faults off)."""
    est.fail_at, est.interrupt_validation_at = None, None
    return quiet_partial_fit(est, X, y)


@pytest.mark.parametrize("name", NAMES)
def test_interrupt_keeps_best_validation_epoch(name):
    """Ctrl-C in epoch 4 with early stopping warns and keeps the best of epochs 1-3."""
    params = dict(early_stopping=True, max_epochs=10, n_iter_no_change=10)
    per_epoch = batches_per_epoch(name, **params)
    est, X, y = make(name, faulty(SPECS[name][0]), **params)
    est.fail_at = 3 * per_epoch + 2
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\) after 3 epoch"):
        est.fit(X, y)
    check_is_fitted(est)
    scores = [s for s, _ in est.validated]
    best = int(np.argmax(scores))  # the first of equal scores, as training keeps it
    assert same_weights(weights(est), est.validated[best][1])
    assert est.n_iter_ == 3 and len(est.history_) == 3 and len(est.loss_curve_) == 3
    assert est.validation_scores_ == scores
    assert est.best_validation_score_ == scores[best]
    assert [h["best"] for h in est.history_].index(True) == 0  # epoch 1 is a best by definition
    assert np.all(np.isfinite(flat_outputs(est, X)))
    refit_once(est, X, y)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4


@pytest.mark.parametrize("name", NAMES)
def test_interrupt_without_validation_keeps_last_finished_epoch(name):
    """Ctrl-C half-way through epoch 3 restores the weights epoch 2 ended with."""
    per_epoch = batches_per_epoch(name)
    est, X, y = make(name, faulty(SPECS[name][0]), max_epochs=10)
    est.fail_at = 2 * per_epoch + 2
    with pytest.warns(UserWarning, match="the weights of the last finished epoch"):
        est.fit(X, y)
    assert same_weights(weights(est), est.snapshots[2 * per_epoch])  # start of epoch 3
    assert not same_weights(weights(est), est.snapshots[-1])  # epoch 3 had taken a step
    assert est.n_iter_ == 2 and [h["epoch"] for h in est.history_] == [1, 2]
    assert np.all(np.isfinite(flat_outputs(est, X)))


@pytest.mark.parametrize("name", NAMES)
def test_interrupt_in_first_epoch_leaves_initial_weights(name):
    """Ctrl-C before any epoch finished leaves a usable estimator with its initial weights."""
    est, X, y = make(name, faulty(SPECS[name][0]))
    est.fail_at = 2
    with pytest.warns(UserWarning, match="no epoch finished"):
        est.fit(X, y)
    check_is_fitted(est)
    assert same_weights(weights(est), est.snapshots[0])
    assert est.n_iter_ == 0 and est.history_ == [] and est.loss_curve_ == []
    assert np.all(np.isfinite(flat_outputs(est, X)))
    refit_once(est, X, y)
    assert est.n_iter_ == 1 and len(est.history_) == 1


@pytest.mark.parametrize("name", NAMES)
def test_interrupt_during_validation_keeps_best_finished_epoch(name):
    """Ctrl-C while epoch 3 is being validated keeps the best of epochs 1-2."""
    est, X, y = make(name, faulty(SPECS[name][0]), early_stopping=True, max_epochs=10)
    est.interrupt_validation_at = 3
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    scores = [s for s, _ in est.validated]
    assert len(scores) == 2 and est.n_iter_ == 2 and len(est.history_) == 2
    assert same_weights(weights(est), est.validated[int(np.argmax(scores))][1])
    assert np.all(np.isfinite(flat_outputs(est, X)))


# -- divergence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("learning_rate", [1e6, 1e30])
@pytest.mark.parametrize("name", NAMES)
def test_absurd_learning_rate_is_reported(name, learning_rate):
    """An absurd learning rate without clipping ends in an error or a divergence warning,
    never in NaN weights and never silently."""
    est, X, y = make(name, learning_rate=learning_rate, clip_value=None, clip_norm=None,
                     max_epochs=6, n_iter_no_change=2)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
        except ValueError as exc:
            error = str(exc)
        else:
            error = None
    if error is not None:
        assert "diverged" in error and "Lower learning_rate" in error
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
        with pytest.raises(NotFittedError):
            flat_outputs(est, X)
    else:
        messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
        assert any("diverged" in m and "Lower learning_rate" in m for m in messages), messages
        assert all_finite(est)
        assert np.all(np.isfinite(flat_outputs(est, X)))


def test_partial_fit_on_another_target_scale_is_not_called_divergence():
    """A regressor's later partial_fit on targets 300x wider than its first fit's (a large but
    legitimate loss: the target scaling is frozen at the first fit) does not warn 'diverged'."""
    X = random_series(40, seed=1)
    rng = np.random.RandomState(0)
    est = SequenceRegressor(hidden_size=4, max_epochs=2, early_stopping=False, random_state=0,
                            device="cpu")
    quiet_fit(est, X, 0.01 * rng.randn(len(X)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.partial_fit(X, 3.0 * rng.randn(len(X)))
    assert est.loss_curve_[-1] > 100  # the situation the old check misread
    assert not [w for w in record if "diverged" in str(w.message)]


@pytest.mark.parametrize("fault", ["nan", "inf_weights"])
@pytest.mark.parametrize("name", NAMES)
def test_fault_in_epoch_3_keeps_epoch_2_weights(name, fault):
    """A NaN loss, or weights turned infinite, in epoch 3 warns and restores epoch 2's weights."""
    per_epoch = batches_per_epoch(name)
    est, X, y = make(name, faulty(SPECS[name][0]), max_epochs=10)
    # "nan" is noticed at once; infinite weights at the end of the epoch.
    est.fault, est.fail_at = fault, 2 * per_epoch + (2 if fault == "nan" else per_epoch)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 3") as record:
        est.fit(X, y)
    assert "keeps the weights of epoch 2" in str(record[0].message)
    assert same_weights(weights(est), est.snapshots[2 * per_epoch])
    assert all_finite(est)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert est.history_[-1]["diverged"] is True
    assert np.all(np.isfinite(flat_outputs(est, X)))
    refit_once(est, X, y)
    assert est.n_iter_ == 3 and all_finite(est)


@pytest.mark.parametrize("name", NAMES)
def test_fault_in_first_epoch_raises_and_leaves_unfitted(name):
    """A NaN loss before any finished epoch is a ValueError; the estimator is then unfitted."""
    est, X, y = make(name, faulty(SPECS[name][0]))
    est.fault, est.fail_at = "nan", 2
    with pytest.raises(ValueError, match="diverged in epoch 1.*Lower learning_rate"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        flat_outputs(est, X)


@pytest.mark.parametrize("name", NAMES)
def test_refit_that_diverges_keeps_the_previous_model_whole(name):
    """A refit that diverges at once leaves the previous fit exactly as it was: all or nothing
    (never the old network next to new vocabularies or classes)."""
    est, X, y = make(name, faulty(SPECS[name][0]))
    quiet_fit(est, X, y)
    before, outputs, history = weights(est), flat_outputs(est, X), list(est.history_)
    est.fault, est.fail_at, est.calls_ = "nan", 1, 0
    with pytest.raises(ValueError, match="diverged"):
        est.fit(X, y)
    check_is_fitted(est)
    assert same_weights(weights(est), before)
    assert est.history_ == history
    np.testing.assert_array_equal(flat_outputs(est, X), outputs)


@pytest.mark.parametrize("name", NAMES)
def test_nan_in_later_partial_fit_keeps_weights(name):
    """A NaN loss in a later partial_fit call warns and keeps the weights it started from."""
    est, X, y = make(name, faulty(SPECS[name][0]))
    refit_once(est, X, y)
    before = weights(est)
    est.fault, est.fail_at = "nan", est.calls_ + 2
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 2"):
        est.partial_fit(X, y) if y is not None else est.partial_fit(X)
    assert same_weights(weights(est), before)
    assert est.n_iter_ == 1


# -- unknown tokens and unseen labels -------------------------------------------------------------


def _swap_unknown(X, old, new):
    return [[new if t == old else t for t in s] for s in X]


@pytest.mark.parametrize("cls", [SequenceTagger, SequenceClassifier, SequenceRegressor])
def test_unknown_words_are_read_as_unk(cls):
    """Words never seen in fit map to <unk>: any two unseen words give identical outputs."""
    y = {SequenceTagger: Y_TAGS, SequenceClassifier: Y_CLASS, SequenceRegressor: Y_NUM}[cls]
    est = quiet_fit(cls(**{**COMMON, "char_embedding_dim": None}), X_TOK, y)
    X = [["the", "zebra", "runs"], ["a", "dog", "eats", "zebra"]]
    assert est.vocabulary_.encode(["zebra"]).tolist() == [Vocabulary.unk_id]
    swapped = _swap_unknown(X, "zebra", "yak")
    assert np.array_equal(flat_outputs(est, X), flat_outputs(est, swapped))
    assert not np.array_equal(flat_outputs(est, X),
                              flat_outputs(est, _swap_unknown(X, "zebra", "cat")))
    if cls is SequenceTagger:
        assert [len(p) for p in est.predict(X)] == [3, 4]


def test_tagger_unknown_words_use_their_spelling():
    """With character features an unseen word still maps to <unk> but keeps its spelling."""
    est = quiet_fit(SequenceTagger(**{**COMMON, **CHARS}), X_TOK, Y_TAGS)
    X = [["the", "zebra", "runs"]]
    assert est.vocabulary_.encode(X[0]).tolist()[1] == Vocabulary.unk_id
    assert not np.array_equal(flat_outputs(est, X),
                              flat_outputs(est, _swap_unknown(X, "zebra", "yak")))


@pytest.mark.parametrize("X", [["the zebra"], [["the", "zebra"]]], ids=["chars", "words"])
def test_language_model_scores_unknown_tokens_as_unk(X):
    """score and perplexity read unseen characters / words as <unk>."""
    train = TEXTS if isinstance(X[0], str) else X_TOK
    lm = quiet_fit(LanguageModel(**{**COMMON, "num_layers": 1}), train, None)
    old, new = ("z", "q") if isinstance(X[0], str) else ("zebra", "yak")
    swapped = [s.replace(old, new) for s in X] if isinstance(X[0], str) else _swap_unknown(
        X, old, new)
    assert np.isfinite(lm.score(X))
    assert lm.score(X) == lm.score(swapped)
    assert lm.perplexity(X) == lm.perplexity(swapped)


def test_tagger_score_counts_unseen_labels_as_errors():
    """Labels in y never seen in fit count as wrongly tagged steps (no error is raised)."""
    est = quiet_fit(SequenceTagger(**{**COMMON, **CHARS}), X_TOK, Y_TAGS)
    X, y = X_TOK[:10], [list(t) for t in Y_TAGS[:10]]
    pred = est.predict(X)
    y[0][0] = "UNSEEN"
    expected = np.mean(np.concatenate([np.asarray(t) == p for t, p in zip(y, pred)]))
    assert est.score(X, y) == pytest.approx(expected)
    assert est.score(X, y) < est.score(X, [list(p) for p in pred]) == 1.0


def test_classifier_score_counts_unseen_labels_as_errors():
    """Classifier.score is accuracy: a label never seen in fit counts as an error."""
    est = quiet_fit(SequenceClassifier(**{**COMMON, **CHARS}), X_TOK, Y_CLASS)
    X = X_TOK[:10]
    pred = est.predict(X)
    y = list(pred)
    y[0] = "UNSEEN"
    assert est.score(X, y) == pytest.approx(0.9)


@pytest.mark.parametrize("cls", [SequenceTagger, SequenceClassifier])
def test_unseen_labels_in_partial_fit_are_refused(cls):
    """Training on a label outside classes_ is an error that names it."""
    y = Y_TAGS if cls is SequenceTagger else Y_CLASS
    est = quiet_fit(cls(**{**COMMON, **CHARS}), X_TOK, y)
    new = [["NEW"] * len(X_TOK[0])] if cls is SequenceTagger else ["NEW"]
    with pytest.raises(ValueError, match="NEW"):
        est.partial_fit(X_TOK[:1], new)


def test_seq2seq_unknown_input_words_are_read_as_unk():
    """Input words never seen in fit map to <unk>: two unseen words give identical outputs."""
    est = quiet_fit(Seq2Seq(**COMMON), X_TOK, Y_REVERSED)
    X = [["the", "zebra", "runs"], ["a", "dog", "eats", "zebra"]]
    assert est.vocabulary_.encode(["zebra"]).tolist() == [Vocabulary.unk_id]
    swapped = _swap_unknown(X, "zebra", "yak")
    assert np.array_equal(flat_outputs(est, X), flat_outputs(est, swapped))
    assert est.predict(X) == est.predict(swapped)
    assert not np.array_equal(flat_outputs(est, X),
                              flat_outputs(est, _swap_unknown(X, "zebra", "cat")))


def test_seq2seq_unknown_output_words_score_as_unk_and_are_refused_in_training():
    """Output words never seen in fit read as <unk> in log_likelihood and count as errors in
    score; partial_fit and warm starts refuse them by name (the output layer cannot grow)."""
    est = quiet_fit(Seq2Seq(**COMMON), X_TOK, Y_REVERSED)
    X, y = X_TOK[1:3], [list(t) for t in Y_REVERSED[1:3]]
    y[0][0] = "zebra"
    ll = est.log_likelihood(X, y)
    assert np.isfinite(ll).all()
    np.testing.assert_array_equal(ll, est.log_likelihood(X, _swap_unknown(y, "zebra", "yak")))
    predicted = est.predict(X)
    assert est.score(X, [p + ["zebra"] for p in predicted]) == 0.0 < est.score(X, predicted)
    for how in ("partial_fit", "warm_start"):
        with pytest.raises(ValueError, match=r"y\[0\] holds output tokens the model was not "
                                             r"fitted with: \['zebra'\]"):
            if how == "partial_fit":
                est.partial_fit(X, y)
            else:
                quiet_fit(clone(est), X_TOK, Y_REVERSED).set_params(warm_start=True).fit(X, y)
