"""Tests for skrnn.metrics: token, sequence and entity-level scores and scorers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, KFold

from skrnn.metrics import (
    entity_classification_report,
    entity_f1,
    entity_f1_scorer,
    entity_precision,
    entity_precision_recall_f1,
    entity_recall,
    flat_classification_report,
    flat_f1_score,
    get_entities,
    sequence_accuracy,
    sequence_accuracy_scorer,
    token_accuracy,
    token_accuracy_scorer,
)

# Three types with different supports: PER right twice, LOC once right and once spurious,
# ORG missed. Per type (sorted LOC, ORG, PER): P = 1/2, 0, 1; R = 1, 0, 1; support 1, 1, 2.
Y_TRUE = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], ["B-PER"]]
Y_PRED = [["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"], ["B-PER"]]


# --------------------------------------------------------------------------- token level


def test_token_accuracy_counts_tokens_across_sequences():
    """Token accuracy is correct tokens over all tokens, pooled over sequences."""
    y_true = [["a", "a", "a"], ["b"]]
    y_pred = [["a", "a", "b"], ["a"]]
    assert token_accuracy(y_true, y_pred) == pytest.approx(0.5)


def test_token_accuracy_broadcasts_sequence_weights_to_tokens():
    """A per-sequence weight is given to every token of that sequence."""
    y_true = [["a", "a", "a"], ["b"]]
    y_pred = [["a", "a", "b"], ["a"]]
    # token weights 1, 1, 1, 3; correct weight 2 of 6
    assert token_accuracy(y_true, y_pred, sample_weight=[1, 3]) == pytest.approx(1 / 3)


def test_token_accuracy_accepts_tagger_output_arrays():
    """Lists of 1-D string arrays, as a tagger's predict returns, score like lists."""
    y_true = [["B-PER", "O"], ["O", "O", "B-LOC"]]
    y_pred = [np.array(["B-PER", "B-PER"]), np.array(["O", "O", "B-LOC"])]
    assert token_accuracy(y_true, y_pred) == pytest.approx(4 / 5)
    assert isinstance(token_accuracy(y_true, y_pred), float)


def test_token_accuracy_accepts_object_array_of_sequences():
    """An object array of ragged sequences is read as a list of sequences."""
    y_true = np.empty(2, dtype=object)
    y_true[0], y_true[1] = ["a", "b"], ["a"]
    assert token_accuracy(y_true, (("a", "a"), ("a",))) == pytest.approx(2 / 3)


def test_sequence_accuracy_counts_exact_sequences():
    """Sequence accuracy counts a sequence only when all its labels are right."""
    y_true = [["B-PER", "O"], ["O"], ["B-LOC", "I-LOC"], []]
    y_pred = [["B-PER", "O"], ["B-LOC"], np.array(["B-LOC", "O"]), []]
    assert sequence_accuracy(y_true, y_pred) == pytest.approx(2 / 4)
    assert sequence_accuracy(y_true, y_pred, sample_weight=[3, 1, 1, 0]) == pytest.approx(3 / 5)


def test_flat_classification_report_matches_sklearn_on_flat_labels():
    """The flat report is sklearn's classification report of the flattened labels."""
    expected = classification_report(
        sum(Y_TRUE, []), sum(Y_PRED, []), output_dict=True, zero_division=0
    )
    report = flat_classification_report(Y_TRUE, Y_PRED, output_dict=True, zero_division=0)
    assert report == expected
    assert "B-ORG" in flat_classification_report(Y_TRUE, Y_PRED, zero_division=0)


def test_flat_f1_score_matches_token_accuracy_when_micro_averaged():
    """Micro-averaged flat F1 over all labels equals token accuracy."""
    assert flat_f1_score(Y_TRUE, Y_PRED, average="micro") == pytest.approx(
        token_accuracy(Y_TRUE, Y_PRED)
    )


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("metric", [token_accuracy, sequence_accuracy, entity_f1])
def test_length_mismatch_names_the_sequence_and_lengths(metric):
    """A pair of sequences of different lengths is refused with its index and lengths."""
    with pytest.raises(ValueError, match="Sequence 1 has 3 labels in y_true but 2 in y_pred"):
        metric([["O"], ["O", "O", "O"]], [["O"], ["O", "O"]])


@pytest.mark.parametrize("metric", [token_accuracy, sequence_accuracy, entity_f1])
def test_count_mismatch_is_refused(metric):
    """y_true and y_pred with different numbers of sequences are refused."""
    with pytest.raises(ValueError, match="y_true has 2 sequences but y_pred has 1"):
        metric([["O"], ["O"]], [["O"]])


@pytest.mark.parametrize("metric", [token_accuracy, sequence_accuracy, entity_f1])
def test_empty_input_is_refused(metric):
    """No sequence at all is an error, not a score."""
    with pytest.raises(ValueError, match="y_true is empty"):
        metric([], [])


def test_all_empty_sequences_have_no_token_accuracy():
    """Token accuracy refuses input that holds no token at all."""
    with pytest.raises(ValueError, match="no token to score"):
        token_accuracy([[], []], [[], []])


@pytest.mark.parametrize("bad", [None, 3, "B-PER O", ["B-PER", "O"]])
def test_non_nested_input_is_a_type_error(bad):
    """Anything but a list of sequences is a TypeError that says what to pass."""
    with pytest.raises(TypeError, match="must be a list of sequences"):
        token_accuracy(bad, [["O"]])


def test_two_dimensional_sequence_is_refused():
    """A sequence given as a 2-D array is refused with its shape."""
    with pytest.raises(ValueError, match=r"y_pred\[0\] must be a 1-D sequence.*\(1, 2\)"):
        token_accuracy([["O", "O"]], [np.array([["O", "O"]])])


def test_sample_weight_must_have_one_weight_per_sequence():
    """A per-token weight vector is refused: weights are per sequence."""
    with pytest.raises(ValueError, match=r"one weight per sequence, shape \(2,\)"):
        token_accuracy([["a", "a"], ["b"]], [["a", "a"], ["b"]], sample_weight=[1, 1, 1])


# --------------------------------------------------------------------------- get_entities


def test_i_tag_after_outside_starts_a_chunk_in_conlleval_mode_only():
    """conlleval reads an I- after O as a chunk start; strict mode drops it."""
    seq = ["O", "I-PER", "I-PER", "O"]
    assert get_entities(seq) == [("PER", 1, 3)]
    assert get_entities(seq, mode="strict") == []


def test_type_change_inside_a_chunk_starts_a_new_chunk():
    """An I- of another type ends the chunk; conlleval opens a new one, strict does not."""
    seq = ["B-PER", "I-LOC", "I-LOC"]
    assert get_entities(seq) == [("PER", 0, 1), ("LOC", 1, 3)]
    assert get_entities(seq, mode="strict") == [("PER", 0, 1)]


def test_adjacent_chunks_of_the_same_type_stay_separate():
    """B-PER I-PER B-PER is two PER chunks in both modes."""
    seq = ["B-PER", "I-PER", "B-PER"]
    assert get_entities(seq) == [("PER", 0, 2), ("PER", 2, 3)]
    assert get_entities(seq, mode="strict") == [("PER", 0, 2), ("PER", 2, 3)]


def test_iob1_is_read_as_conlleval_reads_it():
    """In IOB1, chunks start with I- and B- only separates touching same-type chunks."""
    seq = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert get_entities(seq, scheme="IOB1") == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]


def test_iob1_has_no_strict_mode():
    """Asking for strict IOB1 is refused with the way out."""
    with pytest.raises(ValueError, match="convert the labels to IOB2"):
        get_entities(["I-PER"], scheme="IOB1", mode="strict")


@pytest.mark.parametrize("mode", ["conlleval", "strict"])
def test_bioes_single_and_end_tags_close_chunks(mode):
    """S- is a one-token chunk and E- closes a chunk, so touching chunks stay apart."""
    seq = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER", "S-PER", "O", "B-ORG", "E-ORG"]
    assert get_entities(seq, scheme="BIOES", mode=mode) == [
        ("PER", 0, 1),
        ("LOC", 1, 4),
        ("PER", 4, 5),
        ("PER", 5, 6),
        ("ORG", 7, 9),
    ]


@pytest.mark.parametrize(
    ("seq", "lenient", "strict"),
    [
        (["B-PER", "I-PER", "O"], [("PER", 0, 2)], []),
        (["I-PER", "E-PER"], [("PER", 0, 2)], []),
        (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)], []),
        (["B-PER", "B-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 3)], [("PER", 1, 3)]),
        (["B-PER", "E-LOC"], [("PER", 0, 1), ("LOC", 1, 2)], []),
    ],
)
def test_ill_formed_bioes_is_lenient_in_conlleval_mode_and_dropped_in_strict(seq, lenient, strict):
    """Unterminated or unopened BIOES chunks count only in conlleval mode."""
    assert get_entities(seq, scheme="BIOES") == lenient
    assert get_entities(seq, scheme="BIOES", mode="strict") == strict


def test_entity_types_may_contain_hyphens():
    """Only the first hyphen separates the prefix from the type."""
    assert get_entities(np.array(["B-MISC-X", "I-MISC-X"])) == [("MISC-X", 0, 2)]


@pytest.mark.parametrize("label", ["PER", "B", "B-", "-PER", "o", ""])
def test_label_without_prefix_is_refused_by_name(label):
    """A label other than O without prefix-hyphen-type is a ValueError naming it."""
    with pytest.raises(ValueError, match=f"Label {label!r} has no prefix"):
        get_entities(["O", label])


def test_prefix_outside_the_scheme_is_refused():
    """An S- label under IOB2 is refused, pointing at the scheme parameter."""
    with pytest.raises(ValueError, match="Label 'S-PER' has prefix 'S'.*scheme='BIOES'"):
        entity_f1([["S-PER"]], [["O"]])


def test_non_string_label_is_refused():
    """Integer labels cannot be cut into entities."""
    with pytest.raises(ValueError, match="Label 0 is not a string"):
        get_entities([0, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "BIO"}, "scheme must be one of"),
        ({"mode": "lenient"}, "mode must be one of"),
        ({"average": "samples"}, "average must be one of"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    """Unknown scheme, mode or average values raise a ValueError listing the choices."""
    with pytest.raises(ValueError, match=message):
        entity_precision_recall_f1([["O"]], [["O"]], **kwargs)


# --------------------------------------------------------------------------- entity scores


def test_classic_conlleval_example():
    """One chunk of two found exactly (the other misplaced by one token) gives P = R = F = 0.5."""
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    assert entity_precision_recall_f1(y_true, y_pred) == pytest.approx((0.5, 0.5, 0.5, None))


def test_conlleval_and_strict_differ_on_a_chunk_opened_by_i():
    """A predicted I-NP I-NP matches B-NP I-NP under conlleval but not in strict mode."""
    y_true = [["B-NP", "I-NP", "O"]]
    y_pred = [["I-NP", "I-NP", "O"]]
    assert entity_f1(y_true, y_pred) == 1.0
    assert entity_f1(y_true, y_pred, mode="strict") == 0.0


def test_chunk_must_match_type_start_and_end():
    """A chunk one token too short, or of the wrong type, is not correct."""
    y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    y_pred = [["B-PER", "O", "O", "B-ORG"]]
    assert entity_precision_recall_f1(y_true, y_pred) == (0.0, 0.0, 0.0, None)


def test_micro_macro_and_weighted_averages_by_hand():
    """Averages follow sklearn's definitions, computed by hand on three types."""
    micro = entity_precision_recall_f1(Y_TRUE, Y_PRED, average="micro")
    macro = entity_precision_recall_f1(Y_TRUE, Y_PRED, average="macro")
    weighted = entity_precision_recall_f1(Y_TRUE, Y_PRED, average="weighted")
    assert_allclose(micro[:3], [3 / 4, 3 / 4, 3 / 4])
    assert_allclose(macro[:3], [(0.5 + 0 + 1) / 3, (1 + 0 + 1) / 3, (2 / 3 + 0 + 1) / 3])
    assert_allclose(weighted[:3], [(0.5 + 0 + 2) / 4, (1 + 0 + 2) / 4, (2 / 3 + 0 + 2) / 4])
    assert entity_precision(Y_TRUE, Y_PRED) == pytest.approx(3 / 4)
    assert entity_recall(Y_TRUE, Y_PRED, average="macro") == pytest.approx(2 / 3)


def test_average_none_gives_per_type_arrays_in_sorted_order():
    """Per-type scores come in sorted type order with true-chunk supports."""
    precision, recall, f1, support = entity_precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    assert_allclose(precision, [0.5, 0.0, 1.0])
    assert_allclose(recall, [1.0, 0.0, 1.0])
    assert_allclose(f1, [2 / 3, 0.0, 1.0])
    assert support.tolist() == [1, 1, 2]


def test_zero_division_gives_zero():
    """No predicted chunk and no true chunk give 0.0 scores rather than NaN or errors."""
    assert entity_precision_recall_f1([["O", "O"]], [["O", "O"]]) == (0.0, 0.0, 0.0, None)
    assert entity_precision_recall_f1([["B-PER"]], [["O"]], average="macro") == (
        0.0,
        0.0,
        0.0,
        None,
    )
    assert entity_f1([["O"]], [["O"]], average="weighted") == 0.0


def test_entity_report_dict_holds_per_type_and_average_rows():
    """The dict report lists each type and the three averages in sklearn's layout."""
    report = entity_classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert list(report) == ["LOC", "ORG", "PER", "micro avg", "macro avg", "weighted avg"]
    assert report["LOC"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1-score": 2 / 3, "support": 1}
    )
    assert report["micro avg"]["support"] == 4
    assert report["weighted avg"]["precision"] == pytest.approx(0.625)


def test_entity_report_text_has_one_line_per_row():
    """The text report shows headers, each type and the averages with the asked digits."""
    text = entity_classification_report(Y_TRUE, Y_PRED, digits=3)
    lines = [line.split() for line in text.splitlines() if line.strip()]
    assert lines[0] == ["precision", "recall", "f1-score", "support"]
    assert lines[1] == ["LOC", "0.500", "1.000", "0.667", "1"]
    assert lines[4] == ["micro", "avg", "0.750", "0.750", "0.750", "4"]
    assert len(lines) == 7


# --------------------------------------------------------------------------- properties


def _conlleval_counts(y_true, y_pred):
    """Correct / true / guessed chunk counts by conlleval's token-by-token state machine.

    An independent oracle: the perl script's loop, which tracks whether the chunk now
    open in both columns started together and so far agrees, rather than comparing spans.
    """

    def split(label):
        return ("O", "") if label == "O" else tuple(label.split("-", 1))

    def end(prev_tag, tag, prev_type, type_):
        if (prev_tag, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O")}:
            return True
        return prev_tag != "O" and prev_type != type_

    def start(prev_tag, tag, prev_type, type_):
        if (prev_tag, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I")}:
            return True
        return tag != "O" and prev_type != type_

    correct = found_true = found_pred = 0
    in_correct = False
    last_t, last_p = ("O", ""), ("O", "")
    tokens = []
    for true_seq, pred_seq in zip(y_true, y_pred, strict=True):
        tokens += list(zip(true_seq, pred_seq, strict=True)) + [("O", "O")]  # boundary = O
    for true_label, pred_label in tokens:
        t, p = split(true_label), split(pred_label)
        end_t = end(last_t[0], t[0], last_t[1], t[1])
        end_p = end(last_p[0], p[0], last_p[1], p[1])
        if in_correct:
            if end_t and end_p and last_t[1] == last_p[1]:
                in_correct = False
                correct += 1
            elif end_t != end_p or t[1] != p[1]:
                in_correct = False
        start_t = start(last_t[0], t[0], last_t[1], t[1])
        start_p = start(last_p[0], p[0], last_p[1], p[1])
        if start_t and start_p and t[1] == p[1]:
            in_correct = True
        found_true += start_t
        found_pred += start_p
        last_t, last_p = t, p
    return correct + in_correct, found_true, found_pred


_IOB_LABELS = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])


@st.composite
def _label_pairs(draw):
    """Random (possibly ill-formed) IOB label sequences, paired with equal lengths."""
    lengths = draw(st.lists(st.integers(0, 8), min_size=1, max_size=4))
    y_true = [draw(st.lists(_IOB_LABELS, min_size=n, max_size=n)) for n in lengths]
    y_pred = [draw(st.lists(_IOB_LABELS, min_size=n, max_size=n)) for n in lengths]
    return y_true, y_pred


@settings(max_examples=200, deadline=None)
@given(_label_pairs())
def test_conlleval_mode_matches_the_conlleval_counting_loop(pair):
    """Span matching in conlleval mode counts what conlleval's own loop counts."""
    y_true, y_pred = pair
    correct, found_true, found_pred = _conlleval_counts(y_true, y_pred)
    true_spans = [set(get_entities(seq)) for seq in y_true]
    pred_spans = [set(get_entities(seq)) for seq in y_pred]
    assert sum(map(len, true_spans)) == found_true
    assert sum(map(len, pred_spans)) == found_pred
    assert sum(len(t & p) for t, p in zip(true_spans, pred_spans, strict=True)) == correct


@st.composite
def _entity_layouts(draw):
    """Sequences as lists of (type or None, length) segments, with at least one entity."""
    segment = st.tuples(st.sampled_from([None, "PER", "LOC", "MISC-X"]), st.integers(1, 3))
    layouts = draw(st.lists(st.lists(segment, max_size=5), min_size=1, max_size=4))
    if not any(t is not None for layout in layouts for t, _ in layout):
        layouts[0].append(("PER", draw(st.integers(1, 3))))
    return layouts


def _encode(layout, scheme):
    """Well-formed labels and (type, start, end) spans for one layout."""
    labels, spans = [], []
    for entity_type, length in layout:
        if entity_type is None:
            labels += ["O"] * length
            continue
        spans.append((entity_type, len(labels), len(labels) + length))
        if scheme == "BIOES" and length == 1:
            labels.append(f"S-{entity_type}")
        elif scheme == "BIOES":
            labels += [f"B-{entity_type}"] + [f"I-{entity_type}"] * (length - 2)
            labels.append(f"E-{entity_type}")
        else:
            labels += [f"B-{entity_type}"] + [f"I-{entity_type}"] * (length - 1)
    return labels, spans


@settings(max_examples=100, deadline=None)
@given(
    _entity_layouts(), st.sampled_from(["IOB2", "BIOES"]), st.sampled_from(["conlleval", "strict"])
)
def test_well_formed_labels_decode_to_their_spans_and_score_one(layouts, scheme, mode):
    """Well-formed labels give back their spans, and entity_f1(y, y) is 1.0."""
    encoded = [_encode(layout, scheme) for layout in layouts]
    y = [labels for labels, _ in encoded]
    for labels, spans in encoded:
        assert get_entities(labels, scheme=scheme, mode=mode) == spans
    assert entity_f1(y, y, scheme=scheme, mode=mode) == 1.0
    y_arrays = [np.array(labels, dtype=object) for labels in y]
    assert entity_f1(y, y_arrays, scheme=scheme, mode=mode, average="macro") == 1.0


# --------------------------------------------------------------------------- scorers


class _ConstantTagger(BaseEstimator):
    """Predicts one label for every token; predict returns a list of 1-D arrays."""

    def __init__(self, label="O"):
        self.label = label

    def fit(self, X, y):
        self.is_fitted_ = True
        return self

    def predict(self, X):
        return [np.full(len(tokens), self.label, dtype=object) for tokens in X]


class _LookupTagger(BaseEstimator):
    """Returns fixed label arrays from predict (scorers need sklearn's estimator tags)."""

    def __init__(self, predictions):
        self.predictions = predictions

    def predict(self, X):
        return [np.asarray(seq) for seq in self.predictions]


def test_scorers_equal_their_metrics():
    """Each ready-made scorer returns its metric on the estimator's predictions."""
    X = [["w"] * len(seq) for seq in Y_TRUE]
    tagger = _LookupTagger(Y_PRED)
    assert token_accuracy_scorer(tagger, X, Y_TRUE) == pytest.approx(token_accuracy(Y_TRUE, Y_PRED))
    assert sequence_accuracy_scorer(tagger, X, Y_TRUE) == pytest.approx(0.5)
    assert entity_f1_scorer(tagger, X, Y_TRUE) == pytest.approx(0.75)


def test_scorer_drives_grid_search_on_plain_lists():
    """GridSearchCV picks the constant label that the entity-F1 scorer prefers."""
    X = [["John", "ran"], ["Paris"], ["Anna", "saw", "Bob"]] * 2
    y = [["B-PER", "O"], ["B-LOC"], ["B-PER", "O", "B-PER"]] * 2
    search = GridSearchCV(
        _ConstantTagger(),
        {"label": ["O", "B-PER", "B-LOC"]},
        scoring={"entity_f1": entity_f1_scorer, "token_accuracy": token_accuracy_scorer},
        refit="entity_f1",
        cv=KFold(2),
    )
    search.fit(X, y)
    assert search.best_params_ == {"label": "B-PER"}
    assert search.cv_results_["mean_test_token_accuracy"][0] == pytest.approx(1 / 3)
