"""Tests for skrnn.data: bucketing, padding, character forms."""

import numpy as np
import torch

from skrnn.data import IGNORE_INDEX, EncodedData, bucket_batches, collate, encode_char_forms
from skrnn.vocab import Vocabulary


def test_bucketing_covers_every_sequence_once():
    """Training batches partition the data set and hold sequences of similar length."""
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 50, size=103)
    batches = bucket_batches(lengths, 10, rng)
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    spreads = [np.ptp(lengths[b]) for b in batches]
    assert max(spreads) < 10  # random batches of 10 would spread over ~40


def test_bucketing_is_seeded_and_shuffled():
    """The same seed gives the same batches; another epoch gives another order."""
    lengths = np.arange(100) % 7 + 1
    a = bucket_batches(lengths, 8, np.random.RandomState(1))
    b = bucket_batches(lengths, 8, np.random.RandomState(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    rng = np.random.RandomState(1)
    first, second = bucket_batches(lengths, 8, rng), bucket_batches(lengths, 8, rng)
    assert any(not np.array_equal(x, y) for x, y in zip(first, second))


def test_inference_bucketing_is_sorted():
    """Without an rng, batches come in length order."""
    lengths = np.array([5, 1, 3, 2, 4])
    assert np.concatenate(bucket_batches(lengths, 2)).tolist() == [1, 3, 2, 4, 0]


def test_collate_pads_to_batch_max_and_masks_targets():
    """A batch is padded to its own longest sequence; padded targets are ignored."""
    data = EncodedData(
        inputs=[np.array([2, 3]), np.array([4, 5, 6, 7]), np.array([8])],
        targets=[np.array([0, 1]), np.array([1, 1, 0, 0]), np.array([1])],
    )
    batch = collate(data, np.array([0, 2]), torch.device("cpu"))
    assert batch.inputs.tolist() == [[2, 3], [8, 0]]
    assert batch.targets.tolist() == [[0, 1], [1, IGNORE_INDEX]]
    assert batch.lengths.tolist() == [2, 1]
    assert batch.n_steps == 3


def test_char_forms_share_rows_and_keep_affixes():
    """Each distinct token gets one row; long tokens keep their prefix and suffix."""
    cv = Vocabulary.build(["abcdefghijklmnopqrstuvwxyz"])
    long = "abcdefghijklmnopqrstuvwxyz"
    forms, matrix = encode_char_forms([["ab", "ba", "ab"], [long]], cv)
    assert forms[0].tolist() == [0, 1, 0]
    assert matrix.shape == (3, 20)
    assert cv.decode(matrix[2]) == list(long[:12] + long[-8:])


def test_collate_char_index_points_to_the_right_form():
    """The per-batch character table and its index reproduce each token's characters."""
    cv = Vocabulary.build(["xyz"])
    seqs = [["x", "yy"], ["zzz", "x", "x"]]
    forms, matrix = encode_char_forms(seqs, cv)
    data = EncodedData(inputs=[np.zeros(2, int), np.zeros(3, int)], forms=forms,
                       char_matrix=matrix)
    batch = collate(data, np.array([0, 1]), torch.device("cpu"))
    for row, seq in enumerate(seqs):
        for col, tok in enumerate(seq):
            ids = batch.chars[batch.char_index[row, col]].tolist()
            assert "".join(cv.decode([i for i in ids if i])) == tok


def test_collate_unk_replacement_only_hits_given_rates():
    """Word dropout replaces only tokens with a positive rate."""
    data = EncodedData(inputs=[np.array([2, 3] * 50)])
    rate = np.array([0.0, 0.0, 0.0, 1.0])
    batch = collate(data, np.array([0]), torch.device("cpu"), unk_id=1, unk_rate=rate,
                    rng=np.random.RandomState(0))
    assert set(batch.inputs[0, ::2].tolist()) == {2}
    assert set(batch.inputs[0, 1::2].tolist()) == {1}


def test_select_rows_indexes_every_per_row_field_and_shares_the_rest():
    """Row selection (data-parallel shards) is generic over the Batch's per-row fields."""
    import dataclasses

    from skrnn.data import Batch, select_rows

    batch = Batch(inputs=torch.arange(6).view(3, 2), lengths=torch.tensor([2, 1, 2]),
                  index=np.array([10, 11, 12]), targets=torch.arange(12).view(3, 4),
                  chars=torch.ones(5, 3), char_index=torch.arange(6).view(3, 2), carry=True)
    picked = select_rows(batch, np.array([2, 0]))
    assert picked.index.tolist() == [12, 10] and picked.lengths.tolist() == [2, 2]
    assert picked.targets.tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    assert picked.char_index.tolist() == [[4, 5], [0, 1]]
    assert picked.chars is batch.chars and picked.carry is True
    per_row = {f.name for f in dataclasses.fields(Batch) if f.metadata.get("per_row")}
    assert per_row == {"inputs", "lengths", "index", "targets", "char_index"}
