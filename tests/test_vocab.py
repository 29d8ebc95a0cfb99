"""Tests for skrnn.vocab."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skrnn.vocab import BOS, EOS, PAD, UNK, Vocabulary


def test_build_orders_by_frequency_then_token():
    """Real tokens follow the specials, most frequent first, ties sorted."""
    v = Vocabulary.build([["b", "a", "c", "a"], ["c", "d"]])
    assert v.itos == [PAD, UNK, "a", "c", "b", "d"]
    assert v.counts.tolist() == [0, 0, 2, 2, 1, 1]


def test_min_freq_and_max_size():
    """Rare tokens are dropped by min_freq and the tail by max_size."""
    seqs = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert Vocabulary.build(seqs, min_freq=2).itos[2:] == ["a", "b", "c"]
    assert Vocabulary.build(seqs, max_size=2).itos[2:] == ["a", "b"]


def test_unknown_tokens_map_to_unk():
    """Tokens not seen at build time, and a literal pad token, encode as <unk>."""
    v = Vocabulary.build([["x", "y"]])
    assert v.encode(["x", "zzz", PAD]).tolist() == [v.stoi["x"], v.unk_id, v.unk_id]
    assert PAD not in v and "x" in v


def test_bos_eos_ids():
    """With bos_eos, ids 2 and 3 are the sequence markers."""
    v = Vocabulary.build(["ab"], bos_eos=True)
    assert (v.bos_id, v.eos_id) == (2, 3)
    assert v.itos[:4] == [PAD, UNK, BOS, EOS]
    assert Vocabulary.build(["ab"]).bos_id is None


def test_equality_and_determinism():
    """Building twice from the same data gives equal vocabularies."""
    data = [["q", "w", "e"], ["w"]]
    assert Vocabulary.build(data) == Vocabulary.build(data)
    assert Vocabulary.build(data) != Vocabulary.build([["other"]])


@given(st.lists(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=8), min_size=1))
def test_decode_encode_roundtrip(seqs):
    """decode(encode(x)) == x for every token seen at build time."""
    v = Vocabulary.build(seqs)
    for seq in seqs:
        expected = [t if t != PAD else UNK for t in seq]
        assert v.decode(v.encode(seq)) == expected
        assert v.encode(seq).dtype == np.int64


def test_state_round_trip():
    """from_state(to_state()) gives back the same tokens, counts (specials' too) and bos_eos."""
    v = Vocabulary.build(["abca", "bd"], bos_eos=True)
    v.counts[Vocabulary.unk_id] = 7
    back = Vocabulary.from_state(v.to_state())
    assert back == v and back.bos_eos is True and back.stoi == v.stoi
    assert back.counts.tolist() == v.counts.tolist() and back.counts.dtype == np.int64


@pytest.mark.parametrize("edit, reason", [
    (lambda s: s.update(itos=s["itos"] + ["a"], counts=np.append(s["counts"], 0)),
     "duplicate tokens"),
    (lambda s: s["itos"].reverse(), "must start with the special tokens"),
    (lambda s: s.update(counts=s["counts"][:-1]), "one count per token"),
    (lambda s: s.update(bos_eos=1), "must be a bool"),
    (lambda s: s.pop("counts"), "must be a dict with the keys"),
])
def test_from_state_refuses_invalid_state(edit, reason):
    """An inconsistent state raises a ValueError that says what is wrong."""
    state = Vocabulary(["a", "b"], counts=[2, 1]).to_state()
    edit(state)
    with pytest.raises(ValueError, match=reason):
        Vocabulary.from_state(state)
