"""Sequence metrics: token, sequence and entity level, and edit distances.

The tagging metrics take ``y_true`` and ``y_pred`` as *lists of sequences of labels*,
the shape that :class:`~skrnn.SequenceTagger` consumes and predicts::

    y_true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    y_pred = tagger.predict(X)          # [array(['B-PER', 'O', 'O']), array(['O', 'B-LOC'])]

Each sequence may be a list, a tuple or a 1-D numpy array; ``y_true`` and ``y_pred``
must hold the same number of sequences and each pair must have the same length.

The edit-distance metrics (:func:`edit_distance`, :func:`token_error_rate`,
:func:`exact_match_accuracy`) are for outputs whose length is not the input's, as
:class:`~skrnn.Seq2Seq` predicts (grapheme-to-phoneme, transliteration, speech or
handwriting recognition): a predicted sequence may have any length, a string is read
as its sequence of characters, and a reference may be given as several alternatives
(``multi_reference=True``)::

    y_true = [["K", "AE", "T"], ["D", "AO", "G"]]
    y_pred = model.predict(["cat", "dog"])      # [['K', 'AE', 'T'], ['D', 'AA', 'G', 'Z']]
    token_error_rate(y_true, y_pred)            # (0 + 2) / (3 + 3)

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
    "edit_distance",
    "entity_classification_report",
    "entity_f1",
    "entity_f1_scorer",
    "entity_precision",
    "entity_precision_recall_f1",
    "entity_recall",
    "exact_match_accuracy",
    "exact_match_accuracy_scorer",
    "flat_classification_report",
    "flat_f1_score",
    "get_entities",
    "sequence_accuracy",
    "sequence_accuracy_scorer",
    "token_accuracy",
    "token_accuracy_scorer",
    "token_error_rate",
    "token_error_rate_scorer",
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
# Edit distances whose shorter sequence (the DP row) has at least this many tokens run
# row by row in numpy; shorter rows in pure Python, which is faster there (measured).
_NUMPY_MIN_ROW = 32


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

    See Also
    --------
    exact_match_accuracy : the same for predictions of any length (sequence to
        sequence), with optional alternative references.

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


# --------------------------------------------------------------------------- edit distance


def _as_tokens(seq, name):
    """Return one sequence as a str (of characters) or a list of tokens, or raise."""
    if isinstance(seq, str):
        return seq
    if isinstance(seq, (bytes, bytearray)):
        raise TypeError(
            f"{name} is {type(seq).__name__}; decode it to str to compare characters, or "
            "pass a list of tokens."
        )
    if isinstance(seq, np.ndarray):
        if seq.ndim != 1:
            raise ValueError(
                f"{name} must be a string or a 1-D sequence of tokens; got an array of shape "
                f"{seq.shape}."
            )
        return seq.tolist()
    if isinstance(seq, Sequence):
        return list(seq)
    raise TypeError(
        f"{name} is of type {type(seq).__name__}, not a sequence: pass a string (compared "
        "character by character) or a list, tuple or 1-D array of tokens."
    )


def _as_sequence_list(y, name, *, multi_reference=False):
    """Return ``y`` as a list of token sequences (of lists of them if ``multi_reference``)."""
    if isinstance(y, (str, bytes)) or not isinstance(y, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a list of sequences, e.g. ['kitten', 'sitting'] or "
            f"[['K', 'AE', 'T'], ['D', 'AO', 'G']]; got {type(y).__name__}. To compare a "
            "single pair, use edit_distance(reference, hypothesis) or wrap each in a list."
        )
    if isinstance(y, np.ndarray) and y.ndim == 0:
        raise TypeError(f"{name} must be a list of sequences; got a 0-d array.")
    if not multi_reference:
        return [_as_tokens(seq, f"{name}[{i}]") for i, seq in enumerate(y)]
    references = []
    for i, alternatives in enumerate(y):
        if isinstance(alternatives, (str, bytes)) or not isinstance(
            alternatives, (Sequence, np.ndarray)
        ):
            raise TypeError(
                f"{name}[{i}] is of type {type(alternatives).__name__}; with "
                f"multi_reference=True each element of {name} must be a list of alternative "
                "references, e.g. [['T', 'AH', 'M', 'EY', 'T', 'OW'], ['T', 'AH', 'M', 'AA', "
                f"'T', 'OW']] or ['colour', 'color']. Wrap a single reference in a list: "
                f"[{alternatives!r}]."
            )
        alternatives = [_as_tokens(ref, f"{name}[{i}][{j}]") for j, ref in enumerate(alternatives)]
        if not alternatives:
            raise ValueError(
                f"{name}[{i}] lists no reference; with multi_reference=True give at least "
                "one reference sequence for each item."
            )
        references.append(alternatives)
    return references


def _check_edit_inputs(y_true, y_pred, multi_reference):
    """Validate the inputs of the edit-distance metrics; return them as lists."""
    if not isinstance(multi_reference, (bool, np.bool_)):
        raise TypeError(f"multi_reference must be True or False; got {multi_reference!r}.")
    y_true = _as_sequence_list(y_true, "y_true", multi_reference=multi_reference)
    y_pred = _as_sequence_list(y_pred, "y_pred")
    if len(y_true) == 0:
        raise ValueError("y_true is empty; pass at least one reference sequence.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} sequences but y_pred has {len(y_pred)}; pass one "
            "predicted sequence for each reference."
        )
    if not multi_reference:
        y_true = [[ref] for ref in y_true]
    return y_true, y_pred


def _same_tokens(a, b):
    """Whether two sequences from :func:`_as_tokens` hold the same tokens."""
    if type(a) is type(b):
        return a == b
    return list(a) == list(b)


def _levenshtein_python(a, b):
    """Edit distance by the Wagner-Fischer DP, one row of ``len(b) + 1`` cells at a time."""
    previous = list(range(len(b) + 1))
    for i, token in enumerate(a, start=1):
        current = [i]
        for other, diagonal, above in zip(b, previous, previous[1:]):
            substitution = diagonal if token == other else diagonal + 1
            current.append(min(substitution, above + 1, current[-1] + 1))
        previous = current
    return previous[-1]


def _codes(a, b):
    """Integer arrays coding the tokens of ``a`` and ``b`` alike, or None if unhashable."""
    if isinstance(a, str) and isinstance(b, str):
        return tuple(np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32) for s in (a, b))
    index = {}
    try:
        return tuple(
            np.fromiter((index.setdefault(t, len(index)) for t in s), dtype=np.intp, count=len(s))
            for s in (a, b)
        )
    except TypeError:  # an unhashable token: the pure-Python DP needs only ==
        return None


def _levenshtein_numpy(a_codes, b_codes):
    """The same DP with each row computed by numpy from the row above.

    Substitutions and deletions come from the row above elementwise; insertions chain
    along the row: ``row[j] = min_k (best[k] + j - k)``, a running minimum of
    ``best - j``.
    """
    offsets = np.arange(len(b_codes) + 1)
    row = offsets.copy()
    best = np.empty_like(row)
    for i, code in enumerate(a_codes, start=1):
        best[0] = i
        np.minimum(row[:-1] + (b_codes != code), row[1:] + 1, out=best[1:])
        row = np.minimum.accumulate(best - offsets) + offsets
    return int(row[-1])


def _levenshtein(a, b):
    """Edit distance between two sequences from :func:`_as_tokens`."""
    # The common prefix and suffix cost nothing.
    start, stop = 0, min(len(a), len(b))
    while start < stop and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):  # the distance is symmetric; keep the row short
        a, b = b, a
    if not b:
        return len(a)
    if len(b) >= _NUMPY_MIN_ROW:
        codes = _codes(a, b)
        if codes is not None:
            return _levenshtein_numpy(*codes)
    return _levenshtein_python(a, b)


def edit_distance(reference, hypothesis):
    """Levenshtein distance: the fewest insertions, deletions and substitutions.

    Each edit costs 1, so the distance is symmetric and at most the length of the
    longer sequence. Runs in O(len(reference) * len(hypothesis)) time and
    O(min(len(reference), len(hypothesis))) memory (a dynamic programme kept one row
    at a time; long inputs are computed row by row in numpy).

    Parameters
    ----------
    reference : str or sequence of hashable
        The true sequence. A string is compared character by character; a list,
        tuple or 1-D numpy array token by token (tokens compare with ``==``, so
        ``"AH"`` in a list and ``np.str_("AH")`` in an array are the same token).

    hypothesis : str or sequence of hashable
        The predicted sequence, of any length. A string and a list of one-character
        strings with the same characters are at distance 0.

    Returns
    -------
    distance : int
        Number of edits that turn ``hypothesis`` into ``reference`` (or back).

    Raises
    ------
    TypeError
        If either argument is not a string or a sequence (``bytes`` must be decoded).

    ValueError
        If either argument is a numpy array with other than one dimension.

    See Also
    --------
    token_error_rate : summed distances over a corpus, divided by the reference length.

    Examples
    --------
    >>> edit_distance("kitten", "sitting")
    3
    >>> edit_distance(["K", "AE", "T"], ["K", "AA", "T", "S"])
    2
    """
    return _levenshtein(_as_tokens(reference, "reference"), _as_tokens(hypothesis, "hypothesis"))


def _closest_reference(references, hypothesis):
    """``(distance, reference length)`` of the closest reference (first one on ties)."""
    best = None
    for ref in references:
        distance = _levenshtein(ref, hypothesis)
        if best is None or distance < best[0]:
            best = (distance, len(ref))
            if distance == 0:
                break
    return best


def token_error_rate(y_true, y_pred, *, multi_reference=False, sample_weight=None):
    """Corpus token error rate: summed edit distances over summed reference lengths.

    With strings this is the character error rate (CER); with lists of phonemes or
    words, the phoneme or word error rate (PER, WER). Like jiwer's ``wer``/``cer``
    it is a corpus-level rate, not a mean of per-sequence rates: long references
    weigh more. Substitutions, deletions and insertions each count one error, so the
    rate may exceed 1 when predictions are longer than the references.

    Parameters
    ----------
    y_true : list of sequences, or list of lists of sequences
        Reference sequences, e.g. ``["kitten", "dog"]`` or
        ``[["K", "AE", "T"], ["D", "AO", "G"]]``; each a string (characters) or a
        list, tuple or 1-D array of hashable tokens. With ``multi_reference=True``,
        each item is instead a non-empty list of alternative references, e.g.
        ``[[["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]]``
        (what ``skrnn.datasets.load_cmudict(..., variants="all")`` returns).

    y_pred : list of sequences
        Predicted sequences, one per item of ``y_true``, each of any length.

    multi_reference : bool, default=False
        Whether each item of ``y_true`` lists alternative references. The item then
        counts against its *closest* reference, as in grapheme-to-phoneme
        evaluation, where a pronunciation is right if it matches any listed one: the
        reference with the fewest edits (the first listed among equally close ones)
        supplies both the errors and the reference length of that item.

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per sequence, multiplying both its errors and its reference
        length.

    Returns
    -------
    rate : float
        ``sum(w * edit_distance(ref, pred)) / sum(w * len(ref))``; 0.0 means every
        prediction is exactly right.

    Raises
    ------
    ValueError
        If ``y_true`` is empty, ``y_true`` and ``y_pred`` hold different numbers of
        sequences, an item lists no reference, or the references hold no token at
        all (the rate is then undefined; count edits with :func:`edit_distance`).
        Single empty references are allowed: their predicted tokens count as
        insertions.

    TypeError
        If an argument is not a list of sequences, or with ``multi_reference=True``
        an item is a single string rather than a list of references.

    See Also
    --------
    edit_distance : the distance between one pair of sequences.
    exact_match_accuracy : the fraction of sequences predicted without an error.

    Examples
    --------
    >>> token_error_rate(["kitten", "dog"], ["sitting", "dog"])  # (3 + 0) / (6 + 3)
    0.3333333333333333
    >>> y_true = [[["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]]
    >>> token_error_rate(y_true, [["T", "AH", "M", "AA", "T", "OW"]], multi_reference=True)
    0.0
    """
    references, y_pred = _check_edit_inputs(y_true, y_pred, multi_reference)
    scores = np.array(
        [_closest_reference(refs, pred) for refs, pred in zip(references, y_pred)], dtype=float
    )  # (n_sequences, 2): distance, reference length
    if sample_weight is not None:
        scores *= _check_sequence_weight(sample_weight, len(references))[:, None]
    errors, length = scores.sum(axis=0)
    if length == 0:
        raise ValueError(
            "The references in y_true hold no token (every reference is empty, or has "
            "zero weight), so the error rate, edits per reference token, is undefined. "
            "Count the edits with edit_distance instead, or score non-empty references."
        )
    return float(errors / length)


def exact_match_accuracy(y_true, y_pred, *, multi_reference=False, sample_weight=None):
    """Fraction of predicted sequences equal to their reference, of any length.

    The sequence-to-sequence counterpart of :func:`sequence_accuracy` (which, for
    taggers, refuses predictions of another length than the truth): here a
    prediction of the wrong length is simply wrong. In grapheme-to-phoneme work
    ``1 - exact_match_accuracy`` is called the word error rate.

    Parameters
    ----------
    y_true : list of sequences, or list of lists of sequences
        Reference sequences (strings or lists, tuples, 1-D arrays of tokens), or
        with ``multi_reference=True`` a non-empty list of alternative references per
        item; see :func:`token_error_rate`.

    y_pred : list of sequences
        Predicted sequences, one per item of ``y_true``. A string equals a list of
        its characters.

    multi_reference : bool, default=False
        Whether each item of ``y_true`` lists alternative references; a prediction
        is then correct if it equals any of them.

    sample_weight : array-like of shape (n_sequences,), default=None
        One weight per sequence.

    Returns
    -------
    accuracy : float
        Weighted fraction of exactly predicted sequences.

    Raises
    ------
    ValueError, TypeError
        On malformed input, as for :func:`token_error_rate` (empty references are
        allowed here: only an empty prediction matches them).

    Examples
    --------
    >>> exact_match_accuracy(["cat", "dog"], ["cat", "dot"])
    0.5
    >>> exact_match_accuracy([["color", "colour"]], ["colour"], multi_reference=True)
    1.0
    """
    references, y_pred = _check_edit_inputs(y_true, y_pred, multi_reference)
    exact = np.array(
        [any(_same_tokens(ref, pred) for ref in refs) for refs, pred in zip(references, y_pred)]
    )
    weight = None
    if sample_weight is not None:
        weight = _check_sequence_weight(sample_weight, len(references))
    return float(np.average(exact, weights=weight))


# --------------------------------------------------------------------------- scorers

#: Scorer for :func:`token_accuracy` (greater is better).
token_accuracy_scorer = make_scorer(token_accuracy)

#: Scorer for :func:`sequence_accuracy` (greater is better).
sequence_accuracy_scorer = make_scorer(sequence_accuracy)

#: Scorer for :func:`entity_f1` with IOB2 labels, conlleval chunks and micro average.
entity_f1_scorer = make_scorer(entity_f1)

#: Scorer for :func:`token_error_rate` (lower is better, so it returns the negated rate).
token_error_rate_scorer = make_scorer(token_error_rate, greater_is_better=False)

#: Scorer for :func:`exact_match_accuracy` (greater is better).
exact_match_accuracy_scorer = make_scorer(exact_match_accuracy)
