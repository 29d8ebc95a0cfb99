"""SequenceTagger with a CRF output layer and tag schemes (constrained decoding)."""

import pickle
import warnings

import numpy as np
import pytest
from _helpers import quiet_fit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skrnn
from skrnn import SequenceTagger
from skrnn import tag_schemes as schemes
from skrnn.cells import CELLS
from skrnn.metrics import entity_f1

TINY = dict(hidden_size=12, embedding_dim=8, char_embedding_dim=None, batch_size=8,
            early_stopping=False, random_state=0)


def _chunks(n, seed):
    """Sentences where an entity's type shows only at its *last* word.

    "new york city" is a LOC, "new york times" an ORG: a left-to-right tagger
    cannot know the type of "new" when it reads it. Decoding over the chain
    (a CRF, or a tag scheme that forbids B-LOC -> I-ORG) carries the type back
    from "city" / "times"; tagging step by step cannot.
    """
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.randint(1, 3)):
            k = rng.randint(0, 3)
            words += ["the"] * k + ["said"]
            tags += ["O"] * (k + 1)
            kind = rng.randint(2)
            words += ["new", "york", "city" if kind == 0 else "times"]
            tags += ["B-LOC", "I-LOC", "I-LOC"] if kind == 0 else ["B-ORG", "I-ORG", "I-ORG"]
        X.append(words)
        y.append(tags)
    return X, y


@pytest.fixture(scope="module")
def chunks():
    return _chunks(300, 0), _chunks(100, 1)


def _fit(X, y, **params):
    return quiet_fit(SequenceTagger(**{**TINY, **params}), X, y)


def _valid(est, predictions):
    scheme = est.tag_scheme_
    allowed, start, end = schemes.allowed_transitions(est.classes_, scheme)
    index = {c: i for i, c in enumerate(est.classes_)}
    return all(
        schemes.first_violation(np.array([index[t] for t in p]), allowed, start, end) is None
        for p in predictions
    )


def test_chain_decoding_carries_the_type_back(chunks):
    (X, y), (Xt, yt) = chunks
    common = dict(bidirectional=False, max_epochs=15, learning_rate=1e-2, dropout=0.0)
    softmax = _fit(X, y, tag_scheme=None, **common)
    crf = _fit(X, y, crf=True, **common)
    constrained = _fit(X, y, tag_scheme="iob2", **common)
    f1 = {name: entity_f1(yt, est.predict(Xt))
          for name, est in [("softmax", softmax), ("crf", crf), ("constrained", constrained)]}
    # Step by step, "new" gets the more frequent type: about half the entities are wrong.
    assert f1["softmax"] < 0.75, f1
    assert f1["crf"] > 0.97, f1
    assert f1["constrained"] > 0.97, f1


def test_auto_scheme_resolution(chunks):
    (X, y), _ = chunks
    assert _fit(X, y, max_epochs=1).tag_scheme_ == "iob2"
    # IOB1: an entity may begin with I- (after O).
    y1 = [["I" + t[1:] if t.startswith("B-") else t for t in tags] for tags in y]
    est = _fit(X, y1, max_epochs=1)
    assert est.tag_scheme_ == "iob1"
    with pytest.raises(ValueError, match="invalid under iob2.*tag_scheme='iob1'"):
        SequenceTagger(**TINY, max_epochs=1, tag_scheme="iob2").fit(X, y1)
    # BIOES
    y2 = [[t.replace("B-", "B-") for t in tags] for tags in y]
    y2 = [[("E-" + t[2:]) if (t.startswith("I-") and (i + 1 == len(tags)
                                                      or not tags[i + 1].startswith("I-")))
           else t for i, t in enumerate(tags)] for tags in y2]
    assert _fit(X, y2, max_epochs=1).tag_scheme_ == "bioes"
    # Not a scheme (POS tags): nothing constrained.
    pos = [["DET" if w == "the" else "X" for w in s] for s in X]
    assert _fit(X, pos, max_epochs=1).tag_scheme_ is None
    # Broken under every candidate: warns and constrains nothing.
    broken = [list(t) for t in y]
    broken[0][-1] = "B-LOC"
    broken[0][-2] = "I-ORG"
    broken[0][-3] = "O"
    with pytest.warns(UserWarning, match="constrains nothing"):
        est = SequenceTagger(**TINY, max_epochs=1).fit(X, broken)
    assert est.tag_scheme_ is None


def test_partial_fit_refuses_an_invalid_sequence(chunks):
    (X, y), _ = chunks
    est = quiet_fit(SequenceTagger(**TINY, crf=True, max_epochs=1), X, y)
    bad = [list(y[0])]
    bad[0][0] = "I-PER" if "I-PER" in est.classes_ else "I-LOC"
    with pytest.raises(ValueError, match=r"y\[0\] starts with I-LOC, invalid under iob2"):
        est.partial_fit(X[:1], bad)


@pytest.mark.parametrize("crf", [False, True])
def test_predictions_are_always_valid(crf):
    # Random tags: the network learns nothing useful, decoding must still be valid.
    rng = np.random.RandomState(0)
    X = [[f"w{rng.randint(30)}" for _ in range(rng.randint(1, 9))] for _ in range(80)]
    y = []
    for s in X:
        tags, prev = [], "O"
        for _ in s:
            choices = ["O", "B-A", "B-B"] + ([f"I-{prev[2:]}"] if prev != "O" else [])
            prev = choices[rng.randint(len(choices))]
            tags.append(prev)
        y.append(tags)
    est = _fit(X, y, crf=crf, max_epochs=2)
    assert est.tag_scheme_ == "iob2"
    Xt = [[f"w{rng.randint(40)}" for _ in range(rng.randint(1, 12))] for _ in range(200)]
    assert _valid(est, est.predict(Xt))


def test_crf_marginals_and_labels(chunks):
    (X, y), (Xt, _) = chunks
    est = _fit(X, y, crf=True, max_epochs=3)
    proba = est.predict_proba(Xt[:30])
    for p, s in zip(proba, Xt[:30]):
        assert p.shape == (len(s), len(est.classes_))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
        assert np.all(p >= 0)
    # Invalid tags get no probability: a sentence never starts inside an entity.
    first = np.array([p[0] for p in proba])
    inside = [i for i, c in enumerate(est.classes_) if c.startswith("I-")]
    assert np.all(first[:, inside] < 1e-6)


def test_crf_does_not_trip_the_divergence_guard(chunks):
    # The CRF's loss is per token, on the cross-entropy's scale: a sane fit stays
    # far below the guard's 10 x log(n_classes).
    (X, y), _ = chunks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = SequenceTagger(**TINY, crf=True, max_epochs=2).fit(X, y)
    assert not [w for w in caught if "diverged" in str(w.message)]
    assert est.loss_curve_[0] < np.log(len(est.classes_))


def test_crf_early_stopping_validates_with_viterbi(chunks):
    (X, y), _ = chunks
    est = quiet_fit(SequenceTagger(**{**TINY, "early_stopping": True}, crf=True, max_epochs=3),
                    X, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert 0.0 < est.best_validation_score_ <= 1.0


def test_crf_save_load_pickle_bit_identical(chunks, tmp_path):
    (X, y), (Xt, _) = chunks
    est = _fit(X, y, crf=True, max_epochs=2)
    est.save(tmp_path / "m.skrnn")
    for other in (skrnn.load(tmp_path / "m.skrnn"), pickle.loads(pickle.dumps(est))):
        assert other.tag_scheme_ == est.tag_scheme_
        for a, b in zip(other.predict(Xt), est.predict(Xt)):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(other.predict_proba(Xt), est.predict_proba(Xt)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(
            other.module_.crf.transitions.detach().numpy(),
            est.module_.crf.transitions.detach().numpy())
    # Continued training from a loaded model equals continuing the original.
    a = pickle.loads(pickle.dumps(est)).partial_fit(X, y)
    b = skrnn.load(tmp_path / "m.skrnn").partial_fit(X, y)
    for p, q in zip(a.predict_proba(Xt), b.predict_proba(Xt)):
        np.testing.assert_array_equal(p, q)


def test_crf_learns_transitions(chunks):
    (X, y), _ = chunks
    est = _fit(X, y, crf=True, max_epochs=3)
    idx = {c: i for i, c in enumerate(est.classes_)}
    T = est.module_.crf.scores()[0].detach().numpy()
    # The impossible moves are excluded, the frequent valid one is favoured.
    assert T[idx["O"], idx["I-LOC"]] <= skrnn.crf.NOT_ALLOWED
    assert T[idx["B-LOC"], idx["I-LOC"]] > T[idx["B-LOC"], idx["O"]]


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_crf_every_cell(cell, chunks):
    (X, y), (Xt, _) = chunks
    est = _fit(X[:40], y[:40], cell=cell, crf=True, max_epochs=1, num_layers=2)
    assert _valid(est, est.predict(Xt[:20]))


def test_crf_character_input_with_bmes():
    # Word segmentation: B/M/E/S per character.
    words = ["ab", "cde", "f", "ghij", "kl"]
    rng = np.random.RandomState(0)
    X, y = [], []
    for _ in range(60):
        picked = [words[i] for i in rng.randint(0, len(words), size=rng.randint(1, 5))]
        X.append("".join(picked))
        y.append([t for w in picked
                  for t in (["S"] if len(w) == 1 else ["B"] + ["M"] * (len(w) - 2) + ["E"])])
    assert _fit(X, y, max_epochs=1).tag_scheme_ is None  # B/M/E/S is not detected
    est = _fit(X, y, crf=True, tag_scheme="bmes", max_epochs=20, learning_rate=1e-2)
    assert est.tag_scheme_ == "bmes"
    assert _valid(est, est.predict(["abfkl", "ghijcde", "x"]))
    assert est.score(X, y) > 0.9


def test_crf_numeric_input():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(rng.randint(2, 8), 3)).astype(np.float32) for _ in range(60)]
    y = [np.where(x[:, 0] > 0, "B-P", "O") for x in X]
    est = _fit(X, y, crf=True, max_epochs=10, learning_rate=1e-2)
    assert est.tag_scheme_ == "iob2"
    assert est.score(X, y) > 0.8


def test_grid_search_over_crf(chunks):
    (X, y), _ = chunks
    search = GridSearchCV(SequenceTagger(**TINY, max_epochs=2), {"crf": [False, True]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X[:80], y[:80])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    est = clone(SequenceTagger(crf=True, tag_scheme="bioes"))
    assert est.get_params()["crf"] is True and est.get_params()["tag_scheme"] == "bioes"


def test_bad_tag_scheme_is_a_clear_error(chunks):
    (X, y), _ = chunks
    with pytest.raises(ValueError, match="bmes"):
        SequenceTagger(**TINY, max_epochs=1, tag_scheme="bmes").fit(X, y)
    with pytest.raises(ValueError, match="tag_scheme"):
        SequenceTagger(**TINY, max_epochs=1, tag_scheme="bio").fit(X, y)
