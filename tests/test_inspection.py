"""The displays of skrnn.inspection: training curves, attention, tag confusion, entities."""

import numpy as np
import pytest
from _helpers import quiet_fit
from sklearn.exceptions import NotFittedError

from skrnn import Seq2Seq, SequenceClassifier, SequenceTagger
from skrnn.inspection import (
    AttentionDisplay,
    EntityReportDisplay,
    TagConfusionDisplay,
    TrainingCurveDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

TINY = dict(hidden_size=4, max_epochs=3, random_state=0, device="cpu")
X = [["Ada", "met", "Alan", "in", "Paris", "."], ["Alan", "saw", "Rome", "."]] * 10
Y = [["B-PER", "O", "B-PER", "O", "B-LOC", "O"], ["B-PER", "O", "B-LOC", "O"]] * 10


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def validated_tagger():
    return quiet_fit(SequenceTagger(**TINY, embedding_dim=4, char_embedding_dim=4,
                                    char_filters=4, early_stopping=True, clip_norm=1.0),
                     X, Y)


@pytest.fixture(scope="module")
def plain_tagger():
    return quiet_fit(SequenceTagger(**TINY, embedding_dim=4, char_embedding_dim=4,
                                    char_filters=4, early_stopping=False), X, Y)


@pytest.fixture(scope="module")
def seq2seq():
    words = ["abc", "bca", "cab", "abca", "bcab"] * 6
    return quiet_fit(Seq2Seq(hidden_size=4, embedding_dim=4, max_epochs=2, random_state=0,
                             device="cpu", early_stopping=False),
                     words, [w[::-1] for w in words])


def test_training_curves_return_the_display_with_figure_and_axes(validated_tagger):
    """from_estimator returns the display with figure_, ax_ and the curves of history_."""
    display = TrainingCurveDisplay.from_estimator(validated_tagger)
    assert isinstance(display, TrainingCurveDisplay)
    assert display.figure_ is display.ax_.figure
    history = validated_tagger.history_
    np.testing.assert_allclose(display.lines_["train_loss"].get_ydata(),
                               [h["train_loss"] for h in history])
    np.testing.assert_allclose(display.lines_["valid_score"].get_ydata(),
                               [h["valid_score"] for h in history])
    assert display.ax_score_ is not None and display.ax_grad_ is not None
    assert {"grad_norm_mean", "grad_norm_max", "valid_loss"} <= set(display.lines_)


def test_training_curves_mark_the_best_epoch(validated_tagger):
    """The vertical marker sits at the last epoch that history_ flags as best."""
    display = TrainingCurveDisplay.from_estimator(validated_tagger)
    best = [h["epoch"] for h in validated_tagger.history_ if h["best"]][-1]
    assert display.best_epoch == best
    assert display.best_line_.get_xdata()[0] == best
    assert f"best epoch ({best})" in [t.get_text() for t in display.ax_.get_legend().texts]


def test_training_curves_respect_ax(validated_tagger):
    """One axes given: drawn there, no gradient panel; two axes: the second gets the norms."""
    fig, ax = plt.subplots()
    display = TrainingCurveDisplay.from_estimator(validated_tagger, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig and display.ax_grad_ is None
    fig, (top, bottom) = plt.subplots(2)
    display = TrainingCurveDisplay.from_estimator(validated_tagger, ax=(top, bottom))
    assert display.ax_ is top and display.ax_grad_ is bottom
    with pytest.raises(ValueError, match="second panel"):
        TrainingCurveDisplay.from_estimator(validated_tagger, ax=ax, gradients=True)


def test_training_curves_without_validation(plain_tagger):
    """No validation recorded: the training loss only, and validation=True says why not."""
    display = TrainingCurveDisplay.from_estimator(plain_tagger)
    assert display.valid_score is None and display.ax_score_ is None
    assert display.best_epoch == plain_tagger.history_[-1]["epoch"]
    with pytest.raises(ValueError, match="early_stopping=True"):
        TrainingCurveDisplay.from_estimator(plain_tagger, validation=True)


def test_displays_refuse_unfitted_estimators():
    """An unfitted estimator raises sklearn's NotFittedError in every from_estimator."""
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(SequenceClassifier())
    with pytest.raises(NotFittedError):
        AttentionDisplay.from_estimator(Seq2Seq(), "abc")
    with pytest.raises(NotFittedError):
        TagConfusionDisplay.from_estimator(SequenceTagger(), X, Y)
    with pytest.raises(NotFittedError):
        EntityReportDisplay.from_estimator(SequenceTagger(), X, Y)


def test_attention_display_is_input_by_output(seq2seq):
    """The heat-map holds attention_weights: one row per output token, one column per input."""
    display = AttentionDisplay.from_estimator(seq2seq, "abca")
    predicted = seq2seq.predict(["abca"])[0]
    expected = seq2seq.attention_weights(["abca"])[0]
    np.testing.assert_allclose(display.im_.get_array(), expected)
    assert display.im_.get_array().shape == (len(predicted), 4)
    assert display.input_labels == list("abca")
    assert display.output_labels == list(predicted)
    assert display.figure_ is display.ax_.figure


def test_attention_display_for_given_output_and_ax(seq2seq):
    """With y the rows follow y (teacher forcing); ax= is drawn into."""
    fig, ax = plt.subplots()
    display = AttentionDisplay.from_estimator(seq2seq, "abc", "cbaa", ax=ax, colorbar=False)
    assert display.ax_ is ax and display.colorbar_ is None
    assert display.im_.get_array().shape == (4, 3)


def test_attention_display_needs_attention(plain_tagger):
    """A model without attention says how to get it; another estimator type is refused."""
    words = ["ab", "ba"] * 5
    plain = quiet_fit(Seq2Seq(hidden_size=4, embedding_dim=4, max_epochs=1, attention=None,
                              random_state=0, device="cpu", early_stopping=False), words, words)
    with pytest.raises(ValueError, match="attention='luong'"):
        AttentionDisplay.from_estimator(plain, "ab")
    with pytest.raises(TypeError, match="needs a Seq2Seq"):
        AttentionDisplay.from_estimator(plain_tagger, ["Ada"])


def test_tag_confusion_flattens_tokens(plain_tagger):
    """The matrix counts every token once, rows true tags, columns predicted tags."""
    display = TagConfusionDisplay.from_estimator(plain_tagger, X, Y)
    assert isinstance(display, TagConfusionDisplay)
    assert display.confusion_matrix.sum() == sum(map(len, Y))
    assert list(display.display_labels) == sorted({t for s in Y for t in s}
                                                  | {t for s in plain_tagger.predict(X)
                                                     for t in s})
    fig, ax = plt.subplots()
    display = TagConfusionDisplay.from_predictions(Y, Y, ax=ax, normalize="true")
    assert display.ax_ is ax and display.figure_ is fig
    np.testing.assert_allclose(np.diag(display.confusion_matrix), 1.0)
    with pytest.raises(ValueError, match="Sequence 0 has 6 true and 5"):
        TagConfusionDisplay.from_predictions(Y, [s[:-1] for s in Y])


def test_entity_report_bars(plain_tagger):
    """One group of bars per entity type plus the micro average, heights from the report."""
    display = EntityReportDisplay.from_predictions(Y, Y)
    assert set(display.bars_) == {"precision", "recall", "f1-score"}
    assert len(display.bars_["f1-score"]) == 3  # LOC, PER, micro avg
    assert [b.get_height() for b in display.bars_["f1-score"]] == [1.0, 1.0, 1.0]
    fig, ax = plt.subplots()
    display = EntityReportDisplay.from_estimator(plain_tagger, X, Y, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig


def test_missing_matplotlib_gives_a_clear_error(monkeypatch, validated_tagger):
    """Without matplotlib, plot raises an ImportError that says what to install."""
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install matplotlib"):
        TrainingCurveDisplay.from_estimator(validated_tagger)


def test_display_from_numbers_marks_diverged_epochs():
    """A display built from plain numbers plots; a diverged epoch gets its own marker."""
    display = TrainingCurveDisplay(epochs=[1, 2, 3], train_loss=[1.0, 0.5, np.nan],
                                   best_epoch=2, diverged_epochs=[3]).plot()
    labels = [t.get_text() for t in display.ax_.get_legend().texts]
    assert "diverged (non-finite loss)" in labels and "best epoch (2)" in labels
    assert display.ax_grad_ is None and display.ax_score_ is None
    with pytest.raises(ValueError, match="(?i)no gradient norms"):
        display.plot(gradients=True)
