"""The mistakes a newcomer makes in the first minutes, and what skrnn tells them.

A sentence passed as one string or without its outer list, labels as a numpy array,
sklearn's ``scoring="accuracy"`` on per-step labels, ``save`` to a ``.pkl`` name, and
``SequenceTagger.load``. Every model is tiny: the tests are about the messages.
"""

import pickle
import re
import warnings

import numpy as np
import pytest
from _helpers import quiet_fit
from sklearn.model_selection import GridSearchCV

import skrnn
from skrnn import LanguageModel, SequenceClassifier, SequenceTagger
from skrnn.metrics import token_accuracy_scorer

TINY = dict(hidden_size=4, embedding_dim=4, max_epochs=1, random_state=0, device="cpu")
X = [["The", "dog", "barked", "."], ["A", "cat", "sat", "."]] * 6
Y = [["DET", "NOUN", "VERB", "."]] * 12


@pytest.fixture(scope="module")
def tagger():
    return quiet_fit(SequenceTagger(**TINY, char_embedding_dim=4, char_filters=4), X, Y)


@pytest.fixture(scope="module")
def char_lm():
    return quiet_fit(LanguageModel(**TINY, num_layers=1, early_stopping=False),
                     ["abcab", "bca"] * 4)


def test_sentence_as_one_string_says_to_pass_token_lists(tagger):
    """``predict("The dog barked .")`` shows the token-list form of that very sentence."""
    with pytest.raises(TypeError, match=re.escape("[['The', 'dog', 'barked', '.']]")) as info:
        tagger.predict("The dog barked .")
    assert "split()" in str(info.value)


def test_sentence_without_outer_list_asks_did_you_mean(tagger):
    """``predict(["The", "dog", ...])`` asks "did you mean [[...]]?"."""
    with pytest.raises(ValueError, match=re.escape("Did you mean X=[['The', 'dog', 'barked',")):
        tagger.predict(["The", "dog", "barked", "."])


def test_untokenised_sentences_say_how_to_split(tagger):
    """A list of untokenised sentences gets the split() that turns them into tokens."""
    with pytest.raises(ValueError, match=re.escape("[s.split() for s in X]")):
        tagger.predict(["The dog barked .", "A cat sat ."])


def test_token_lists_for_a_character_model_say_how_to_join(char_lm):
    """Token lists given to a character-level model get the join that makes strings."""
    with pytest.raises(ValueError, match=re.escape("''.join(seq)")):
        char_lm.score([["a", "b"]])


def test_one_string_for_a_character_model_says_to_wrap_it(char_lm):
    """One str given to a character-level model: wrap it in a list, nothing about tokens."""
    with pytest.raises(TypeError, match=re.escape("wrap it in a list: X=['abc']")) as info:
        char_lm.score("abc")
    assert "split" not in str(info.value)


def test_long_tokens_are_cut_in_messages(tagger):
    """A huge string in the wrong place gives a short message, not a copy of the string."""
    with pytest.raises(ValueError) as info:
        tagger.predict(["x" * 100_000, "dog"])
    assert len(str(info.value)) < 500


def test_one_string_at_fit_time_offers_both_readings():
    """At fit time (kind unknown) one str gets both the token and the character reading."""
    with pytest.raises(TypeError, match="wrap it in a list") as info:
        SequenceTagger(**TINY).fit("The dog barked .", Y[:1])
    assert "[['The', 'dog', 'barked', '.']]" in str(info.value)
    assert "['The dog barked .']" in str(info.value)


@pytest.mark.parametrize("y, match", [
    (np.array(Y), r"got an array of str of shape \(12, 4\)\. .*y\.tolist\(\)"),
    (np.array(Y[0]), r"got an array of str of shape \(4,\)\. Did you pass a flat list"),
    (np.zeros((12, 4), dtype=int), r"got a numeric array of shape \(12, 4\)"),
])
def test_label_arrays_are_described_by_their_dtype(y, match):
    """A str label array is not called "a numeric array", and the message says what to pass."""
    with pytest.raises(ValueError, match=match):
        SequenceTagger(**TINY).fit(X, y)


def test_skrnn_scorer_works_where_accuracy_gives_nan():
    """scoring="accuracy" cannot score per-step labels (nan); token_accuracy_scorer can."""
    est = SequenceTagger(**TINY, char_embedding_dim=4, char_filters=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrong = GridSearchCV(est, {"cell": ["rnn"]}, scoring="accuracy", cv=2).fit(X, Y)
        right = GridSearchCV(est, {"cell": ["rnn"]}, scoring=token_accuracy_scorer,
                             cv=2).fit(X, Y)
    assert np.isnan(wrong.cv_results_["mean_test_score"]).all()
    assert np.isfinite(right.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("name", ["m.pkl", "m.PICKLE", "m.joblib"])
def test_save_to_a_pickle_name_warns_and_still_loads(tagger, tmp_path, name):
    """``save("m.pkl")`` warns that the file is safetensors; skrnn.load reads it."""
    path = tmp_path / name
    with pytest.warns(UserWarning, match="not a pickle") as record:
        tagger.save(path)
    assert record[0].filename == __file__  # points at the user's save call
    assert isinstance(skrnn.load(path), SequenceTagger)


def test_save_to_a_skrnn_name_does_not_warn(tagger, tmp_path):
    """The documented extension saves silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tagger.save(tmp_path / "m.skrnn")


def test_loading_a_pickle_says_it_is_one(tagger, tmp_path):
    """skrnn.load on a pickle says it is a pickle and how to open one (it never unpickles)."""
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(tagger))
    with pytest.raises(ValueError, match="it is a pickle .*joblib.load"):
        skrnn.load(path)


def test_class_load_returns_the_estimator(tagger, tmp_path):
    """``SequenceTagger.load(path)`` loads a tagger that predicts as the saved one."""
    path = tagger.save(tmp_path / "m.skrnn")
    loaded = SequenceTagger.load(path)
    assert type(loaded) is SequenceTagger and loaded is not tagger
    assert all((a == b).all() for a, b in zip(loaded.predict(X), tagger.predict(X)))


def test_class_load_refuses_another_class(tagger, tmp_path):
    """``SequenceClassifier.load`` of a tagger's file names both classes."""
    path = tagger.save(tmp_path / "m.skrnn")
    with pytest.raises(TypeError, match="holds a SequenceTagger, not a SequenceClassifier"):
        SequenceClassifier.load(path)
