"""Tests for skrnn.persistence (est.save / skrnn.load) and for pickling."""

import io
import json
import pathlib
import pickle

import joblib
import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, same_weights, weights
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from sklearn.exceptions import NotFittedError

import skrnn
from skrnn import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn.persistence import FORMAT_VERSION

TINY = dict(hidden_size=8, embedding_dim=8, max_epochs=2, device="cpu")
NAMES = ["tagger", "lm", "clf", "reg"]


def make_data(name):
    """Tiny (X, y) for each estimator; y is None for the language model."""
    rng = np.random.RandomState(0)
    words = ["the", "a", "dog", "cat", "runs", "eats", "fish"]
    X = [[words[i] for i in rng.randint(len(words), size=rng.randint(2, 7))] for _ in range(24)]
    if name == "tagger":
        return X, [["D" if w in ("the", "a") else "W" for w in x] for x in X]
    if name == "lm":
        return [" ".join(x) for x in X], None
    if name == "clf":
        # Numeric series (n_samples, n_steps) with int labels: the numeric input path.
        series = rng.randn(24, 5).astype(np.float32)
        return series, np.arange(24) % 3
    return X, np.c_[[len(x) for x in X], [x.count("the") for x in X]].astype(float)


def make_estimator(name):
    """An unfitted tiny estimator; together they cover char features, class_weight and a
    RandomState instance as random_state."""
    if name == "tagger":
        return SequenceTagger(char_embedding_dim=4, char_filters=4, random_state=0, **TINY)
    if name == "lm":
        return LanguageModel(num_layers=1, cell="gru", random_state=0, **TINY)
    if name == "clf":
        return SequenceClassifier(class_weight={0: 1.0, 1: 2.0, 2: 0.5}, random_state=0,
                                  **TINY)
    return SequenceRegressor(random_state=np.random.RandomState(3), **TINY)


def fit(name):
    return quiet_fit(make_estimator(name), *make_data(name))


def continue_training(est, name, how):
    X, y = make_data(name)
    if how == "partial_fit":
        return quiet_partial_fit(est, X, y)
    return quiet_fit(est.set_params(warm_start=True, max_epochs=1), X, y)


@pytest.fixture(scope="module")
def fitted():
    """One tiny fitted estimator per kind (module-scoped; tests must not modify them)."""
    return {name: fit(name) for name in NAMES}


def outputs(est, name):
    """Everything the estimator computes, as a dict of arrays / lists."""
    X, y = make_data(name)
    out = {"score": est.score(X, y) if y is not None else est.score(X)}
    if name == "lm":
        out["sample"] = est.sample(3, max_length=10, random_state=7)
        out["perplexity"] = est.perplexity(X)
        out["proba"] = est.predict_proba(["the d"])
    elif name == "tagger":
        out["predict"] = est.predict(X)
        out["proba"] = est.predict_proba(X)
    else:
        out["predict"] = est.predict(X)
    if name == "clf":
        out["proba"] = est.predict_proba(X)
        out["decision"] = est.decision_function(X)
    return out


def assert_same_outputs(a, b):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, list) and x and isinstance(x[0], np.ndarray):
            assert len(x) == len(y)
            for u, v in zip(x, y):
                np.testing.assert_array_equal(u, v)
                assert u.dtype == v.dtype
        else:
            np.testing.assert_array_equal(x, y)


def assert_same_training_state(a, b):
    """Weights, optimizer state and random state are bit-identical."""
    assert same_weights(weights(a), weights(b))
    oa, ob = a.optimizer_.state_dict(), b.optimizer_.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    assert oa["state"].keys() == ob["state"].keys() and len(oa["state"]) > 0
    for i in oa["state"]:
        for k, v in oa["state"][i].items():
            np.testing.assert_array_equal(v.numpy(), ob["state"][i][k].numpy())
    ra, rb = a._random_state.get_state(), b._random_state.get_state()
    np.testing.assert_array_equal(ra[1], rb[1])
    assert ra[2:] == rb[2:]
    assert a.n_iter_ == b.n_iter_ and a.loss_curve_ == b.loss_curve_


def saved(est, tmp_path, name="model.skrnn"):
    path = tmp_path / name
    est.save(path)
    return path


def read_file(path):
    """(JSON document, tensors) of a saved file, for crafting tampered copies."""
    blob = pathlib.Path(path).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    metadata = json.loads(blob[8:8 + n])["__metadata__"]
    return json.loads(metadata["skrnn"]), st_load(blob)


def write_file(path, doc, tensors):
    metadata = {"skrnn": doc if isinstance(doc, str) else json.dumps(doc)}
    pathlib.Path(path).write_bytes(st_save(tensors, metadata=metadata))
    return path


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_load_gives_identical_outputs(fitted, name, tmp_path):
    """A loaded estimator predicts, scores and samples bit-identically to the saved one."""
    est = fitted[name]
    loaded = skrnn.load(saved(est, tmp_path))
    assert type(loaded) is type(est)
    assert_same_outputs(outputs(loaded, name), outputs(est, name))


@pytest.mark.parametrize("name", NAMES)
def test_load_restores_params_and_fitted_attributes(fitted, name, tmp_path):
    """Parameters and fitted attributes come back with their values and types."""
    est = fitted[name]
    loaded = skrnn.load(saved(est, tmp_path))
    pa, pb = est.get_params(), loaded.get_params()
    rs_a, rs_b = pa.pop("random_state"), pb.pop("random_state")
    assert pa == pb
    if isinstance(rs_a, np.random.RandomState):
        np.testing.assert_array_equal(rs_a.get_state()[1], rs_b.get_state()[1])
        # One object as both parameter and internal state, as in the original.
        assert loaded._random_state is loaded.random_state
    else:
        assert rs_a == rs_b
    for attr in ("input_kind_", "history_", "loss_curve_", "validation_scores_", "n_iter_",
                 "_network_config_", "vocabulary_", "char_vocabulary_"):
        assert getattr(loaded, attr) == getattr(est, attr), attr
    if est.vocabulary_ is not None:
        np.testing.assert_array_equal(loaded.vocabulary_.counts, est.vocabulary_.counts)
    for attr in ("classes_", "_class_weights", "y_mean_", "y_scale_"):
        if hasattr(est, attr):
            np.testing.assert_array_equal(getattr(loaded, attr), getattr(est, attr))
            assert getattr(loaded, attr).dtype == getattr(est, attr).dtype
    assert loaded.device_ == torch.device("cpu") and not loaded.module_.training


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("name", NAMES)
def test_loaded_estimator_continues_training_identically(name, how, tmp_path):
    """Training a loaded estimator further matches training the original further, bit for bit."""
    original = fit(name)
    loaded = skrnn.load(saved(original, tmp_path))
    continue_training(original, name, how)
    continue_training(loaded, name, how)
    assert_same_training_state(loaded, original)


def test_save_accepts_str_and_path(fitted, tmp_path):
    """save takes a str or a pathlib.Path, returns it, and load reads either."""
    est = fitted["tagger"]
    as_str = str(tmp_path / "a.skrnn")
    assert est.save(as_str) == as_str
    assert isinstance(skrnn.load(pathlib.Path(as_str)), SequenceTagger)
    as_path = tmp_path / "b.safetensors"
    assert est.save(as_path) == str(as_path)
    assert isinstance(skrnn.load(str(as_path)), SequenceTagger)


def test_saved_file_has_ordinary_permissions(fitted, tmp_path):
    """The saved file gets the same permissions as any new file, and no temporary file is left."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    path = saved(fitted["reg"], tmp_path)
    assert path.stat().st_mode == plain.stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skrnn", "plain"]


def test_load_leaves_global_torch_rng_alone(fitted, tmp_path):
    """Loading (which builds a network) does not advance the caller's torch random state."""
    path = saved(fitted["lm"], tmp_path)
    before = torch.get_rng_state()
    skrnn.load(path)
    assert torch.equal(torch.get_rng_state(), before)


def test_load_never_unpickles(fitted, tmp_path, monkeypatch):
    """load works with pickle and torch.load disabled: it never calls them."""
    path = saved(fitted["clf"], tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("load must not unpickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert isinstance(skrnn.load(path), SequenceClassifier)


def test_cuda_saved_model_loads_on_cpu(fitted, tmp_path):
    """A model saved with device="cuda" loads onto the CPU (with a warning) without CUDA."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fallback is for CPU-only machines")
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    doc["params"]["device"] = "cuda"
    path = write_file(tmp_path / "cuda.skrnn", doc, tensors)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        loaded = skrnn.load(path)
    assert loaded.device_.type == "cpu"
    X, _ = make_data("tagger")
    assert_same_outputs({"p": loaded.predict_proba(X)}, {"p": fitted["tagger"].predict_proba(X)})


# -- saving errors --------------------------------------------------------------------------


def test_save_unfitted_raises(tmp_path):
    """Saving an unfitted estimator raises NotFittedError and writes nothing."""
    with pytest.raises(NotFittedError):
        SequenceTagger().save(tmp_path / "m.skrnn")
    assert not (tmp_path / "m.skrnn").exists()


def test_save_unsupported_attribute_names_it(fitted, tmp_path):
    """An attribute of an unsupported type is a TypeError naming it; an existing file survives."""
    path = saved(fitted["reg"], tmp_path)
    est = skrnn.load(path)
    est.loss_curve_ = [*est.loss_curve_, object()]
    with pytest.raises(TypeError, match="attribute 'loss_curve_'.*builtins.object"):
        est.save(path)
    assert isinstance(skrnn.load(path), SequenceRegressor)
    assert [p.name for p in tmp_path.iterdir()] == ["model.skrnn"]


def test_save_refuses_undeclared_attributes(fitted, tmp_path):
    """An attribute the class does not declare would make load refuse the file: save refuses it
    first (every file save writes must load), and the existing file survives."""
    path = saved(fitted["reg"], tmp_path)
    est = skrnn.load(path)
    est.custom_thing_ = 3
    with pytest.raises(TypeError, match="'custom_thing_'.*_fitted_attributes"):
        est.save(path)
    assert isinstance(skrnn.load(path), SequenceRegressor)
    assert [p.name for p in tmp_path.iterdir()] == ["model.skrnn"]


# -- malicious and broken files -------------------------------------------------------------


class Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_file_is_refused(tmp_path):
    """A pickle with a code-running payload is refused and the payload never runs."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.skrnn"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="not a valid skrnn model file"):
        skrnn.load(path)
    buffer = io.BytesIO()
    torch.save({"module_": Payload(marker)}, buffer)  # the torch.save zip flavour
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="not a valid skrnn model file"):
        skrnn.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, reason", [
    (b"", "too short"),
    (b"\x00" * 3, "too short"),
    (bytes(range(256)) * 8, "not a safetensors file"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!", "header is not JSON"),
])
def test_garbage_bytes_are_refused(tmp_path, content, reason):
    """Bytes that are not a safetensors file give a clear ValueError."""
    path = tmp_path / "junk.skrnn"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"not a valid skrnn model file: .*{reason}"):
        skrnn.load(path)


def test_truncated_file_is_refused(fitted, tmp_path):
    """A file cut short (a partial download) is refused."""
    path = saved(fitted["tagger"], tmp_path)
    blob = path.read_bytes()
    for cut in (len(blob) // 2, len(blob) - 1, 20):
        path.write_bytes(blob[:cut])
        with pytest.raises(ValueError, match="not a valid skrnn model file"):
            skrnn.load(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    """A safetensors file from another library is refused as such."""
    path = tmp_path / "other.safetensors"
    path.write_bytes(st_save({"weight": torch.zeros(2, 3)}, metadata={"format": "pt"}))
    with pytest.raises(ValueError, match="without skrnn's metadata"):
        skrnn.load(path)


def test_missing_path_and_directory(tmp_path):
    """A missing path is FileNotFoundError, a directory IsADirectoryError."""
    with pytest.raises(FileNotFoundError, match="No such file"):
        skrnn.load(tmp_path / "nope.skrnn")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        skrnn.load(tmp_path)


def test_newer_format_version_is_refused(fitted, tmp_path):
    """A file from a newer skrnn asks the user to upgrade."""
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    doc["format_version"] = FORMAT_VERSION + 1
    path = write_file(tmp_path / "new.skrnn", doc, tensors)
    with pytest.raises(ValueError, match=r"written by a newer skrnn.*Upgrade skrnn"):
        skrnn.load(path)


def _edit_estimator(doc, tensors):
    doc["estimator"] = "os.system"


def _edit_unknown_tag(doc, tensors):
    doc["attributes"]["history_"] = {"$type": "pickle", "data": "gASVAAAA"}


def _edit_unknown_param(doc, tensors):
    doc["params"]["__class__"] = "x"


def _edit_bad_param_value(doc, tensors):
    doc["params"]["learning_rate"] = -1.0


def _edit_method_attribute(doc, tensors):
    doc["attributes"]["predict"] = 1


def _edit_dunder_attribute(doc, tensors):
    doc["attributes"]["__class__"] = "SequenceTagger"


def _edit_class_setting(doc, tensors):
    # An empty constraints table would switch off parameter validation after load.
    doc["attributes"]["_parameter_constraints"] = {}


def _edit_wrong_shape(doc, tensors):
    tensors["module.encoder.embedding.weight"] = torch.zeros(3, 3)


def _edit_missing_tensor(doc, tensors):
    del tensors["module.encoder.embedding.weight"]


def _edit_extra_module_tensor(doc, tensors):
    tensors["module.evil"] = torch.zeros(1)


def _edit_unreferenced_tensor(doc, tensors):
    tensors["payload"] = torch.zeros(1)


def _edit_missing_array(doc, tensors):
    del tensors["array.0"]


def _edit_inconsistent_config(doc, tensors):
    # (Changing "params" alone is what set_params after fit does: that file loads.)
    doc["attributes"]["_fitted_params"]["hidden_size"] = 9


def _edit_huge_network(doc, tensors):
    # Params and stored config agree: only the weights check stops a 100 GB allocation.
    doc["params"]["hidden_size"] = 100_000
    doc["attributes"]["_fitted_params"]["hidden_size"] = 100_000
    doc["attributes"]["_network_config_"]["encoder"]["hidden_size"] = 100_000


def _edit_optimizer_shape(doc, tensors):
    tensors["optimizer.0.exp_avg"] = torch.zeros(7, 7, 7)


def _edit_optimizer_param(doc, tensors):
    doc["optimizer"]["state"]["items"][0][0] = 10_000


def _edit_vocabulary(doc, tensors):
    itos = doc["attributes"]["vocabulary_"]["itos"]
    itos[-1] = itos[-2]


def _edit_random_state(doc, tensors):
    doc["attributes"]["_random_state"]["state"]["items"][0] = "PCG64"


def _edit_input_kind(doc, tensors):
    doc["attributes"]["input_kind_"] = "images"


def _edit_not_json(doc, tensors):
    return "{not json"


def _edit_nested(doc, tensors):
    doc["attributes"]["history_"] = "NESTED"
    return json.dumps(doc).replace('"NESTED"', "[" * 100_000 + "]" * 100_000)


TAMPERING = [
    (_edit_estimator, "not a known skrnn estimator"),
    (_edit_unknown_tag, "unknown type 'pickle'"),
    (_edit_unknown_param, "has no parameter"),
    (_edit_bad_param_value, "learning_rate"),
    (_edit_method_attribute, "attribute 'predict'"),
    (_edit_dunder_attribute, "attribute '__class__'"),
    (_edit_class_setting, "attribute '_parameter_constraints'"),
    (_edit_wrong_shape, "has shape \\(3, 3\\)"),
    (_edit_missing_tensor, "lacks the network weights"),
    (_edit_extra_module_tensor, "unexpected network weights"),
    (_edit_unreferenced_tensor, "nothing refers to"),
    (_edit_missing_array, "does not hold"),
    (_edit_inconsistent_config, "imply the network"),
    (_edit_huge_network, "needs shape"),
    (_edit_optimizer_shape, "optimizer state 'exp_avg'"),
    (_edit_optimizer_param, "optimizer state names parameter"),
    (_edit_vocabulary, "duplicate tokens"),
    (_edit_random_state, "malformed RandomState"),
    (_edit_input_kind, "input_kind_' is 'images', expected one of"),
    (_edit_not_json, "metadata is not valid JSON"),
    # Refused before parsing: 100,000 brackets would cost ~6 MB parsed (and recursion).
    (_edit_nested, "holds 1003.. JSON values in"),
]


@pytest.mark.parametrize("edit, reason", TAMPERING, ids=[e.__name__[6:] for e, _ in TAMPERING])
def test_tampered_file_is_refused(fitted, tmp_path, edit, reason):
    """A crafted or inconsistent file fails with a ValueError that says what is wrong."""
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    doc = edit(doc, tensors) or doc
    path = write_file(tmp_path / "tampered.skrnn", doc, tensors)
    with pytest.raises(ValueError, match=f"is not a valid skrnn model file: .*{reason}"):
        skrnn.load(path)


def test_untampered_rewrite_still_loads(fitted, tmp_path):
    """The read/write helpers of the tampering tests alone do not break a file."""
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    assert isinstance(skrnn.load(write_file(tmp_path / "same.skrnn", doc, tensors)),
                      SequenceTagger)


# -- pickling -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pickle_and_joblib_round_trip(fitted, name, tmp_path):
    """pickle and joblib copies give identical outputs."""
    est = fitted[name]
    expected = outputs(est, name)
    assert_same_outputs(outputs(pickle.loads(pickle.dumps(est)), name), expected)
    joblib.dump(est, tmp_path / "m.joblib")
    assert_same_outputs(outputs(joblib.load(tmp_path / "m.joblib"), name), expected)


@pytest.mark.parametrize("name", ["tagger", "lm"])
def test_unpickled_estimator_continues_training_identically(name):
    """An unpickled estimator trains on exactly as the original does."""
    original = fit(name)
    copy = pickle.loads(pickle.dumps(original))
    continue_training(original, name, "partial_fit")
    continue_training(copy, name, "partial_fit")
    assert_same_training_state(copy, original)


def test_pickled_weights_are_plain_tensor_bytes(fitted):
    """Pickled state holds the network as torch.save bytes, with no live torch objects."""
    state = fitted["clf"].__getstate__()
    assert isinstance(state["_module_state"], bytes)
    assert isinstance(state["_optimizer_state"], bytes)
    assert "module_" not in state and "optimizer_" not in state and "device_" not in state


def test_setstate_refuses_code_in_weight_bytes(fitted, tmp_path):
    """__setstate__ reads weights with weights_only=True: a payload in them never runs."""
    marker = tmp_path / "pwned"
    state = fitted["tagger"].__getstate__()
    buffer = io.BytesIO()
    torch.save({"encoder.embedding.weight": Payload(marker)}, buffer)
    state["_module_state"] = buffer.getvalue()
    est = SequenceTagger.__new__(SequenceTagger)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        est.__setstate__(state)
    assert not marker.exists()


# -- the value encoding ---------------------------------------------------------------------


def test_encoding_round_trips_every_supported_type():
    """Each supported value comes back equal, with its exact type and dtype, through JSON."""
    from skrnn.persistence import _Decoder, _Encoder

    values = [
        None, True, 3, -2.5, float("inf"), "é", [1, [2]], (1, "a", (None,)),
        {"a": 1, "$b": 2}, {0: 1.0, ("t", 2): None}, np.arange(4, dtype=">u4"),
        np.array([2**64 - 1], dtype=np.uint64), np.zeros((0, 3), dtype=np.float16),
        np.array(["ab", "c"]), np.array([[1, "x"], [None, 2.5]], dtype=object),
        np.float32(1.1), np.int8(-3), np.bool_(True), np.str_("s"), torch.device("cpu"),
        skrnn.Vocabulary(["b", "a"], bos_eos=True, counts=[5, 2]),
    ]
    encoder = _Encoder()
    encoded = json.loads(json.dumps([encoder.encode(v, "x") for v in values], allow_nan=False))
    decoder = _Decoder(encoder.tensors)
    for value, enc in zip(values, encoded):
        back = decoder.decode(enc, "x")
        assert type(back) is type(value)
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype.newbyteorder("=") and back.shape == value.shape
            np.testing.assert_array_equal(back, value)
        elif isinstance(value, skrnn.Vocabulary):
            assert back == value and back.bos_eos == value.bos_eos
            np.testing.assert_array_equal(back.counts, value.counts)
        else:
            assert back == value
    assert decoder.used == set(encoder.tensors)
    rng = np.random.RandomState(5)
    rng.randn()  # a cached Gaussian is part of the state too
    back = _Decoder(encoder.tensors).decode(json.loads(json.dumps(encoder.encode(rng, "x"))), "x")
    assert back.randn(3).tolist() == rng.randn(3).tolist()
