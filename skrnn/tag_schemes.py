"""Tag schemes: which label sequences are valid for chunk and entity tagging.

Numpy only. :class:`skrnn.SequenceTagger` uses these rules (``tag_scheme``) to
exclude invalid sequences from its CRF's partition function and from
decoding, so that ``predict`` never returns, say, ``O I-PER``.

Label forms
-----------
- ``iob1``, ``iob2``, ``bioes``: ``O`` (outside any entity) or
  ``PREFIX-TYPE``, the prefix one upper-case letter (``B``/``I`` for IOB,
  ``B``/``I``/``E``/``S`` for BIOES) and ``TYPE`` any non-empty string
  (``B-PER``, ``I-MISC``, ``S-LOC``).
- ``bmes`` (word segmentation: begin, middle, end of a word, single-character
  word): ``B``, ``M``, ``E``, ``S`` in either case, no types.

Labels must be strings (``str`` or ``numpy.str_``). A label that does not
have its scheme's form is an error (:class:`ValueError`); pass
``tag_scheme=None`` to constrain nothing.

What each scheme allows
-----------------------
``X`` and ``Y`` are entity types, ``X != Y``; ``*`` is any type.

======== ====================== ===================================== ==================
scheme   may start with         may follow ...                        may end with
======== ====================== ===================================== ==================
iob2     ``O``, ``B-X``         ``O``, ``B-X``: anything;             anything
                                ``I-X``: only ``B-X`` or ``I-X``
iob1     ``O``, ``I-X``         ``O``, ``I-X``: anything (``I-X``      anything
                                may open an entity); ``B-X``: only
                                ``B-X`` or ``I-X`` (it splits two
                                adjacent ``X`` entities)
bioes    ``O``, ``B-X``,        after ``O``, ``E-*``, ``S-*``: only   ``O``, ``E-X``,
         ``S-X``                ``O``, ``B-*``, ``S-*``;              ``S-X``
                                after ``B-X`` or ``I-X``: only
                                ``I-X`` or ``E-X``
bmes     ``B``, ``S``           after ``B`` or ``M``: only ``M``,     ``E``, ``S``
                                ``E``; after ``E`` or ``S``: only
                                ``B``, ``S``
======== ====================== ===================================== ==================

So under iob2 ``O I-PER`` and ``B-PER I-LOC`` are invalid, and a sequence
cannot start with ``I-PER``; under iob1 ``O I-PER`` is valid but ``O B-PER``
is not; under bioes ``B-PER`` must be closed by ``E-PER`` before the
sequence ends.

``tag_scheme="auto"`` (:func:`detect_scheme`) picks "bioes" for labels
that are all ``O`` or ``B-``/``I-``/``E-``/``S-`` with at least one ``E-`` or
``S-``, "iob2" for labels that are all ``O``, ``B-`` or ``I-``, and nothing
otherwise (part-of-speech tags, integer labels).
"""

from __future__ import annotations

import numpy as np

#: The schemes ``tag_scheme`` may name.
SCHEMES = ("iob1", "iob2", "bioes", "bmes")

# Prefixes a typed label may carry under each scheme ("O" is always allowed).
_PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}


def _labels(classes):
    """``classes`` as a list, ``numpy.str_`` turned into ``str`` (plain reprs in messages)."""
    return [str(c) if isinstance(c, str) else c for c in np.asarray(classes).ravel().tolist()]


def _split(label):
    """``(prefix, type)`` of an ``O`` / ``P-TYPE`` label, else None."""
    if not isinstance(label, str):
        return None
    if label == "O":
        return "O", None
    # "O-PER" is no label of any scheme: O carries no type.
    if len(label) > 2 and label[1] == "-" and label[0] != "O":
        return label[0], label[2:]
    return None


def detect_scheme(classes):
    """The scheme ``tag_scheme="auto"`` picks for the labels ``classes``, or None.

    Parameters
    ----------
    classes : array-like of shape (C,)
        The labels (e.g. a fitted tagger's ``classes_``).

    Returns
    -------
    {"bioes", "iob2"} or None
        "bioes" when every label is ``O`` or ``X-TYPE`` with ``X`` in
        B/I/E/S and some label starts with ``E-`` or ``S-``; "iob2" when
        every label is ``O``, ``B-TYPE`` or ``I-TYPE`` (and one is not
        ``O``); None otherwise, including non-string labels: nothing is
        constrained. IOB1 data is detected as "iob2" (the two share their
        labels); the tagger falls back to "iob1" when the training
        sequences break IOB2.
    """
    parts = [_split(c) for c in _labels(classes)]
    if not parts or any(p is None for p in parts):
        return None
    prefixes = {p for p, _ in parts if p != "O"}
    if not prefixes or not prefixes <= set("BIES"):
        return None
    return "bioes" if prefixes & set("ES") else "iob2"


def allowed_transitions(classes, scheme):
    """Valid transitions, first and last labels of ``scheme`` over ``classes``.

    Parameters
    ----------
    classes : array-like of shape (C,)
        The labels, in the order of the model's columns (sorted, as
        scikit-learn's ``classes_``; any order works).
    scheme : {"iob1", "iob2", "bioes", "bmes"} or None
        The rules of the module docstring's table. None allows everything.

    Returns
    -------
    allowed : ndarray of shape (C, C), bool
        ``allowed[i, j]``: label ``j`` may directly follow label ``i``
        ([from, to]).
    start : ndarray of shape (C,), bool
        Labels a sequence may start with.
    end : ndarray of shape (C,), bool
        Labels a sequence may end with.

    Raises
    ------
    ValueError
        An unknown ``scheme``, or labels that do not have its form (the
        message names them and the scheme).
    """
    labels = _labels(classes)
    n = len(labels)
    if scheme is None:
        return np.ones((n, n), bool), np.ones(n, bool), np.ones(n, bool)
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme {scheme!r}; choose from {SCHEMES} or None.")
    if scheme == "bmes":
        bad = [c for c in labels if not (isinstance(c, str) and c.upper() in ("B", "M", "E", "S"))]
        parts = None if bad else [(c.upper(), None) for c in labels]
    else:
        parts = [_split(c) for c in labels]
        bad = [c for c, p in zip(labels, parts)
               if p is None or (p[0] != "O" and p[0] not in _PREFIXES[scheme])]
    if bad:
        forms = ("B, M, E, S (either case)" if scheme == "bmes" else
                 "O or " + "/".join(f"{p}-TYPE" for p in _PREFIXES[scheme]))
        shown = ", ".join(repr(c) for c in bad[:10]) + (", ..." if len(bad) > 10 else "")
        raise ValueError(
            f"Labels {shown} do not fit tag_scheme={scheme!r}, whose labels are {forms} (see "
            "skrnn.tag_schemes). Pass tag_scheme=None to constrain nothing.")
    prefix = np.array([p for p, _ in parts], dtype=object)
    kind = np.array([t if t is not None else "" for _, t in parts], dtype=object)
    same = kind[:, None] == kind[None, :]  # same entity type ("O" only matches "O")
    frm, to = prefix[:, None], prefix[None, :]
    if scheme == "iob2":
        # I-X continues a B-X or I-X entity; everything else may follow anything.
        allowed = (to != "I") | (((frm == "B") | (frm == "I")) & same)
        start = prefix != "I"
        end = np.ones(n, bool)
    elif scheme == "iob1":
        # I-X opens or continues an entity; B-X only splits two adjacent X entities.
        allowed = (to != "B") | (((frm == "B") | (frm == "I")) & same)
        start = prefix != "B"
        end = np.ones(n, bool)
    elif scheme == "bioes":
        # Inside an entity (after B-X / I-X) only I-X or E-X; outside, no I- / E-.
        inside = (frm == "B") | (frm == "I")
        allowed = np.where(inside, ((to == "I") | (to == "E")) & same,
                           (to == "O") | (to == "B") | (to == "S"))
        start = np.isin(prefix, ["O", "B", "S"])
        end = np.isin(prefix, ["O", "E", "S"])
    else:  # bmes: the same automaton without types
        inside = (frm == "B") | (frm == "M")
        allowed = np.where(inside, (to == "M") | (to == "E"), (to == "B") | (to == "S"))
        start = np.isin(prefix, ["B", "S"])
        end = np.isin(prefix, ["E", "S"])
    return (np.asarray(allowed, bool).reshape(n, n), np.asarray(start, bool).reshape(n),
            np.asarray(end, bool).reshape(n))


def first_violation(tag_ids, allowed, start, end):
    """The position of the first invalid step of one encoded sequence, or None.

    Parameters
    ----------
    tag_ids : array-like of int, shape (T,)
        The sequence as indices into the labels ``allowed`` was built for.
    allowed, start, end : ndarray of bool
        As returned by :func:`allowed_transitions`.

    Returns
    -------
    int or None
        0 when the first label may not start a sequence; ``t`` (1 <= t < T)
        when the move from step ``t - 1`` to step ``t`` is invalid; ``T``
        (the length) when the last label may not end one; None for a valid
        (or empty) sequence. The earliest of these wins.
    """
    ids = np.asarray(tag_ids, dtype=np.int64).ravel()
    if ids.size == 0:
        return None
    if not start[ids[0]]:
        return 0
    bad = np.flatnonzero(~np.asarray(allowed)[ids[:-1], ids[1:]])
    if bad.size:
        return int(bad[0]) + 1
    if not end[ids[-1]]:
        return int(ids.size)
    return None


def find_violation(sequences, allowed, start, end):
    """``(sequence index, position)`` of the first invalid sequence, or None.

    Parameters
    ----------
    sequences : iterable of array-like of int
        Encoded label sequences (indices into the labels).
    allowed, start, end : ndarray of bool
        As returned by :func:`allowed_transitions`.

    Returns
    -------
    tuple of (int, int) or None
        The index of the first sequence that :func:`first_violation` flags,
        and its position.
    """
    allowed, start, end = (np.asarray(m, bool) for m in (allowed, start, end))
    for i, seq in enumerate(sequences):
        step = first_violation(seq, allowed, start, end)
        if step is not None:
            return i, step
    return None


def describe_violation(tag_ids, step, classes, scheme, index=None):
    """A sentence saying what is invalid at ``step`` of a sequence.

    Parameters
    ----------
    tag_ids : array-like of int, shape (T,)
        The sequence, as indices into ``classes``.
    step : int
        A position as returned by :func:`first_violation`.
    classes : array-like of shape (C,)
        The labels.
    scheme : str
        The scheme broken (named in the sentence).
    index : int, optional
        The sequence's index in ``y``; the sentence then starts ``y[index]``.

    Returns
    -------
    str
        E.g. ``"y[12] has O -> I-PER at step 3, invalid under iob2"``.
    """
    labels = _labels(classes)
    tags = [labels[int(i)] for i in np.asarray(tag_ids, dtype=np.int64).ravel()]
    if step == 0:
        what = f"starts with {tags[0]}"
    elif step == len(tags):
        what = f"ends with {tags[-1]}"
    else:
        what = f"has {tags[step - 1]} -> {tags[step]} at step {step}"
    who = "the sequence" if index is None else f"y[{index}]"
    return f"{who} {what}, invalid under {scheme}"


def check_sequences(sequences, allowed, start, end, classes, scheme):
    """Raise a ValueError naming the first sequence that breaks ``scheme``.

    Parameters
    ----------
    sequences : iterable of array-like of int
        Encoded training label sequences (indices into ``classes``).
    allowed, start, end : ndarray of bool
        ``allowed_transitions(classes, scheme)``.
    classes : array-like of shape (C,)
        The labels (for the message).
    scheme : str
        The scheme (for the message).

    Raises
    ------
    ValueError
        E.g. ``"y[12] has O -> I-PER at step 3, invalid under iob2. Fix the
        tags, choose the scheme the data follows (IOB1 data:
        tag_scheme='iob1'), or pass tag_scheme=None to constrain nothing."``
    """
    sequences = list(sequences)
    found = find_violation(sequences, allowed, start, end)
    if found is None:
        return
    i, step = found
    hint = " (IOB1 data: tag_scheme='iob1')" if scheme == "iob2" else ""
    raise ValueError(
        f"{describe_violation(sequences[i], step, classes, scheme, index=i)}. Fix the tags, "
        f"choose the scheme the data follows{hint}, or pass tag_scheme=None to constrain "
        "nothing.")
