"""Tag schemes: which label sequences are valid for chunk and entity tagging.

Numpy only. :class:`skrnn.SequenceTagger` uses these rules (``tag_scheme``) to
exclude invalid sequences from its CRF's partition function and from
decoding, so that ``predict`` never returns, say, ``O I-PER``.

What each scheme allows (``X`` and ``Y`` are entity types, ``X != Y``):

======== ============================ ====================================== ==================
scheme   a sequence may start with    after ...  comes only ...              may end with
======== ============================ ====================================== ==================
iob2     ``O``, ``B-X``               ``I-X`` only after ``B-X`` or ``I-X``  anything
iob1     ``O``, ``I-X``               ``B-X`` only after ``B-X`` or ``I-X``  anything
                                      (it splits two adjacent X entities);
                                      ``I-X`` after anything
bioes    ``O``, ``B-X``, ``S-X``      after ``O``, ``E-*``, ``S-*``: ``O``,  ``O``, ``E-X``,
                                      ``B-*``, ``S-*``; after ``B-X`` or     ``S-X``
                                      ``I-X``: only ``I-X`` or ``E-X``
bmes     ``B``, ``S``                 ``B`` / ``M`` -> ``M``, ``E``;         ``E``, ``S``
                                      ``E`` / ``S`` -> ``B``, ``S``
======== ============================ ====================================== ==================

Labels are strings: ``O`` or ``PREFIX-TYPE`` for iob1 / iob2 / bioes (the
prefix upper case), and ``B`` / ``M`` / ``E`` / ``S`` in either case for
bmes (word segmentation: begin, middle, end of a word, single-character
word). A label outside its scheme is an error.
"""

from __future__ import annotations

import numpy as np

#: The schemes ``tag_scheme`` may name.
SCHEMES = ("iob1", "iob2", "bioes", "bmes")

_PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}


def _split(label):
    """``(prefix, type)`` of an ``O`` / ``P-TYPE`` label, or None."""
    if not isinstance(label, str):
        return None
    if label == "O":
        return "O", None
    if len(label) > 2 and label[1] == "-":
        return label[0], label[2:]
    return None


def detect_scheme(classes):
    """The scheme ``tag_scheme="auto"`` picks for labels ``classes``, or None.

    "bioes" when every label is ``O`` or ``X-TYPE`` with X in B/I/E/S and
    some label is ``E-`` or ``S-``; "iob2" when every label is ``O``,
    ``B-TYPE`` or ``I-TYPE``; otherwise None (nothing to constrain).
    """
    parts = [_split(c) for c in np.asarray(classes).tolist()]
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
        The labels, in the order of the model's columns.
    scheme : {"iob1", "iob2", "bioes", "bmes"} or None
        None allows everything.

    Returns
    -------
    allowed : ndarray of shape (C, C), bool
        ``allowed[i, j]``: label ``j`` may follow label ``i``.
    start, end : ndarray of shape (C,), bool
        Labels a sequence may start / end with.

    Raises
    ------
    ValueError
        A label that does not belong to ``scheme``.
    """
    labels = np.asarray(classes).tolist()
    n = len(labels)
    if scheme is None:
        return np.ones((n, n), bool), np.ones(n, bool), np.ones(n, bool)
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme {scheme!r}; choose from {SCHEMES} or None.")
    if scheme == "bmes":
        bad = [c for c in labels if not (isinstance(c, str) and c.upper() in ("B", "M", "E", "S"))]
        parts = [(c.upper(), None) for c in labels] if not bad else None
    else:
        parts = [_split(c) for c in labels]
        bad = [c for c, p in zip(labels, parts)
               if p is None or (p[0] != "O" and p[0] not in _PREFIXES[scheme])]
    if bad:
        raise ValueError(
            f"Labels {bad[:10]} do not fit tag_scheme={scheme!r} (see skrnn.tag_schemes for "
            "the label forms of each scheme). Pass tag_scheme=None to constrain nothing.")
    prefix = np.array([p for p, _ in parts])
    kind = np.array([t if t is not None else "" for _, t in parts], dtype=object)
    same = kind[:, None] == kind[None, :]
    frm, to = prefix[:, None], prefix[None, :]
    if scheme == "iob2":
        allowed = (to != "I") | (((frm == "B") | (frm == "I")) & same)
        start = prefix != "I"
        end = np.ones(n, bool)
    elif scheme == "iob1":
        allowed = (to != "B") | (((frm == "B") | (frm == "I")) & same)
        start = prefix != "B"
        end = np.ones(n, bool)
    elif scheme == "bioes":
        inside = (frm == "B") | (frm == "I")
        allowed = np.where(inside, ((to == "I") | (to == "E")) & same,
                           (to == "O") | (to == "B") | (to == "S"))
        start = np.isin(prefix, ["O", "B", "S"])
        end = np.isin(prefix, ["O", "E", "S"])
    else:  # bmes
        inside = (frm == "B") | (frm == "M")
        allowed = np.where(inside, (to == "M") | (to == "E"), (to == "B") | (to == "S"))
        start = np.isin(prefix, ["B", "S"])
        end = np.isin(prefix, ["E", "S"])
    return np.asarray(allowed, bool), np.asarray(start, bool), np.asarray(end, bool)


def first_violation(tag_ids, allowed, start, end):
    """The first invalid position of one encoded sequence, or None.

    Returns 0 for an invalid first label, ``t`` (1 <= t < T) when the move
    from step ``t - 1`` to step ``t`` is invalid, ``T`` (the length) for an
    invalid last label. An empty sequence is valid.
    """
    ids = np.asarray(tag_ids, dtype=np.int64)
    if ids.size == 0:
        return None
    if not start[ids[0]]:
        return 0
    bad = np.flatnonzero(~allowed[ids[:-1], ids[1:]])
    if bad.size:
        return int(bad[0]) + 1
    if not end[ids[-1]]:
        return int(ids.size)
    return None
