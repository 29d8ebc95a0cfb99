"""The inference path: batching, inference mode, vectorised unpadding (benchmarks/inference.py)."""

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, random_series, toy_tagging_data

from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger, _base
from skrnn import crf as _crf
from skrnn import data as _data

TAGGER = dict(hidden_size=16, embedding_dim=16, char_embedding_dim=8, char_filters=8,
              max_epochs=2, random_state=0, device="cpu")
MANY_TO_ONE = dict(hidden_size=16, max_epochs=3, random_state=0, device="cpu")


def varied_sentences(n=120, seed=3):
    """Toy sentences of 1 to ~40 tokens (many lengths, so batches are ragged), some unseen words."""
    rng = np.random.RandomState(seed)
    X, _ = toy_tagging_data(n=n, seed=seed)
    out = []
    for words in X:
        repeat = rng.randint(1, 5)
        words = (words * repeat)[: rng.randint(1, 3 * repeat * 3 + 1)] or ["the"]
        if rng.rand() < 0.2:
            words = words + ["zebra"]
        out.append(words)
    return out


@pytest.fixture(scope="module")
def taggers():
    """A softmax and a CRF tagger fitted on the toy data; never mutated."""
    X, y = toy_tagging_data(n=80)
    return {crf: quiet_fit(SequenceTagger(crf=crf, **TAGGER), X, y) for crf in (False, True)}


@pytest.fixture(scope="module")
def many_to_one():
    """A classifier and a regressor fitted on random 2-feature series; never mutated."""
    X = random_series(80, seed=0, max_length=30)
    labels = np.array(["a", "b", "c"])[[int(x[:, 0].sum() > 0) + (len(x) > 15) for x in X]]
    targets = np.array([x[:, 1].mean() for x in X])
    return (quiet_fit(SequenceClassifier(**MANY_TO_ONE), X, labels),
            quiet_fit(SequenceRegressor(**MANY_TO_ONE), X, targets))


@pytest.fixture
def small_batches(monkeypatch):
    """Make every estimator predict in fixed batches of 3 sequences (the reference path)."""
    def use():
        monkeypatch.setattr(_base.BaseSequenceEstimator, "_inference_batches",
                            lambda self, lengths: _data.bucket_batches(lengths, 3))
    return use


# -- data.inference_batches ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_inference_batches_partition_sorted_and_bounded(seed):
    """Every position once, in increasing length; rows, steps and padding within their bounds."""
    rng = np.random.RandomState(seed)
    lengths = np.concatenate([rng.randint(1, 60, 400), rng.randint(100, 3000, 5)])
    batches = _data.inference_batches(lengths, 64, min_rows=8, max_padding=0.05, max_steps=2000)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    flat = lengths[np.concatenate(batches)]
    assert np.all(np.diff(flat) >= 0)
    for b in batches:
        rows, longest, real = len(b), lengths[b].max(), lengths[b].sum()
        assert rows <= 64
        assert rows == 1 or rows * longest <= 2000
        assert rows <= 8 or rows * longest <= 1.05 * real


def test_inference_batches_rows_come_from_a_short_ladder():
    """All batches but the last have max_rows / 2**k rows, so shapes repeat across calls."""
    lengths = np.random.RandomState(1).randint(1, 200, 5000)
    batches = _data.inference_batches(lengths, 256)
    assert {len(b) for b in batches[:-1]} <= {256, 128, 64, 32, 16, 8, 4, 2, 1}
    assert len({len(b) for b in batches}) <= 6


def test_inference_batches_group_equal_lengths_up_to_max_rows():
    """Sequences of one length make full batches (no padding, so only max_rows cuts them)."""
    batches = _data.inference_batches(np.full(2500, 7), 1024)
    assert [len(b) for b in batches] == [1024, 1024, 452]
    assert _data.inference_batches(np.array([5]), 1024)[0].tolist() == [0]


def test_estimators_predict_in_padding_bounded_batches(taggers):
    """Default inference batches: inference_batches of max(batch_size, PREDICT_BATCH_ROWS) rows."""
    lengths = np.random.RandomState(0).randint(1, 50, 3000)
    got = taggers[False]._inference_batches(lengths)
    want = _data.inference_batches(lengths, max(taggers[False].batch_size,
                                                _base.PREDICT_BATCH_ROWS))
    assert [b.tolist() for b in got] == [b.tolist() for b in want]


# -- every estimator: batched results equal the reference computations ---------------------


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_predict_equals_one_sequence_at_a_time(taggers, crf):
    """Batched predict returns, for each sentence, what predicting it alone returns."""
    est = taggers[crf]
    X = varied_sentences()
    batched = est.predict(X)
    assert [len(p) for p in batched] == [len(x) for x in X]
    for x, p in zip(X, batched):
        np.testing.assert_array_equal(p, est.predict([x])[0])
        assert p.dtype == est.classes_.dtype


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_large_batches_equal_small_batches(taggers, crf, small_batches):
    """Labels and probabilities do not depend on how sentences are batched."""
    est = taggers[crf]
    X = varied_sentences(200, seed=5)
    labels, proba = est.predict(X), est.predict_proba(X)
    small_batches()
    for a, b in zip(labels, est.predict(X)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(proba, est.predict_proba(X)):
        assert a.shape == (len(a), len(est.classes_))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_predict_equals_a_plain_forward(taggers, crf):
    """predict equals argmax / Viterbi over the network's scores of each padded sentence alone."""
    est = taggers[crf]
    X = varied_sentences(40, seed=7)
    data = est._encode_inputs(X)
    module = est.module_
    with torch.no_grad():
        for i, p in enumerate(est.predict(X)):
            batch = _data.collate(data, np.array([i]), torch.device("cpu"))
            logits = module(batch)
            chain = module.transition_scores()
            if chain is None:
                ids = logits.argmax(-1)[0]
            else:
                ids = _crf.viterbi(module.chain_emissions(logits), batch.lengths, *chain)[0]
            np.testing.assert_array_equal(p, est.classes_[ids.numpy()])


def test_many_to_one_batched_equals_one_at_a_time_and_small_batches(many_to_one, small_batches):
    """Classifier and regressor outputs do not depend on batching, and keep X's order."""
    clf, reg = many_to_one
    X = random_series(150, seed=9, min_length=1, max_length=60)
    labels, scores, values = clf.predict(X), clf.decision_function(X), reg.predict(X)
    assert scores.dtype == np.float32 and values.dtype == np.float64
    assert labels.shape == (150,) and values.shape == (150,)
    for i in range(0, 150, 15):
        assert clf.predict([X[i]])[0] == labels[i]
        np.testing.assert_allclose(reg.predict([X[i]])[0], values[i], rtol=1e-5, atol=1e-6)
    small_batches()
    np.testing.assert_array_equal(clf.predict(X), labels)
    np.testing.assert_allclose(clf.decision_function(X), scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reg.predict(X), values, rtol=1e-5, atol=1e-6)


def test_language_model_score_equals_a_plain_log_softmax():
    """score equals the mean log-softmax of the next tokens from one full forward per sequence."""
    X = ["abcabc", "cab", "abcabcabcabcab", "b", "aaab" * 10]
    lm = quiet_fit(LanguageModel(hidden_size=16, embedding_dim=8, num_layers=1, max_epochs=2,
                                 random_state=0, device="cpu"), X * 4)
    v, module = lm.vocabulary_, lm.module_
    total, count = 0.0, 0
    with torch.no_grad():
        for s in X:
            ids = torch.as_tensor(np.concatenate([[v.bos_id], v.encode(s), [v.eos_id]]))[None]
            batch = _data.Batch(inputs=ids[:, :-1], lengths=torch.tensor([ids.shape[1] - 1]),
                                index=None)
            logits, _ = module(batch)
            logits[..., [v.pad_id, v.bos_id]] = float("-inf")
            logp = torch.log_softmax(logits.double(), dim=-1)
            total += float(logp[0].gather(1, ids[0, 1:, None]).sum())
            count += ids.shape[1] - 1
    assert lm.score(X) == pytest.approx(total / count, rel=1e-5)


def test_language_model_score_does_not_depend_on_the_logits_budget(monkeypatch):
    """Scoring with head calls of a few steps and short recurrent windows gives the same score."""
    import skrnn.language_model as lm_module

    X = ["abcabc" * 20, "cab", "abcab" * 7]
    lm = quiet_fit(LanguageModel(hidden_size=16, embedding_dim=8, num_layers=1, max_epochs=1,
                                 random_state=0, device="cpu"), X * 4)
    whole = lm.score(X)
    monkeypatch.setattr(lm_module, "_SCORE_LOGITS_BUDGET", 3 * len(lm.vocabulary_))
    assert lm.score(X) == pytest.approx(whole, rel=1e-5)


# -- inference mode ------------------------------------------------------------------------


def test_training_continues_after_predicting(taggers, many_to_one):
    """Nothing made under inference mode leaks into training: partial_fit works after predict."""
    import copy

    X, y = toy_tagging_data(n=20, seed=11)
    tagger = copy.deepcopy(taggers[True])
    tagger.predict(X)
    tagger.predict_proba(X)
    quiet_partial_fit(tagger, X, y)
    assert tagger.predict(X)[0].shape == (len(X[0]),)
    clf = copy.deepcopy(many_to_one[0])
    series = random_series(10, seed=12)
    clf.predict_proba(series)
    quiet_partial_fit(clf, series, clf.predict(series))


def test_predict_returns_ordinary_arrays(taggers):
    """Results are plain numpy arrays, one independent view per sequence, not torch tensors."""
    X = varied_sentences(30)
    proba = taggers[True].predict_proba(X)
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float32 for p in proba)
    before = proba[1].copy()
    proba[0][...] = -1.0
    np.testing.assert_array_equal(proba[1], before)


# -- Viterbi ---------------------------------------------------------------------------------


def _reference_viterbi(emissions, lengths, transitions, start, end):
    """Textbook batched Viterbi with stored backpointers (the previous implementation)."""
    n, longest, c = emissions.shape
    real = torch.arange(longest) < lengths.unsqueeze(1)
    itself = torch.arange(c).expand(n, c)
    score, pointers = start + emissions[:, 0], []
    for t in range(1, longest):
        best, arg = (score.unsqueeze(2) + transitions).max(dim=1)
        keep = real[:, t:t + 1]
        score = torch.where(keep, best + emissions[:, t], score)
        pointers.append(torch.where(keep, arg, itself))
    tag = (score + end).argmax(dim=1)
    path = [tag]
    for arg in reversed(pointers):
        tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
        path.append(tag)
    out = torch.stack(path[::-1], dim=1)
    return torch.where(real, out, torch.zeros_like(out))


@pytest.mark.parametrize("ties", [False, True])
def test_viterbi_equals_backpointer_viterbi(ties):
    """The prefix / recomputed-predecessor Viterbi returns the textbook paths, ties included."""
    rng = np.random.RandomState(int(ties))
    for _ in range(60):
        n, longest, c = rng.randint(1, 30), rng.randint(1, 25), rng.randint(1, 9)

        def draw(*shape):
            values = rng.randint(-2, 2, shape) if ties else rng.randn(*shape)
            return torch.from_numpy(values.astype(np.float32))

        em, trans, start, end = draw(n, longest, c), draw(c, c), draw(c), draw(c)
        lengths = torch.from_numpy(rng.randint(1, longest + 1, n))
        want = _reference_viterbi(em, lengths, trans, start, end)
        assert torch.equal(_crf.viterbi(em, lengths, trans, start, end), want)
        got = _crf.viterbi_numpy(em.numpy(), lengths.numpy(), trans.numpy(), start.numpy(),
                                 end.numpy())
        for row, length, path in zip(want, lengths.tolist(), got):
            np.testing.assert_array_equal(path, row[:length].numpy())
