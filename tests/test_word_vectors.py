"""Pretrained word vectors: reading every format, clear errors, and the tagger's use of them.

Every vectors file here is written by the test itself (tmp_path): nothing is
downloaded.
"""

import gzip
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

# torchrun's workers run this file as a script (see test_data_parallel_training_keeps_rows_
# frozen): as in conftest.py, which they do not load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skrnn
from skrnn import SequenceTagger, Vocabulary
from skrnn.word_vectors import load_word_vectors

WORDS = ["the", "cat", "Über", "naïve", "dog"]
VECTORS = np.random.RandomState(0).randn(len(WORDS), 5).astype(np.float32)


def _text(words=WORDS, vectors=VECTORS, *, header=True, trailing=""):
    lines = [f"{len(words)} {vectors.shape[1]}"] if header else []
    # repr(float) of a float32 value reads back as the same float32.
    lines += [w + " " + " ".join(repr(float(x)) for x in v) + trailing
              for w, v in zip(words, vectors)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _binary(words=WORDS, vectors=VECTORS, *, newline=True):
    out = f"{len(words)} {vectors.shape[1]}\n".encode()
    for w, v in zip(words, vectors):
        out += w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + (b"\n" if newline else b"")
    return out


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return path


FORMATS = {
    "word2vec.txt": lambda: _text(),
    "glove.txt": lambda: _text(header=False),
    "fasttext.vec": lambda: _text(trailing=" "),  # fastText ends its lines with a space
    "glove.txt.gz": lambda: gzip.compress(_text(header=False)),
    "word2vec.bin": lambda: _binary(),
    "no_newlines.bin": lambda: _binary(newline=False),
    "word2vec.bin.gz": lambda: gzip.compress(_binary()),
    # Detected by content, not by name.
    "binary_named.txt": lambda: _binary(),
    "gzip_without_extension": lambda: gzip.compress(_text()),
    "bom_crlf.txt": lambda: b"\xef\xbb\xbf" + _text().replace(b"\n", b"\r\n"),
}


# -- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_back_the_vectors(tmp_path, name):
    path = _write(tmp_path, name, FORMATS[name]())
    for source in (path, str(path)):
        words, vectors = load_word_vectors(source)
        assert words == WORDS
        assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
        np.testing.assert_array_equal(vectors, VECTORS)


def test_mapping_gives_back_the_vectors():
    words, vectors = load_word_vectors({w: v.astype(np.float64).tolist()
                                        for w, v in zip(WORDS, VECTORS)})
    assert words == WORDS
    np.testing.assert_array_equal(vectors, VECTORS)
    assert vectors.dtype == np.float32


def test_blank_lines_are_skipped_and_duplicates_keep_the_first(tmp_path):
    path = _write(tmp_path, "v.txt", b"\na 1 2\n\nb 3 4\na 5 6\n\n")
    words, vectors = load_word_vectors(path)
    assert words == ["a", "b"]
    np.testing.assert_array_equal(vectors, [[1, 2], [3, 4]])


def test_header_count_disagreeing_warns_and_reads_everything(tmp_path):
    for content in (b"5 2\na 1 2\nb 3 4\n", b"1 2\na 1 2\nb 3 4\n"):
        path = _write(tmp_path, "v.txt", content)
        with pytest.warns(UserWarning, match=r"header says it holds \d vectors, but it holds 2"):
            words, _ = load_word_vectors(path)
        assert words == ["a", "b"]
    with pytest.warns(UserWarning, match="header says it holds 9"):
        load_word_vectors(_write(tmp_path, "v.bin", _binary().replace(b"5 5\n", b"9 5\n", 1)))


def _bad_files():
    binary = _binary()
    return {
        "empty": (b"", r"is empty"),
        "only blank lines": (b"\n \n\n", r"only blank lines"),
        "header only": (b"3 5\n", r"holds a header but no vectors"),
        "wrong count": (b"a 1 2 3\nb 1 2 3\nc 1 2\n",
                        r"line 3 has 2 values, but the first vector has 3"),
        "too many values": (b"a 1 2\nb c 1 2\n", r"line 2 has 3 values.*space"),
        "header dimension": (b"2 3\na 1 2 3\nb 1 2\n",
                             r"line 3 has 2 values, but the header says 3"),
        "first line vs header": (b"2 3\na 1 2\nb 1 2\n", r"line 2 has 2 values, but the header"),
        "not a number": (b"a 1 2\nb 1 x\n", r"line 2 holds the value 'x', which is not a number"),
        "nan": (b"a 1 2\n\nb nan 2\n", r"line 3 holds a value that is not finite"),
        "inf": (b"a 1 2\nb 1 -inf\n", r"line 2 holds a value that is not finite"),
        "too large for float32": (b"a 1 2\nb 1 1e39\n", r"line 2 .*not finite"),
        "not utf-8": (b"a 1 2\n\xff\xfe 1 2\n", r"word of line 2 is not valid UTF-8"),
        "word without values": (b"alone\n", r"line 1 holds a word and no values"),
        "zero dimensions": (b"3 0\n", r"0 dimensions"),
        "binary cut short": (binary[:-7], r"ends in the middle of the vector of record 5"),
        "binary cut in a word": (binary + b"unfinished", r"middle of the word of record 6"),
        "binary nan": (_binary(vectors=np.where(np.eye(5, dtype=bool), np.nan, VECTORS)),
                       r"record 1 \('the'\) holds a value that is not finite"),
    }


@pytest.mark.parametrize("case", list(_bad_files()))
def test_bad_file_says_what_is_wrong(tmp_path, case):
    content, message = _bad_files()[case]
    path = _write(tmp_path, "bad.vec", content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a header count may disagree as well
        with pytest.raises(ValueError, match=message):
            load_word_vectors(path)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*never downloads"):
        load_word_vectors(tmp_path / "glove.6B.100d.txt")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_word_vectors("glove-wiki-gigaword-100")  # a downloader's name is not a path
    with pytest.raises(IsADirectoryError):
        load_word_vectors(tmp_path)
    with pytest.raises(TypeError, match="path .* or as a mapping"):
        load_word_vectors(42)


@pytest.mark.parametrize("mapping, message", [
    ({}, "empty mapping"),
    ({"a": [1, 2], "b": [1, 2, 3]}, r"word_vectors\['b'\] has 3 values, but the first .* 2"),
    ({"a": [1, 2], "b": [1, np.nan]}, r"word_vectors\['b'\] holds a value that is not finite"),
    ({"a": [1e39]}, "not finite"),
    ({"a": [1, 2], 3: [1, 2]}, "words are str; it holds the key 3 of type int"),
    ({"a": "1 2"}, r"word_vectors\['a'\] is not an array of numbers"),
    ({"a": [[1, 2]]}, r"has shape \(1, 2\); each vector must be 1-D"),
    ({"a": []}, "must be 1-D and non-empty"),
])
def test_bad_mapping_says_what_is_wrong(mapping, message):
    with pytest.raises(ValueError, match=message):
        load_word_vectors(mapping)


# -- the vocabulary's lower-case fallback -----------------------------------------------


def test_vocabulary_lowercase_fallback_and_its_state():
    v = Vocabulary(["Paris", "paris", "berlin"], lowercase_fallback=True)
    ids = v.encode(["Paris", "PARIS", "Berlin", "<UNK>", "Rome"]).tolist()
    assert ids == [v.stoi["Paris"], v.stoi["paris"], v.stoi["berlin"], v.unk_id, v.unk_id]
    assert "Berlin" in v and "Rome" not in v and "<PAD>" not in v
    plain = Vocabulary(["Paris", "paris", "berlin"])
    assert plain.encode(["Berlin"]).tolist() == [plain.unk_id] and "Berlin" not in plain
    assert plain != v
    back = Vocabulary.from_state(v.to_state())
    assert back == v and back.lowercase_fallback
    # States written before the option existed have no such key: off.
    old = plain.to_state()
    del old["lowercase_fallback"]
    assert Vocabulary.from_state(old).lowercase_fallback is False
    with pytest.raises(ValueError, match="'lowercase_fallback' must be a bool"):
        Vocabulary.from_state({**old, "lowercase_fallback": 1})
    lm_vocab = Vocabulary(["a"], bos_eos=True, lowercase_fallback=True)
    assert lm_vocab.encode(["<BOS>", "A"]).tolist() == [lm_vocab.unk_id, lm_vocab.stoi["a"]]


# -- the tagger ---------------------------------------------------------------------------

DIM = 6
_RNG = np.random.RandomState(1)
#: Vectors of lower-case words; "berlin" and "fish" never occur in the training data.
VEC = {w: _RNG.randn(DIM).astype(np.float32)
       for w in ["the", "cat", "dog", "runs", "berlin", "fish", "<unk>"]}
X = [["The", "cat", "runs"], ["the", "dog", "sleeps"], ["a", "cat", "sleeps"]] * 6
Y = [["D", "N", "V"]] * 18


def _tagger(**params):
    base = dict(hidden_size=8, embedding_dim=DIM, char_embedding_dim=None, max_epochs=2,
                batch_size=4, early_stopping=False, random_state=0, device="cpu",
                word_vectors=VEC)
    return SequenceTagger(**{**base, **params})


def _table(est):
    return est.module_.encoder.embedding.weight.detach().cpu().numpy()


def _vector_rows(est):
    """Vocabulary id -> the vector its row started from (exact, else lower case for trained)."""
    vocab = est.vocabulary_
    rows = {}
    for i, tok in enumerate(vocab.itos):
        vec = VEC.get(tok, VEC.get(tok.lower()) if vocab.counts[i] > 0 else None)
        if vec is not None and tok not in ("<pad>", "<unk>"):
            rows[i] = vec
    return rows


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    path = tmp_path_factory.mktemp("vectors") / "vectors.txt"
    path.write_bytes(_text(list(VEC), np.stack(list(VEC.values())), header=False))
    return quiet_fit(_tagger(word_vectors=path, freeze_embeddings=True, weight_decay=0.1),
                     X, Y), path


def test_vocabulary_is_training_words_then_vector_words(frozen):
    est, _ = frozen
    itos = est.vocabulary_.itos
    trained = ["cat", "sleeps", "The", "a", "dog", "runs", "the"]  # most frequent first
    assert itos[:2] == ["<pad>", "<unk>"] and sorted(itos[2:9]) == sorted(trained)
    assert itos[9:] == ["berlin", "fish"]  # "<unk>" of the file is no word
    assert est.vocabulary_.lowercase_fallback
    assert est.n_word_vectors_ == 7  # The (via "the"), the, cat, dog, runs, berlin, fish
    assert not hasattr(est, "_pending_word_vectors")
    assert est.word_vectors is not None and isinstance(est.word_vectors, Path)


def test_rows_equal_the_vectors_after_a_frozen_fit(frozen):
    est, _ = frozen
    table = _table(est)
    rows = _vector_rows(est)
    assert len(rows) == est.n_word_vectors_
    for i, vec in rows.items():
        np.testing.assert_array_equal(table[i], vec)
    assert not table[0].any()  # padding
    emb = est.module_.encoder.embedding
    assert emb.is_frozen.sum().item() == len(rows)
    # Adam keeps no state for the frozen rows: they are not parameters.
    assert emb.trainable_weight.shape == (len(est.vocabulary_) - len(rows), DIM)


def test_unseen_word_with_a_vector_gets_its_own_id_and_vector(frozen):
    est, _ = frozen
    vocab = est.vocabulary_
    ids = vocab.encode(["berlin", "Berlin", "FISH", "zebra"]).tolist()
    assert ids[0] == ids[1] == vocab.stoi["berlin"] and ids[2] == vocab.stoi["fish"]
    assert ids[3] == vocab.unk_id
    table = _table(est)
    np.testing.assert_array_equal(table[ids[0]], VEC["berlin"])
    # Through the network, the unseen word reads as its vector, not as <unk>.
    inputs = est.export_inputs([["berlin"]])["inputs"]
    assert inputs.tolist() == [[vocab.stoi["berlin"]]]


def test_lowercase_fallback_initialises_cased_training_words(frozen):
    est, _ = frozen
    table = _table(est)
    stoi = est.vocabulary_.stoi
    np.testing.assert_array_equal(table[stoi["The"]], VEC["the"])
    np.testing.assert_array_equal(table[stoi["the"]], VEC["the"])


def test_without_freezing_the_vectors_start_the_rows_and_then_train():
    est = quiet_fit(_tagger(max_epochs=1), X, Y)
    assert "frozen_embeddings" not in est._network_config_["encoder"]
    assert isinstance(est.module_.encoder.embedding, torch.nn.Embedding)
    table, stoi = _table(est), est.vocabulary_.stoi
    assert not np.array_equal(table[stoi["cat"]], VEC["cat"])  # trained
    assert np.abs(table[stoi["cat"]] - VEC["cat"]).max() < 0.1  # from the vector
    np.testing.assert_array_equal(table[stoi["berlin"]], VEC["berlin"])  # never in a batch


def test_embedding_dim_must_match():
    with pytest.raises(ValueError, match=f"6 dimensions but embedding_dim=4.*embedding_dim={DIM}"):
        _tagger(embedding_dim=4).fit(X, Y)


def test_characters_or_numbers_are_refused():
    with pytest.raises(ValueError, match="word_vectors needs X to hold token lists.*strings"):
        _tagger().fit(["abc", "de"], [list("xyx"), list("xy")])
    series = [np.zeros((3, 2), np.float32), np.ones((2, 2), np.float32)]
    with pytest.raises(ValueError, match="word_vectors needs X to hold token lists.*numeric"):
        _tagger().fit(series, [[0, 1, 0], [1, 0]])


def test_freeze_without_vectors_changes_nothing():
    a = quiet_fit(_tagger(word_vectors=None, freeze_embeddings=True), X, Y)
    b = quiet_fit(_tagger(word_vectors=None), X, Y)
    assert a._network_config_ == b._network_config_
    assert torch.equal(a.module_.encoder.embedding.weight, b.module_.encoder.embedding.weight)


def _check_frozen(est, before=None):
    """The vector rows are bit-identical to the vectors; the other trained rows moved."""
    table = _table(est)
    for i, vec in _vector_rows(est).items():
        np.testing.assert_array_equal(table[i], vec)
    if before is None:
        return
    stoi = est.vocabulary_.stoi
    for word in ("a", "sleeps"):  # training words without a vector stay trainable
        assert not np.array_equal(table[stoi[word]], before[stoi[word]])


def test_frozen_rows_never_change(frozen, tmp_path):
    est, _ = frozen
    start = _table(est)
    quiet_partial_fit(est := pickle.loads(pickle.dumps(est)), X, Y)  # a copy: keep the fixture
    _check_frozen(est, start)
    est.set_params(warm_start=True, max_epochs=2)
    quiet_fit(est, X, Y)
    _check_frozen(est, start)
    # Saved and loaded, then trained on: still frozen.
    est.save(tmp_path / "m.skrnn")
    loaded = skrnn.load(tmp_path / "m.skrnn")
    assert loaded._network_config_ == est._network_config_
    before = _table(loaded)
    quiet_partial_fit(loaded, X, Y)
    _check_frozen(loaded, before)
    # Pickled, then trained on: still frozen.
    unpickled = pickle.loads(pickle.dumps(loaded))
    before = _table(unpickled)
    quiet_partial_fit(unpickled, X, Y)
    _check_frozen(unpickled, before)
    # A clone starts afresh (warm_start on an unfitted clone is a fresh fit), frozen too.
    fresh = quiet_fit(clone(est), X, Y)
    _check_frozen(fresh)


def test_changing_freeze_refuses_to_continue(frozen):
    est = pickle.loads(pickle.dumps(frozen[0]))
    est.set_params(freeze_embeddings=False, warm_start=True)
    with pytest.raises(ValueError, match="cannot continue training"):
        est.fit(X, Y)


def _same_predictions(a, b, X_new):
    pa, pb = a.predict_proba(X_new), b.predict_proba(X_new)
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    assert all(np.array_equal(x, y) for x, y in zip(a.predict(X_new), b.predict(X_new)))


X_NEW = [["Berlin", "fish", "runs"], ["the", "zebra"], ["FISH"]]


@pytest.mark.parametrize("freeze", [True, False])
def test_save_load_and_pickle_with_a_path(frozen, tmp_path, freeze):
    est = frozen[0] if freeze else quiet_fit(_tagger(word_vectors=frozen[1]), X, Y)
    est.save(tmp_path / "m.skrnn")
    loaded = skrnn.load(tmp_path / "m.skrnn")
    assert loaded.word_vectors == str(frozen[1])  # a path is stored as its str
    _same_predictions(est, loaded, X_NEW)
    _same_predictions(est, pickle.loads(pickle.dumps(est)), X_NEW)
    assert loaded.vocabulary_ == est.vocabulary_ and loaded.vocabulary_.lowercase_fallback


def test_save_load_and_pickle_with_a_mapping(tmp_path):
    est = quiet_fit(_tagger(freeze_embeddings=True), X, Y)
    with pytest.warns(UserWarning, match="stores word_vectors=None"):
        est.save(tmp_path / "m.skrnn")
    loaded = skrnn.load(tmp_path / "m.skrnn")
    assert loaded.word_vectors is None and loaded._fitted_params["word_vectors"] is None
    assert loaded.freeze_embeddings and loaded.n_word_vectors_ == est.n_word_vectors_
    _same_predictions(est, loaded, X_NEW)
    unpickled = pickle.loads(pickle.dumps(est))
    assert unpickled.word_vectors.keys() == VEC.keys()  # pickling keeps parameters as given
    _same_predictions(est, unpickled, X_NEW)
    before = _table(loaded)
    quiet_partial_fit(loaded, X, Y)  # the loaded model continues training, still frozen
    _check_frozen(loaded, before)


def test_tampered_frozen_mask_is_refused(frozen, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    est, _ = frozen
    est.save(tmp_path / "m.skrnn")
    with safe_open(str(tmp_path / "m.skrnn"), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(tmp_path / "m.skrnn")
    mask = tensors["module.encoder.embedding.is_frozen"].clone()
    mask[0] = True  # padding frozen, and one row too many
    tensors["module.encoder.embedding.is_frozen"] = mask
    save_file(tensors, tmp_path / "bad.skrnn", metadata=metadata)
    with pytest.raises(ValueError, match="not a valid skrnn model file.*frozen rows"):
        skrnn.load(tmp_path / "bad.skrnn")
    # The vocabulary's fallback flag must be a bool.
    assert '"lowercase_fallback": true' in metadata["skrnn"]
    edited = {**metadata, "skrnn": metadata["skrnn"].replace('"lowercase_fallback": true',
                                                             '"lowercase_fallback": 1')}
    save_file(load_file(tmp_path / "m.skrnn"), tmp_path / "bad2.skrnn", metadata=edited)
    with pytest.raises(ValueError, match="malformed Vocabulary.*must be a bool"):
        skrnn.load(tmp_path / "bad2.skrnn")


def test_partly_frozen_embedding_module():
    from skrnn.modules import PartlyFrozenEmbedding

    torch.manual_seed(0)
    emb = PartlyFrozenEmbedding(6, 3, 2)
    emb.set_frozen_rows([4, 2])
    values = torch.arange(18, dtype=torch.float32).view(6, 3)
    emb.set_rows(torch.arange(1, 6), values[1:])
    table = emb.weight.detach()
    assert torch.equal(table[1:], values[1:]) and not table[0].any()
    ids = torch.tensor([[0, 2, 3], [4, 5, 1]])
    out = emb(ids)
    assert torch.equal(out, table[ids])
    out.sum().backward()
    # Only the trainable rows that were read get a gradient (padding none).
    assert emb.trainable_weight.grad[0].abs().sum() == 0
    assert emb.trainable_weight.grad[1:].abs().sum() > 0
    assert [name for name, _ in emb.named_parameters()] == ["trainable_weight"]
    with pytest.raises(ValueError, match="2 distinct rows other than 0"):
        emb.set_frozen_rows([0, 3])
    with pytest.raises(ValueError, match="n_frozen must be in"):
        PartlyFrozenEmbedding(3, 2, 3)


def test_torchscript_export_reads_the_frozen_rows(frozen):
    est, _ = frozen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation warning
        module = est.to_torchscript()
    inputs = est.export_inputs(X_NEW)
    out = module(*map(torch.from_numpy, inputs.values()))
    out = out[0] if isinstance(out, tuple) else out
    for i, proba in enumerate(est.predict_proba(X_NEW)):
        np.testing.assert_allclose(out[i, :len(proba)].numpy(), proba, atol=1e-5)


def test_grid_search_over_freeze_embeddings_on_plain_lists():
    search = GridSearchCV(_tagger(max_epochs=1), {"freeze_embeddings": [False, True]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, Y)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    frozen_config = search.best_estimator_._network_config_["encoder"]
    assert ("frozen_embeddings" in frozen_config) == search.best_params_["freeze_embeddings"]


def test_vectors_help_on_words_never_seen_in_training():
    """Test words occur only in the vectors, next to the training words of their class."""
    rng = np.random.RandomState(0)
    dim, n_words = 16, 12
    centers = {"A": rng.randn(dim) * 2, "B": rng.randn(dim) * 2}
    vectors, words = {}, {"train": {"A": [], "B": []}, "test": {"A": [], "B": []}}
    for cls in "AB":
        for part in ("train", "test"):
            for k in range(n_words):
                word = f"{part}{cls.lower()}{k}"
                vectors[word] = centers[cls] + 0.3 * rng.randn(dim)
                words[part][cls].append(word)

    def data(part, n):
        X_, y_ = [], []
        for _ in range(n):
            labels = list(rng.choice(["A", "B"], size=rng.randint(3, 7)))
            X_.append([words[part][c][rng.randint(n_words)] for c in labels])
            y_.append(labels)
        return X_, y_

    X_train, y_train = data("train", 150)
    X_test, y_test = data("test", 60)
    params = dict(hidden_size=16, embedding_dim=dim, char_embedding_dim=None, max_epochs=8,
                  early_stopping=False, random_state=0, device="cpu", dropout=0.0)
    plain = quiet_fit(SequenceTagger(**params), X_train, y_train)
    with_vectors = quiet_fit(SequenceTagger(word_vectors=vectors, freeze_embeddings=True,
                                            **params), X_train, y_train)
    plain_score = plain.score(X_test, y_test)
    vectors_score = with_vectors.score(X_test, y_test)
    assert vectors_score > 0.9 and vectors_score > plain_score + 0.2, (vectors_score, plain_score)


def _ddp_fit():
    """A frozen fit with weight decay; run on each rank by torchrun, and in this process."""
    est = quiet_fit(_tagger(freeze_embeddings=True, weight_decay=0.1), X, Y)
    return {"table": _table(est), "frozen": {i: _table(est)[i] for i in _vector_rows(est)},
            "expected": _vector_rows(est)}


def test_data_parallel_training_keeps_rows_frozen(tmp_path):
    """Under torchrun (2 CPU processes), both ranks end with the same table, vectors intact."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           os.path.abspath(__file__), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [pickle.loads((tmp_path / f"rank{r}.pkl").read_bytes()) for r in range(2)]
    np.testing.assert_array_equal(ranks[0]["table"], ranks[1]["table"])
    for seen in ranks:
        assert seen["frozen"].keys() == seen["expected"].keys()
        for i, vec in seen["expected"].items():
            np.testing.assert_array_equal(seen["frozen"][i], vec)


if __name__ == "__main__":  # a torchrun worker
    _out = _ddp_fit()
    Path(sys.argv[1], f"rank{os.environ['RANK']}.pkl").write_bytes(pickle.dumps(_out))
