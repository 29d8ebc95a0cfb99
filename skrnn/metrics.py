"""Metrics for sequence labelling: token, sequence and entity level.

Every function takes ``y_true`` and ``y_pred`` as *lists of sequences of labels*, the
shape that :class:`~skrnn.SequenceTagger` consumes and predicts::

    y_true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    y_pred = tagger.predict(X)          # [array(['B-PER', 'O', 'O']), array(['O', 'B-LOC'])]

Each sequence may be a list, a tuple or a 1-D numpy array; ``y_true`` and ``y_pred``
must hold the same number of sequences and each pair must have the same length.

Token-level metrics flatten the sequences and call scikit-learn's metrics. Entity-level
metrics cut each sequence into chunks ``(type, start, end)`` (``end`` exclusive) and
count a predicted chunk as correct only when its type, start and end all match a true
chunk. Chunks can be read the way the CoNLL ``conlleval`` perl script reads them
(``mode="conlleval"``) or only when well formed (``mode="strict"``); see
:func:`get_entities`.

The ``*_scorer`` objects plug into :class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_val_score` (``scoring=entity_f1_scorer``).

This module depends on numpy and scikit-learn only.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, f1_score, make_scorer

__all__ = [
    "entity_classification_report",
    "entity_f1",
    "entity_f1_scorer",
    "entity_precision",
    "entity_precision_recall_f1",
    "entity_recall",
    "flat_classification_report",
    "flat_f1_score",
    "get_entities",
    "sequence_accuracy",
    "sequence_accuracy_scorer",
    "token_accuracy",
    "token_accuracy_scorer",
]

# Prefixes each tagging scheme may use besides the outside label "O".
_SCHEME_PREFIXES = {
    "IOB1": ("B", "I"),
    "IOB2": ("B", "I"),
    "BIOES": ("B", "I", "E", "S"),
}
_MODES = ("conlleval", "strict")
_AVERAGES = ("micro", "macro", "weighted", None)
_OUTSIDE = "O"


# --------------------------------------------------------------------------- input checks


def _as_sequences(y, name):
    """Return ``y`` as a list of lists of labels, or raise a TypeError/ValueError."""
    if isinstance(y, (str, bytes)) or not isinstance(y, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a list of sequences of labels, e.g. [['B-PER', 'O'], ['O']]; "
            f"got {type(y).__name__}."
        )
    if isinstance(y, np.ndarray) and y.ndim == 0:
        raise TypeError(f"{name} must be a list of sequences of labels; got a 0-d array.")
    sequences = []
    for i, seq in enumerate(y):
        if isinstance(seq, np.ndarray):
            if seq.ndim != 1:
                raise ValueError(
                    f"{name}[{i}] must be a 1-D sequence of labels; got an array of shape "
                    f"{seq.shape}."
                )
            sequences.append(seq.tolist())
        elif isinstance(seq, Sequence) and not isinstance(seq, (str, bytes)):
            sequences.append(list(seq))
        else:
            raise TypeError(
                f"{name}[{i}] is of type {type(seq).__name__}, not a sequence of labels. {name} "
                "must be a list of sequences, e.g. [['B-PER', 'O'], ['O']]; to score a "
                "single sequence, wrap it in a list: [seq]."
            )
    return sequences


def _check_sequences(y_true, y_pred):
    """Validate a pair of label-sequence lists and return them as lists of lists."""
    y_true = _as_sequences(y_true, "y_true")
    y_pred = _as_sequences(y_pred, "y_pred")
    if len(y_true) == 0:
        raise ValueError("y_true is empty; pass at least one sequence of labels.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} sequences but y_pred has {len(y_pred)}; pass one "
            "predicted sequence for each true sequence."
        )
    for i, (true_seq, pred_seq) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(true_seq) != len(pred_seq):
            raise ValueError(
                f"Sequence {i} has {len(true_seq)} labels in y_true but {len(pred_seq)} in "
                "y_pred; each predicted sequence must have the length of its true sequence."
            )
    return y_true, y_pred


def _check_sequence_weight(sample_weight, n_sequences):
    """Return ``sample_weight`` as a float array of shape (n_sequences,)."""
    weight = np.asarray(sample_weight, dtype=float)
    if weight.shape != (n_sequences,):
        raise ValueError(
            f"sample_weight must hold one weight per sequence, shape ({n_sequences},); got "
            f"shape {weight.shape}."
        )
    return weight


def _flatten(sequences):
    return [label for seq in sequences for label in seq]


def _token_weights(sample_weight, sequences):
    """Broadcast one weight per sequence to one weight per token (or pass None through)."""
    if sample_weight is None:
        return None
    weight = _check_sequence_weight(sample_weight, len(sequences))
    return np.repeat(weight, [len(seq) for seq in sequences])


def _check_has_tokens(y_true):
    if not any(len(seq) for seq in y_true):
        raise ValueError("Every sequence in y_true is empty; there is no token to score.")


# --------------------------------------------------------------------------- token level


def token_accuracy(y_true, y_pred, *, sample_weight=None):
    """Fraction of tokens whose predicted label is correct.

    Flattens the sequences and calls :func:`sklearn.metrics.accuracy_score`.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "O"], ["O"]]``; each sequence a list, tuple or
        1-D array.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length (what
        a tagger's ``predict`` returns).

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per *sequence*, given to each of its tokens.

    Returns
    -------
    accuracy : float
        Weighted fraction of correctly labelled tokens.

    Examples
    --------
    >>> token_accuracy([["B-PER", "I-PER", "O", "O"]], [["B-PER", "O", "O", "O"]])
    0.75
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    _check_has_tokens(y_true)
    weight = _token_weights(sample_weight, y_true)
    return float(accuracy_score(_flatten(y_true), _flatten(y_pred), sample_weight=weight))


def sequence_accuracy(y_true, y_pred, *, sample_weight=None):
    """Fraction of sequences whose labels are all predicted correctly.

    An empty sequence counts as correctly predicted.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "O"], ["O"]]``.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length.

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per sequence.

    Returns
    -------
    accuracy : float
        Weighted fraction of sequences predicted without a single error.

    Examples
    --------
    >>> sequence_accuracy([["B-PER", "O"], ["O"]], [["B-PER", "O"], ["B-LOC"]])
    0.5
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    exact = np.array(
        [true_seq == pred_seq for true_seq, pred_seq in zip(y_true, y_pred, strict=True)]
    )
    weight = None
    if sample_weight is not None:
        weight = _check_sequence_weight(sample_weight, len(y_true))
    return float(np.average(exact, weights=weight))


def flat_f1_score(y_true, y_pred, *, sample_weight=None, **kwargs):
    """Token-level F1 score: :func:`sklearn.metrics.f1_score` on the flattened labels.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "O"], ["O"]]``.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length.

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per *sequence*, given to each of its tokens.

    **kwargs
        Passed to :func:`sklearn.metrics.f1_score` (``average``, ``labels``, ...). Note
        that sklearn's default ``average="binary"`` fails on more than two labels: pass
        ``average="micro"``, ``"macro"`` or ``"weighted"``.

    Returns
    -------
    f1 : float or ndarray of float
        As returned by :func:`sklearn.metrics.f1_score`.
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    _check_has_tokens(y_true)
    weight = _token_weights(sample_weight, y_true)
    return f1_score(_flatten(y_true), _flatten(y_pred), sample_weight=weight, **kwargs)


def flat_classification_report(y_true, y_pred, *, sample_weight=None, **kwargs):
    """Token-level report: :func:`sklearn.metrics.classification_report` on flat labels.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "O"], ["O"]]``.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length.

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per *sequence*, given to each of its tokens.

    **kwargs
        Passed to :func:`sklearn.metrics.classification_report` (``labels``,
        ``digits``, ``output_dict``, ``zero_division``, ...).

    Returns
    -------
    report : str or dict
        As returned by :func:`sklearn.metrics.classification_report`.
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    _check_has_tokens(y_true)
    weight = _token_weights(sample_weight, y_true)
    return classification_report(_flatten(y_true), _flatten(y_pred), sample_weight=weight, **kwargs)


# --------------------------------------------------------------------------- entity level


def _check_scheme_mode(scheme, mode):
    if scheme not in _SCHEME_PREFIXES:
        raise ValueError(f"scheme must be one of {sorted(_SCHEME_PREFIXES)}; got {scheme!r}.")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {list(_MODES)}; got {mode!r}.")
    if scheme == "IOB1" and mode == "strict":
        raise ValueError(
            "scheme='IOB1' is only read in mode='conlleval' (as the conlleval script "
            "reads it); convert the labels to IOB2 to use mode='strict'."
        )


def _split_labels(seq, scheme):
    """Split each label into ``(prefix, type)``; the outside label gives ``("O", "")``."""
    allowed = _SCHEME_PREFIXES[scheme]
    tags = []
    for label in seq:
        if isinstance(label, str) and label == _OUTSIDE:
            tags.append((_OUTSIDE, ""))
            continue
        if not isinstance(label, str):
            raise ValueError(
                f"Label {label!r} is not a string; entity metrics need labels such as "
                "'B-PER', 'I-PER' and 'O'."
            )
        prefix, hyphen, entity_type = label.partition("-")
        if not hyphen or not prefix or not entity_type:
            raise ValueError(
                f"Label {label!r} has no prefix; entity labels must look like 'B-PER' "
                "(prefix, hyphen, type) and the outside label must be 'O'."
            )
        if prefix not in allowed:
            raise ValueError(
                f"Label {label!r} has prefix {prefix!r}, which scheme {scheme!r} does not "
                f"use; its prefixes are {', '.join(allowed)} (and the label 'O'). Pass "
                "the scheme the labels were written in, e.g. scheme='BIOES'."
            )
        tags.append((prefix, entity_type))
    return tags


def _end_of_chunk(prev_tag, tag, prev_type, entity_type):
    """Whether a chunk ended just before this token (conlleval's ``endOfChunk``).

    The IOB rules are conlleval's; the E/S rules extend them to BIOES (conlleval's own
    E rules are for the IOE schemes and its ``[``/``]``/``.`` tags are rejected here).
    """
    if prev_tag in ("B", "I") and tag in ("B", "S", _OUTSIDE):
        return True
    if prev_tag in ("E", "S"):
        return True
    return prev_tag != _OUTSIDE and prev_type != entity_type


def _start_of_chunk(prev_tag, tag, prev_type, entity_type):
    """Whether a chunk starts at this token (conlleval's ``startOfChunk``, plus BIOES)."""
    if tag in ("B", "S"):
        return True
    if prev_tag in (_OUTSIDE, "E", "S") and tag in ("I", "E"):
        return True
    return tag != _OUTSIDE and prev_type != entity_type


def _conlleval_chunks(tags):
    chunks = []
    start = None
    prev_tag, prev_type = _OUTSIDE, ""
    # A sentence boundary reads as "O" in conlleval: the sentinel closes the last chunk.
    for i, (tag, entity_type) in enumerate([*tags, (_OUTSIDE, "")]):
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, entity_type):
            chunks.append((prev_type, start, i))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, entity_type):
            start = i
        prev_tag, prev_type = tag, entity_type
    return chunks


def _strict_iob2_chunks(tags):
    chunks = []
    start, chunk_type = None, None
    for i, (tag, entity_type) in enumerate([*tags, (_OUTSIDE, "")]):
        if start is not None and not (tag == "I" and entity_type == chunk_type):
            chunks.append((chunk_type, start, i))
            start = None
        if tag == "B":
            start, chunk_type = i, entity_type
    return chunks


def _strict_bioes_chunks(tags):
    chunks = []
    start, chunk_type = None, None
    for i, (tag, entity_type) in enumerate(tags):
        if tag == "S":
            chunks.append((entity_type, i, i + 1))
            start = None
        elif tag == "B":
            start, chunk_type = i, entity_type
        elif tag == "I":
            if entity_type != chunk_type:
                start = None
        elif tag == "E":
            if start is not None and entity_type == chunk_type:
                chunks.append((chunk_type, start, i + 1))
            start = None
        else:
            start = None
    return chunks


def get_entities(seq, *, scheme="IOB2", mode="conlleval"):
    """Cut one sequence of labels into entity chunks.

    Parameters
    ----------
    seq : sequence of str
        Labels of one sequence, e.g. ``["B-PER", "I-PER", "O", "B-LOC"]``. Every label
        is ``"O"`` or a prefix, a hyphen and a type (``"B-PER"``; the type may itself
        contain hyphens).

    scheme : {"IOB2", "IOB1", "BIOES"}, default="IOB2"
        Tagging scheme of the labels. IOB2 and IOB1 use the prefixes ``B`` and ``I``;
        BIOES also uses ``E`` (end) and ``S`` (single-token chunk). Any other prefix
        raises a ValueError.

    mode : {"conlleval", "strict"}, default="conlleval"
        How chunks are read.

        - ``"conlleval"`` follows the CoNLL ``conlleval`` perl script: a chunk starts
          at ``B-X``, and also at ``I-X`` that follows ``O`` or a label of another
          type; it ends before ``B``, ``O`` or a change of type. IOB1 and IOB2 are read
          the same way, as conlleval does. For BIOES, ``S-X`` is a one-token chunk and
          ``E-X`` closes a chunk, while ill-formed runs are still read leniently.
        - ``"strict"`` keeps only well-formed chunks of the declared scheme: in IOB2,
          ``B-X`` followed by ``I-X`` tokens (an ``I-X`` with no ``B-X`` before it is
          not part of any chunk); in BIOES, ``S-X`` or ``B-X I-X* E-X``. IOB1 has no
          strict mode.

    Returns
    -------
    entities : list of tuple (type, start, end)
        One ``(type, start, end)`` per chunk in order, ``end`` exclusive, so that
        ``seq[start:end]`` are the chunk's labels.

    Examples
    --------
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"], mode="strict")
    [('PER', 0, 2), ('LOC', 4, 5)]
    """
    _check_scheme_mode(scheme, mode)
    if isinstance(seq, (str, bytes)) or not isinstance(seq, (Sequence, np.ndarray)):
        raise TypeError(
            f"seq must be a sequence of labels such as ['B-PER', 'O']; got {type(seq).__name__}."
        )
    tags = _split_labels(list(seq), scheme)
    if mode == "conlleval":
        return _conlleval_chunks(tags)
    if scheme == "BIOES":
        return _strict_bioes_chunks(tags)
    return _strict_iob2_chunks(tags)


def _count_entities(y_true, y_pred, scheme, mode):
    """Count true, predicted and correctly predicted chunks per entity type."""
    n_true, n_pred, n_correct = Counter(), Counter(), Counter()
    for true_seq, pred_seq in zip(y_true, y_pred, strict=True):
        true_entities = set(get_entities(true_seq, scheme=scheme, mode=mode))
        pred_entities = set(get_entities(pred_seq, scheme=scheme, mode=mode))
        n_true.update(entity_type for entity_type, _, _ in true_entities)
        n_pred.update(entity_type for entity_type, _, _ in pred_entities)
        n_correct.update(entity_type for entity_type, _, _ in true_entities & pred_entities)
    return n_true, n_pred, n_correct


def _ratio(numerator, denominator):
    """Elementwise ``numerator / denominator`` with 0.0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _prf(n_correct, n_pred, n_true):
    precision = _ratio(n_correct, n_pred)
    recall = _ratio(n_correct, n_true)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1


def _entity_scores(y_true, y_pred, scheme, mode):
    """Per-type and averaged scores: ``(types, per_type, averages)``."""
    y_true, y_pred = _check_sequences(y_true, y_pred)
    _check_scheme_mode(scheme, mode)
    n_true, n_pred, n_correct = _count_entities(y_true, y_pred, scheme, mode)
    types = sorted(set(n_true) | set(n_pred))
    support = np.array([n_true[t] for t in types], dtype=int)
    precision, recall, f1 = _prf([n_correct[t] for t in types], [n_pred[t] for t in types], support)
    micro = tuple(
        float(x) for x in _prf(sum(n_correct.values()), sum(n_pred.values()), sum(n_true.values()))
    )
    if types:
        macro = tuple(float(np.mean(x)) for x in (precision, recall, f1))
    else:
        macro = (0.0, 0.0, 0.0)
    if support.sum() > 0:
        weighted = tuple(float(np.average(x, weights=support)) for x in (precision, recall, f1))
    else:
        weighted = (0.0, 0.0, 0.0)
    per_type = (precision, recall, f1, support)
    averages = {"micro": micro, "macro": macro, "weighted": weighted}
    return types, per_type, averages


def entity_precision_recall_f1(y_true, y_pred, *, scheme="IOB2", mode="conlleval", average="micro"):
    """Entity-level precision, recall and F1, counting exact chunk matches.

    A predicted chunk is correct only if a true chunk has the same type, start and end
    (see :func:`get_entities` for how chunks are read). With ``average="micro"`` and
    ``mode="conlleval"`` the numbers are those of the CoNLL ``conlleval`` script (as
    fractions, not percentages). A ratio whose denominator is zero (no predicted chunk
    for precision, no true chunk for recall, P + R = 0 for F1) is 0.0, without warning.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "I-PER", "O"], ["B-LOC"]]``.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length.

    scheme : {"IOB2", "IOB1", "BIOES"}, default="IOB2"
        Tagging scheme of the labels; see :func:`get_entities`.

    mode : {"conlleval", "strict"}, default="conlleval"
        How chunks are read; see :func:`get_entities`.

    average : {"micro", "macro", "weighted"} or None, default="micro"
        ``"micro"`` pools the counts of all types; ``"macro"`` is the unweighted mean
        of the per-type scores over the types found in ``y_true`` or ``y_pred``;
        ``"weighted"`` weights that mean by each type's number of true chunks; ``None``
        returns the per-type scores.

    Returns
    -------
    precision, recall, f1 : float, or ndarray of shape (n_types,) if ``average=None``
        Per-type arrays follow the sorted entity types.

    support : None, or ndarray of int of shape (n_types,) if ``average=None``
        Number of true chunks of each type (None when averaged, as in scikit-learn).

    Examples
    --------
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "B-LOC", "O"]]
    >>> entity_precision_recall_f1(y_true, y_pred)
    (0.5, 0.5, 0.5, None)
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {list(_AVERAGES)}; got {average!r}.")
    _, per_type, averages = _entity_scores(y_true, y_pred, scheme, mode)
    if average is None:
        return per_type
    return (*averages[average], None)


def entity_precision(y_true, y_pred, *, scheme="IOB2", mode="conlleval", average="micro"):
    """Entity-level precision: correct chunks / predicted chunks (0.0 if none predicted).

    Parameters and semantics as in :func:`entity_precision_recall_f1`; ``y_true`` and
    ``y_pred`` are lists of sequences of labels.

    Returns
    -------
    precision : float, or ndarray of shape (n_types,) if ``average=None``
    """
    return entity_precision_recall_f1(y_true, y_pred, scheme=scheme, mode=mode, average=average)[0]


def entity_recall(y_true, y_pred, *, scheme="IOB2", mode="conlleval", average="micro"):
    """Entity-level recall: correct chunks / true chunks (0.0 if there is no true chunk).

    Parameters and semantics as in :func:`entity_precision_recall_f1`; ``y_true`` and
    ``y_pred`` are lists of sequences of labels.

    Returns
    -------
    recall : float, or ndarray of shape (n_types,) if ``average=None``
    """
    return entity_precision_recall_f1(y_true, y_pred, scheme=scheme, mode=mode, average=average)[1]


def entity_f1(y_true, y_pred, *, scheme="IOB2", mode="conlleval", average="micro"):
    """Entity-level F1, the harmonic mean of precision and recall (0.0 if both are 0).

    Parameters and semantics as in :func:`entity_precision_recall_f1`; ``y_true`` and
    ``y_pred`` are lists of sequences of labels. With the defaults this is conlleval's
    ``FB1`` divided by 100.

    Returns
    -------
    f1 : float, or ndarray of shape (n_types,) if ``average=None``

    Examples
    --------
    >>> entity_f1([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])
    1.0
    """
    return entity_precision_recall_f1(y_true, y_pred, scheme=scheme, mode=mode, average=average)[2]


def entity_classification_report(
    y_true, y_pred, *, scheme="IOB2", mode="conlleval", digits=2, output_dict=False
):
    """Per-type entity precision, recall, F1 and support, plus their averages.

    Parameters
    ----------
    y_true : list of sequences of labels
        True labels, e.g. ``[["B-PER", "I-PER", "O"], ["B-LOC"]]``.

    y_pred : list of sequences of labels
        Predicted labels, one sequence per true sequence and of the same length.

    scheme : {"IOB2", "IOB1", "BIOES"}, default="IOB2"
        Tagging scheme of the labels; see :func:`get_entities`.

    mode : {"conlleval", "strict"}, default="conlleval"
        How chunks are read; see :func:`get_entities`.

    digits : int, default=2
        Digits of the floats in the text report.

    output_dict : bool, default=False
        Return a dict instead of text.

    Returns
    -------
    report : str or dict
        One row per entity type (sorted), then ``"micro avg"``, ``"macro avg"`` and
        ``"weighted avg"`` (see :func:`entity_precision_recall_f1`); the support of an
        average row is the total number of true chunks. The dict has the layout of
        :func:`sklearn.metrics.classification_report`'s::

            {"PER": {"precision": 1.0, "recall": 0.5, "f1-score": 0.67, "support": 2},
             ...,
             "micro avg": {...}, "macro avg": {...}, "weighted avg": {...}}

        Zero divisions give 0.0.
    """
    types, (precision, recall, f1, support), averages = _entity_scores(y_true, y_pred, scheme, mode)
    headers = ("precision", "recall", "f1-score", "support")
    total = int(support.sum())
    rows = [
        (name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(types, precision, recall, f1, support, strict=True)
    ]
    average_rows = [(f"{name} avg", *scores, total) for name, scores in averages.items()]
    if output_dict:
        return {row[0]: dict(zip(headers, row[1:], strict=True)) for row in rows + average_rows}

    width = max([len(name) for name, *_ in rows + average_rows] + [digits])
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in headers), ""]
    for block in (rows, average_rows):
        for name, p, r, f, s in block:
            scores = "".join(f" {x:>9.{digits}f}" for x in (p, r, f))
            lines.append(f"{name:>{width}} {scores} {s:>9}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- scorers

#: Scorer for :func:`token_accuracy` (greater is better).
token_accuracy_scorer = make_scorer(token_accuracy)

#: Scorer for :func:`sequence_accuracy` (greater is better).
sequence_accuracy_scorer = make_scorer(sequence_accuracy)

#: Scorer for :func:`entity_f1` with IOB2 labels, conlleval chunks and micro average.
entity_f1_scorer = make_scorer(entity_f1)
