"""Thread safety: a fit publishes its model at the end; prediction never changes training state.

The contract (docs/reliability.md, "Thread safety"): while one thread fits, refits or
continues training an estimator, other threads may call its predict / score / save /
pickle methods; each such call sees the previous model or the new one, whole.
"""

import pickle
import threading
import time
import warnings

import numpy as np
import pytest
from _helpers import quiet_fit, same_weights, toy_tagging_data, weights
from sklearn.exceptions import NotFittedError

import skrnn
from skrnn import LanguageModel, Seq2Seq, SequenceClassifier, SequenceTagger

X, Y = toy_tagging_data(n=80, seed=3)
Y_CLS = ["dog" if "dog" in s else "other" for s in X]
TINY = dict(hidden_size=8, embedding_dim=8, char_embedding_dim=4, char_filters=4,
            batch_size=8, max_epochs=3, early_stopping=False, device="cpu", dropout=0.5)


def proba(est):
    return np.concatenate([p.ravel() for p in est.predict_proba(X)])


class Reader(threading.Thread):
    """Calls ``read(est)`` in a loop until stopped; keeps every result and every error."""

    def __init__(self, est, read):
        super().__init__(daemon=True)
        self.est, self.read = est, read
        self.results, self.errors = [], []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.results.append(self.read(self.est))
            except NotFittedError as exc:
                self.errors.append(exc)
                time.sleep(0.001)  # a tight loop of raises would starve the fitting thread
            except Exception as exc:  # noqa: BLE001 - every other error is a failure
                self.errors.append(exc)


def run_with_readers(est, action, read, n_readers=2):
    readers = [Reader(est, read) for _ in range(n_readers)]
    for r in readers:
        r.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action()
    finally:
        for r in readers:
            r.stop.set()
            r.join(timeout=60)
    return readers


def matches_one_of(result, candidates):
    return any(np.allclose(result, c, rtol=0, atol=1e-6) for c in candidates)


def test_refit_while_predicting_shows_old_or_new_model_never_a_mix():
    """A refit with another seed (new weights) while two threads predict: every prediction is
    the old model's or the new one's, and nothing raises."""
    old = quiet_fit(SequenceTagger(random_state=0, **TINY), X, Y)
    new = quiet_fit(SequenceTagger(random_state=1, **TINY), X, Y)
    before, after = proba(old), proba(new)
    assert not np.allclose(before, after)
    est = pickle.loads(pickle.dumps(old))
    readers = run_with_readers(est, lambda: est.set_params(random_state=1).fit(X, Y), proba)
    results = [res for r in readers for res in r.results]
    assert not [e for r in readers for e in r.errors]
    assert results and all(matches_one_of(res, [before, after]) for res in results)
    assert same_weights(weights(est), weights(new))


def test_first_fit_while_predicting_is_not_fitted_then_fitted():
    """Before the first fit publishes, readers get NotFittedError and nothing else."""
    est = SequenceTagger(random_state=0, **TINY)
    reference = proba(quiet_fit(SequenceTagger(random_state=0, **TINY), X, Y))
    readers = run_with_readers(est, lambda: est.fit(X, Y), proba)
    errors = [e for r in readers for e in r.errors]
    assert all(isinstance(e, NotFittedError) for e in errors), errors[:3]
    assert all(matches_one_of(res, [reference]) for r in readers for res in r.results)
    np.testing.assert_allclose(proba(est), reference, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cls, y", [(SequenceTagger, Y), (SequenceClassifier, Y_CLS)])
def test_partial_fit_while_predicting_trains_with_dropout_and_predicts_without(cls, y):
    """partial_fit trains with dropout even while other threads predict (weights equal a run
    alone), and the predictions never use dropout (each equals the model before or after)."""
    est = quiet_fit(cls(random_state=0, **TINY), X, y)
    alone = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone.partial_fit(X, y)
        alone.partial_fit(X, y)

    def read(e):
        return e.predict_proba(X) if cls is SequenceClassifier else proba(e)

    before = read(est)

    def train():
        est.partial_fit(X, y)
        est.partial_fit(X, y)

    readers = run_with_readers(est, train, read)
    # The published state between the two calls: one partial_fit from the start.
    start = quiet_fit(cls(random_state=0, **TINY), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.partial_fit(X, y)
    middle = read(start)
    assert not [e for r in readers for e in r.errors]
    assert same_weights(weights(est), weights(alone))
    after = read(est)
    results = [res for r in readers for res in r.results]
    assert results and all(matches_one_of(res, [before, middle, after]) for res in results)
    assert not est.module_.training


def test_concurrent_predictions_equal_sequential_ones():
    est = quiet_fit(SequenceTagger(random_state=0, **TINY), X, Y)
    expected = proba(est)
    out = []
    threads = [threading.Thread(target=lambda: out.append(proba(est))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 4 and all(np.array_equal(o, expected) for o in out)
    assert not est.module_.training


def test_save_and_pickle_during_refit_give_old_or_new_model(tmp_path):
    """save and pickle while a refit runs: each file / pickle is one whole model."""
    old = quiet_fit(SequenceTagger(random_state=0, **TINY), X, Y)
    new = quiet_fit(SequenceTagger(random_state=1, **TINY), X, Y)
    candidates = [proba(old), proba(new)]
    est = pickle.loads(pickle.dumps(old))
    counter = iter(range(10**6))

    def snapshot(e):
        i = next(counter)
        if i % 2:
            return pickle.dumps(e)
        return e.save(tmp_path / f"m{i}.skrnn")

    readers = run_with_readers(est, lambda: est.set_params(random_state=1).fit(X, Y), snapshot,
                               n_readers=1)
    saved = readers[0].results
    assert not readers[0].errors and saved
    for item in saved[:20]:
        model = pickle.loads(item) if isinstance(item, bytes) else skrnn.load(item)
        assert matches_one_of(proba(model), candidates)


def test_language_model_sampling_during_partial_fit_is_unaffected():
    """Sampling and scoring during partial_fit use the published model: same outputs as
    before or after, never a model with dropout on."""
    texts = [" ".join(s) for s in X]
    lm = quiet_fit(LanguageModel(hidden_size=8, embedding_dim=8, num_layers=1, max_epochs=2,
                                 dropout=0.5, random_state=0, device="cpu"), texts)
    before = (lm.score(texts[:10]), lm.sample(2, max_length=20, random_state=3))

    def read(e):
        return e.score(texts[:10]), e.sample(2, max_length=20, random_state=3)

    readers = run_with_readers(lm, lambda: lm.partial_fit(texts), read)
    after = read(lm)
    assert not [e for r in readers for e in r.errors]
    results = [res for r in readers for res in r.results]
    assert results
    for score, sample in results:  # two calls: each sees one model, maybe not the same one
        assert score in (before[0], after[0]) and sample in (before[1], after[1])


# -- Seq2Seq: decoding (greedy, beam, sampling) while a fit runs ------------------------------

Y_REV = [s[::-1] for s in X]
S2S = dict(hidden_size=8, embedding_dim=8, batch_size=8, max_epochs=2, early_stopping=False,
           device="cpu", dropout=0.5)


def s2s_read(est):
    """Everything a Seq2Seq computes for a few pairs: greedy or beam outputs, log-likelihoods,
    attention weights and a seeded sample."""
    return (est.predict(X[:10]), est.log_likelihood(X[:10], Y_REV[:10]),
            np.concatenate([a.ravel() for a in est.attention_weights(X[:3], Y_REV[:3])]),
            est.sample(X[:5], random_state=3))


def s2s_matches(result, candidates):
    """Each part of ``result`` is that of one candidate model (the parts are separate calls:
    each sees one model, maybe not the same one)."""
    predicted, ll, attention, sample = result
    return (any(predicted == c[0] for c in candidates)
            and any(np.allclose(ll, c[1], rtol=0, atol=1e-6) for c in candidates)
            and any(np.allclose(attention, c[2], rtol=0, atol=1e-6) for c in candidates)
            and any(sample == c[3] for c in candidates))


@pytest.mark.parametrize("beam_size", [1, 3])
def test_seq2seq_refit_while_decoding_shows_old_or_new_model(beam_size):
    """A Seq2Seq refit with another seed while two threads decode (greedy or beam search),
    score and sample: every result is the old model's or the new one's, and nothing raises."""
    old = quiet_fit(Seq2Seq(random_state=0, beam_size=beam_size, **S2S), X, Y_REV)
    new = quiet_fit(Seq2Seq(random_state=1, beam_size=beam_size, **S2S), X, Y_REV)
    candidates = [s2s_read(old), s2s_read(new)]
    assert not np.allclose(candidates[0][1], candidates[1][1])
    est = pickle.loads(pickle.dumps(old))
    readers = run_with_readers(est, lambda: est.set_params(random_state=1).fit(X, Y_REV),
                               s2s_read)
    results = [res for r in readers for res in r.results]
    assert not [e for r in readers for e in r.errors]
    assert results and all(s2s_matches(res, candidates) for res in results)
    assert same_weights(weights(est), weights(new))


def test_seq2seq_first_fit_while_decoding_is_not_fitted_then_fitted():
    """Before a Seq2Seq's first fit publishes, readers get NotFittedError and nothing else."""
    est = Seq2Seq(random_state=0, **S2S)
    reference = s2s_read(quiet_fit(Seq2Seq(random_state=0, **S2S), X, Y_REV))
    readers = run_with_readers(est, lambda: est.fit(X, Y_REV), s2s_read)
    errors = [e for r in readers for e in r.errors]
    assert all(isinstance(e, NotFittedError) for e in errors), errors[:3]
    assert all(s2s_matches(res, [reference]) for r in readers for res in r.results)
    assert s2s_matches(s2s_read(est), [reference])


def test_seq2seq_partial_fit_while_decoding_trains_with_dropout_and_decodes_without():
    """partial_fit trains with dropout while other threads decode (weights equal a run alone),
    and decoding never uses dropout (each result is the model's before or after)."""
    est = quiet_fit(Seq2Seq(random_state=0, **S2S), X, Y_REV)
    alone = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone.partial_fit(X, Y_REV)
    before = s2s_read(est)
    readers = run_with_readers(est, lambda: est.partial_fit(X, Y_REV), s2s_read)
    assert not [e for r in readers for e in r.errors]
    assert same_weights(weights(est), weights(alone))
    results = [res for r in readers for res in r.results]
    assert results and all(s2s_matches(res, [before, s2s_read(est)]) for res in results)
    assert not est.module_.training
