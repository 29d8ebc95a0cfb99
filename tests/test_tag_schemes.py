"""skrnn.tag_schemes: scheme detection, the transition rules, violations and their messages."""

import itertools

import numpy as np
import pytest

from skrnn import tag_schemes as schemes

IOB = np.array(["B-LOC", "B-PER", "I-LOC", "I-PER", "O"])
BIOES = np.array(["B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "O", "S-LOC", "S-PER"])
BMES = np.array(["B", "E", "M", "S"])


def _rules(classes, scheme):
    """``ok(seq)``: whether a label sequence is valid, via first_violation."""
    allowed, start, end = schemes.allowed_transitions(classes, scheme)
    index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}

    def ok(*seq):
        return schemes.first_violation([index[t] for t in seq], allowed, start, end) is None

    return ok


def _reference(scheme, a, b):
    """May label ``b`` follow label ``a``? The rules written out case by case."""
    if scheme == "bmes":
        a, b = a.upper(), b.upper()
        return b in "ME" if a in "BM" else b in "BS"
    pa, ta = (a, None) if a == "O" else a.split("-", 1)
    pb, tb = (b, None) if b == "O" else b.split("-", 1)
    if scheme == "iob2":
        return pb != "I" or (pa in "BI" and ta == tb)
    if scheme == "iob1":
        return pb != "B" or (pa in "BI" and ta == tb)
    # bioes
    if pa in ("B", "I"):
        return pb in ("I", "E") and ta == tb
    return pb in ("O", "B", "S")


_STARTS = {"iob2": "OB", "iob1": "OI", "bioes": "OBS", "bmes": "BS"}
_ENDS = {"iob2": "OBI", "iob1": "OBI", "bioes": "OES", "bmes": "ES"}


def test_schemes_tuple():
    assert schemes.SCHEMES == ("iob1", "iob2", "bioes", "bmes")


@pytest.mark.parametrize("classes, expected", [
    (IOB, "iob2"),
    (BIOES, "bioes"),
    (np.array(["B-PER", "O", "S-PER"]), "bioes"),  # S- alone makes it BIOES
    (np.array(["B-MISC", "I-MISC"]), "iob2"),
    (np.array(["I-PER", "O"]), "iob2"),  # IOB1-looking labels: the tagger falls back
    (np.array(["ADJ", "DET", "NOUN", "VERB"]), None),  # part-of-speech tags
    (np.array([0, 1, 2]), None),
    (np.array(["O"]), None),  # nothing to constrain
    (np.array(["B-PER", "I-PER", "O", "PAD"]), None),
    (np.array(["B-PER", "O-PER"]), None),  # O carries no type
    (np.array(["b-per", "i-per", "o"]), None),  # prefixes are upper case
    (np.array(["B", "E", "M", "S"]), None),  # BMES is never guessed
    (np.array(["B-", "O"]), None),  # a type is not empty
    (np.array([], dtype=str), None),
    (np.array(["B-PER", 1], dtype=object), None),
])
def test_detect_scheme(classes, expected):
    assert schemes.detect_scheme(classes) == expected


def test_numpy_str_labels():
    labels = [np.str_(c) for c in BIOES]
    assert schemes.detect_scheme(np.array(labels, dtype=object)) == "bioes"
    assert schemes.detect_scheme(labels) == "bioes"
    for a, b in zip(schemes.allowed_transitions(np.array(labels, dtype=object), "bioes"),
                    schemes.allowed_transitions(BIOES.tolist(), "bioes")):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError) as info:
        schemes.allowed_transitions([np.str_("O"), np.str_("X")], "iob2")
    assert "'X'" in str(info.value) and "np.str_" not in str(info.value)


@pytest.mark.parametrize("scheme, classes", [
    ("iob2", IOB), ("iob1", IOB), ("bioes", BIOES), ("bmes", BMES),
    ("bmes", np.array(["b", "e", "m", "s"])), ("bmes", np.array(["B", "e", "M", "s"])),
])
def test_allowed_transitions_follow_the_rules(scheme, classes):
    allowed, start, end = schemes.allowed_transitions(classes, scheme)
    c = len(classes)
    assert allowed.shape == (c, c) and start.shape == end.shape == (c,)
    assert allowed.dtype == start.dtype == end.dtype == bool
    labels = classes.tolist()
    for (i, a), (j, b) in itertools.product(enumerate(labels), repeat=2):
        assert allowed[i, j] == _reference(scheme, a, b), (a, b)
    for i, a in enumerate(labels):
        assert start[i] == (a[0].upper() in _STARTS[scheme]), a
        assert end[i] == (a[0].upper() in _ENDS[scheme]), a


def test_spot_checks():
    iob2, iob1, bioes = _rules(IOB, "iob2"), _rules(IOB, "iob1"), _rules(BIOES, "bioes")
    # O -> I-PER: invalid in IOB2, an entity opening in IOB1.
    assert not iob2("O", "I-PER") and iob1("O", "I-PER")
    assert not iob2("I-PER") and iob1("I-PER")  # first tag
    assert iob2("B-PER", "I-PER", "I-PER", "O") and iob2("B-PER", "B-PER")
    assert not iob2("B-PER", "I-LOC") and not iob1("I-PER", "B-LOC")
    # IOB1: B- only between two adjacent entities of one type.
    assert not iob1("O", "B-PER") and not iob1("B-PER")
    assert iob1("I-PER", "B-PER") and iob1("I-PER", "I-LOC")
    assert iob2("B-PER") and iob1("I-PER")  # any end
    # BIOES: entities are closed, single-token ones are S-.
    assert bioes("B-PER", "I-PER", "E-PER", "S-LOC", "O")
    assert not bioes("B-LOC") and not bioes("O", "B-LOC", "I-LOC")  # ends inside
    assert not bioes("B-LOC", "E-PER") and not bioes("B-LOC", "O")
    assert not bioes("E-LOC") and not bioes("I-LOC", "E-LOC")  # starts inside
    assert not bioes("S-LOC", "I-LOC") and not bioes("O", "E-PER")
    assert bioes("E-PER") is False and bioes("S-PER", "B-LOC", "E-LOC")
    bmes = _rules(np.array(["b", "E", "m", "S"]), "bmes")
    assert bmes("b", "m", "m", "E", "S", "b", "E")
    assert not bmes("m", "E") and not bmes("b", "S") and not bmes("b") and not bmes("E")
    assert not bmes("S", "m")


def test_no_scheme_allows_everything():
    allowed, start, end = schemes.allowed_transitions(np.array([3, 1, 2]), None)
    assert allowed.shape == (3, 3) and allowed.all() and start.all() and end.all()


@pytest.mark.parametrize("classes, scheme, named", [
    (IOB, "bmes", "'B-LOC'"),
    (np.array(["O", "X"]), "iob2", "'X'"),
    (BIOES, "iob2", "'E-LOC'"),
    (BIOES, "iob1", "'S-PER'"),
    (np.array([0, 1]), "iob2", "0, 1"),
    (np.array(["B", "Q"]), "bmes", "'Q'"),
    (np.array(["O", "O-PER"]), "bioes", "'O-PER'"),
])
def test_labels_outside_the_scheme_are_an_error(classes, scheme, named):
    with pytest.raises(ValueError) as info:
        schemes.allowed_transitions(classes, scheme)
    message = str(info.value)
    assert named in message and f"tag_scheme={scheme!r}" in message
    assert "tag_scheme=None" in message


def test_unknown_scheme():
    with pytest.raises(ValueError, match="Unknown tag scheme 'bilou'"):
        schemes.allowed_transitions(IOB, "bilou")


def test_first_violation_positions():
    masks = schemes.allowed_transitions(IOB, "iob2")
    ids = {c: i for i, c in enumerate(IOB.tolist())}

    def at(*seq):
        return schemes.first_violation(np.array([ids[t] for t in seq]), *masks)

    assert at("I-LOC") == 0
    assert at("I-LOC", "O", "I-PER") == 0  # the earliest wins
    assert at("O", "O", "I-LOC") == 2
    assert at("B-PER", "I-PER", "O", "I-PER") == 3
    assert at("B-PER", "I-PER", "O") is None
    assert schemes.first_violation([], *masks) is None
    masks = schemes.allowed_transitions(BIOES, "bioes")
    ids = {c: i for i, c in enumerate(BIOES.tolist())}
    assert schemes.first_violation([ids["O"], ids["B-PER"]], *masks) == 2  # ends inside: T
    assert schemes.first_violation([ids["O"], ids["B-PER"], ids["E-PER"]], *masks) is None


def test_check_sequences_names_the_first_offender():
    masks = schemes.allowed_transitions(IOB, "iob2")
    ids = {c: i for i, c in enumerate(IOB.tolist())}
    good = [ids["B-PER"], ids["I-PER"], ids["O"]]
    bad = [ids["O"], ids["O"], ids["O"], ids["I-PER"]]
    seqs = [np.array(good)] * 12 + [np.array(bad), np.array([ids["I-LOC"]])]
    assert schemes.find_violation(seqs, *masks) == (12, 3)
    with pytest.raises(ValueError) as info:
        schemes.check_sequences(seqs, *masks, IOB, "iob2")
    message = str(info.value)
    assert message.startswith("y[12] has O -> I-PER at step 3, invalid under iob2.")
    assert "tag_scheme='iob1'" in message and "tag_scheme=None" in message
    schemes.check_sequences(seqs[:12], *masks, IOB, "iob2")  # valid: no error
    assert schemes.find_violation(iter(seqs[:12]), *masks) is None
    masks = schemes.allowed_transitions(BIOES, "bioes")
    ids = {c: i for i, c in enumerate(BIOES.tolist())}
    with pytest.raises(ValueError, match=r"^y\[1\] ends with B-PER, invalid under bioes\. "
                                         r"Fix the tags, choose the scheme the data follows, "):
        schemes.check_sequences([[ids["O"]], [ids["O"], ids["B-PER"]]], *masks, BIOES, "bioes")
    with pytest.raises(ValueError, match=r"^y\[0\] starts with E-LOC"):
        schemes.check_sequences([[ids["E-LOC"]]], *masks, BIOES, "bioes")


def test_describe_violation_without_an_index():
    text = schemes.describe_violation([4, 3], 1, IOB, "iob2")
    assert text == "the sequence has O -> I-PER at step 1, invalid under iob2"
