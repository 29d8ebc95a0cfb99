"""Round 2 of persistence hardening: every saved model loads, hostile files stay bounded.

- Any state reachable through public calls (fit, partial_fit, set_params, warm_start,
  Ctrl-C) saves and loads to identical outputs (a hypothesis property).
- A file may set only the attributes its class declares, each of the declared type.
- What a file makes ``load`` allocate is bounded by the file's size.
"""

import json
import tracemalloc
import warnings

import numpy as np
import pytest
import test_persistence as _persistence
from _helpers import quiet_fit, toy_tagging_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_persistence import assert_same_outputs, read_file, saved, write_file

import skrnn
from skrnn import Seq2Seq, SequenceTagger
from skrnn import training as _training

NAMES = ["tagger", "lm", "clf", "reg", "s2s"]

# test_persistence's helpers know its four estimators; "s2s" (a Seq2Seq) is added here.


def make_data(name):
    """Tiny (X, y) per estimator; for "s2s" words and their reversals, some empty."""
    if name != "s2s":
        return _persistence.make_data(name)
    rng = np.random.RandomState(0)
    X = ["".join(rng.choice(list("abcde"), rng.randint(1, 6))) for _ in range(24)]
    return X, ["" if i % 6 == 0 else x[::-1] for i, x in enumerate(X)]


def make_estimator(name):
    """An unfitted tiny estimator; the Seq2Seq has additive attention and beam search."""
    if name != "s2s":
        return _persistence.make_estimator(name)
    return Seq2Seq(attention="bahdanau", beam_size=2, random_state=0, **_persistence.TINY)


def fit(name):
    return quiet_fit(make_estimator(name), *make_data(name))


def outputs(est, name):
    """Everything the estimator computes, as a dict of arrays / lists."""
    if name != "s2s":
        return _persistence.outputs(est, name)
    X, y = make_data(name)
    return {"score": est.score(X, y), "predict": est.predict(X),
            "log_likelihood": est.log_likelihood(X, y),
            "attention": est.attention_weights(X[:5], y[:5]),
            "sample": est.sample(X, random_state=7)}


@pytest.fixture(scope="module")
def fitted():
    return {name: fit(name) for name in NAMES}


def tampered(fitted, tmp_path, name, edit):
    doc, tensors = read_file(saved(fitted[name], tmp_path))
    doc = edit(doc, tensors) or doc
    return write_file(tmp_path / "tampered.skrnn", doc, tensors)


# -- every model that can be saved loads -----------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("param, value", [("dropout", 0.9), ("hidden_size", 3),
                                          ("num_layers", 2), ("cell", "gru"),
                                          ("input_dropout", 0.3)])
def test_set_params_after_fit_saves_and_loads_as_it_was(fitted, tmp_path, name, param, value):
    """set_params after fit: the file keeps the new parameters and the fitted network; load
    returns both as they were (the network still predicts as fitted)."""
    est = fitted[name]
    expected = outputs(est, name)
    changed = skrnn.load(saved(est, tmp_path, "a.skrnn")).set_params(**{param: value})
    loaded = skrnn.load(saved(changed, tmp_path, "b.skrnn"))
    assert loaded.get_params()[param] == value
    assert loaded._network_config_ == est._network_config_
    assert_same_outputs(outputs(loaded, name), expected)


class _Interrupted:
    """Patch training so the next epoch stops with KeyboardInterrupt after one batch."""

    def __init__(self, monkeypatch):
        original = _training.train_epoch

        def train_epoch(module, optimizer, batches, loss_fn, **kwargs):
            monkeypatch.setattr(_training, "train_epoch", original)  # once

            def first_then_interrupt():
                yield batches[0]
                raise KeyboardInterrupt

            return original(module, optimizer, first_then_interrupt(), loss_fn,
                            **{**kwargs, "progress": False})

        monkeypatch.setattr(_training, "train_epoch", train_epoch)


ACTIONS = st.lists(
    st.sampled_from(["fit", "partial_fit", "warm_start", "interrupt", "set_dropout",
                     "set_hidden", "set_lr", "set_max_epochs"]),
    min_size=1, max_size=4,
)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_reachable_state_saves_and_loads(name, actions, tmp_path, monkeypatch):
    """Property: whatever sequence of public calls led to a fitted estimator, it saves, loads,
    and the loaded one computes exactly what it computes."""
    est = make_estimator(name).set_params(max_epochs=1)
    X, y = make_data(name)
    args = (X,) if y is None else (X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for action in actions:
            fitted_now = hasattr(est, "module_")
            try:
                if action == "fit":
                    est.set_params(warm_start=False).fit(*args)
                elif action == "partial_fit":
                    est.partial_fit(*args)
                elif action == "warm_start":
                    est.set_params(warm_start=True).fit(*args)
                elif action == "interrupt":
                    _Interrupted(monkeypatch)
                    est.partial_fit(*args) if fitted_now else est.fit(*args)
                elif action == "set_dropout":
                    est.set_params(dropout=0.7)
                elif action == "set_hidden":
                    est.set_params(hidden_size=5)
                elif action == "set_lr":
                    est.set_params(learning_rate=0.05)
                else:
                    est.set_params(max_epochs=2)
            except ValueError as exc:
                # Continuing after a shape change is refused by design (and says so).
                assert "shape parameters changed" in str(exc)
                est.set_params(warm_start=False)
    if not hasattr(est, "module_"):
        est.fit(*args) if y is None else quiet_fit(est, X, y)
    loaded = skrnn.load(saved(est, tmp_path, "state.skrnn"))
    assert loaded.get_params() == est.get_params() or name == "reg"  # a RandomState param
    assert_same_outputs(outputs(loaded, name), outputs(est, name))


# -- attributes: only the declared ones, of the declared types ---------------------------------


def _set(name, value):
    def edit(doc, tensors):
        doc["attributes"][name] = value
    return edit


def _drop(name):
    def edit(doc, tensors):
        del doc["attributes"][name]
    return edit


BAD_ATTRIBUTES = [
    # (estimator, edit, what the message says)
    ("tagger", _set("extra_", 1), "'extra_', which SequenceTagger does not have"),
    ("tagger", _set("classes_", ["D", "W"]), "'classes_' is a list, expected"),
    ("tagger", _set("classes_", {"$type": "ndarray", "dtype": "object", "shape": [2],
                                 "items": ["D", 1]}), "labels of types"),
    ("tagger", _set("classes_", {"$type": "ndarray", "dtype": "<U1", "shape": [2],
                                 "items": ["W", "D"]}), "not sorted and unique"),
    ("tagger", _set("n_iter_", -1), "'n_iter_' is -1, expected an int >= 0"),
    ("tagger", _set("n_iter_", "2"), "'n_iter_' is '2'"),
    ("tagger", _set("history_", {"epoch": 1}), "'history_' is a dict, expected a list"),
    ("tagger", _set("history_", [{"epoch": "one"}]), "item 0 holds 'epoch' = str"),
    ("tagger", _set("loss_curve_", [0.5, "x"]), "item 1 is 'x'"),
    ("tagger", _set("best_validation_score_", [1.0]), "'best_validation_score_' is"),
    ("tagger", _set("vocabulary_", None), "'vocabulary_' is a NoneType, expected a Vocabulary"),
    ("tagger", _set("_random_state", 3), "'_random_state' is a int, expected RandomState"),
    ("tagger", _drop("classes_"), "lacks the fitted attribute 'classes_'"),
    ("clf", _drop("n_features_in_"), "lacks the fitted attribute 'n_features_in_'"),
    ("clf", _set("_class_weights", {"$type": "tuple", "items": [1.0, 2.0, 3.0]}),
     "'_class_weights' is a tuple"),
    ("clf", _set("vocabulary_", {"$type": "Vocabulary", "itos": ["<pad>", "<unk>"],
                                 "bos_eos": False, "counts": None}), "Vocabulary"),
    ("reg", _set("y_scale_", {"$type": "ndarray", "dtype": "object", "shape": [2],
                              "items": [1.0, -1.0]}), "'y_scale_' is an array of dtype object"),
    ("reg", _set("_y_1d", 1), "'_y_1d' is a int, expected bool"),
    ("lm", _set("classes_", None), "'classes_', which LanguageModel does not have"),
    ("s2s", _set("classes_", ["a"]), "'classes_', which Seq2Seq does not have"),
    ("s2s", _set("target_kind_", "numeric"), "'target_kind_' is 'numeric', expected one of"),
    ("s2s", _drop("target_kind_"), "lacks the fitted attribute 'target_kind_'"),
    ("s2s", _set("target_vocabulary_", None),
     "'target_vocabulary_' is a NoneType, expected Vocabulary"),
    ("s2s", _set("target_vocabulary_", ["<pad>", "<unk>", "<bos>", "<eos>", "a"]),
     "'target_vocabulary_' is a list, expected Vocabulary"),
    ("s2s", _drop("target_vocabulary_"), "lacks the fitted attribute 'target_vocabulary_'"),
    ("s2s", _set("output_length_ratio_", float("inf")),
     "'output_length_ratio_' is inf, expected a finite float"),
    ("s2s", _set("output_length_ratio_", "1.0"), "'output_length_ratio_' is '1.0'"),
    ("s2s", _drop("output_length_ratio_"), "lacks the fitted attribute 'output_length_ratio_'"),
    ("s2s", _set("longest_output_", -1), "'longest_output_' is -1, expected an int >= 0"),
    ("s2s", _set("longest_output_", 2.5), "'longest_output_' is 2.5, expected an int >= 0"),
    ("s2s", _set("vocabulary_", None), "'vocabulary_' is a NoneType, expected a Vocabulary"),
]


@pytest.mark.parametrize("name, edit, message", BAD_ATTRIBUTES,
                         ids=[f"{n}-{m[:30]}" for n, _, m in BAD_ATTRIBUTES])
def test_attribute_of_wrong_type_or_unknown_is_refused(fitted, tmp_path, name, edit, message):
    """A tampered attribute fails at load with a message naming it, not later in predict."""
    path = tampered(fitted, tmp_path, name, edit)
    with pytest.raises(ValueError, match="is not a valid skrnn model file: .*") as info:
        skrnn.load(path)
    assert message in str(info.value), str(info.value)


def _edit_target_vocabulary(edit):
    def edit_doc(doc, tensors):
        edit(doc["attributes"]["target_vocabulary_"], tensors)
    return edit_doc


def _without_bos_eos(vocabulary, tensors):
    # Same size (the output layer still fits), but no <bos> / <eos> to start and stop on.
    vocabulary["bos_eos"] = False
    vocabulary["itos"][2:4] = ["x1", "x2"]


def _more_output_tokens(vocabulary, tensors):
    import torch

    vocabulary["itos"].append("z")
    ref = vocabulary["counts"]["tensor"]
    tensors[ref] = torch.cat([tensors[ref], torch.zeros(1, dtype=tensors[ref].dtype)])


def _bos_as_eos(vocabulary, tensors):
    vocabulary["itos"][2] = "<eos>"


SEQ2SEQ_TAMPERING = [
    (_edit_target_vocabulary(_more_output_tokens), "imply the network"),
    (_edit_target_vocabulary(_bos_as_eos), "malformed Vocabulary"),
    (_edit_target_vocabulary(_without_bos_eos), "bos"),
    (_set("output_length_ratio_", -2.0), "output_length_ratio_"),
]


@pytest.mark.parametrize("edit, message", SEQ2SEQ_TAMPERING,
                         ids=["more_tokens", "bos_as_eos", "without_bos_eos", "negative_ratio"])
def test_seq2seq_tampered_outputs_are_refused(fitted, tmp_path, edit, message):
    """A Seq2Seq file whose output vocabulary or length rule was edited fails at load with a
    message naming it, not later in predict."""
    path = tampered(fitted, tmp_path, "s2s", edit)
    with pytest.raises(ValueError, match="is not a valid skrnn model file: .*") as info:
        skrnn.load(path)
    assert message in str(info.value), str(info.value)


def test_seq2seq_decoding_parameters_set_after_fit_save_and_load(fitted, tmp_path):
    """beam_size and max_output_length set after fit are kept by save / load: the loaded model
    decodes as the changed one, not as fitted."""
    X, _ = make_data("s2s")
    changed = skrnn.load(saved(fitted["s2s"], tmp_path, "a.skrnn")).set_params(
        beam_size=4, max_output_length=2)
    loaded = skrnn.load(saved(changed, tmp_path, "b.skrnn"))
    assert (loaded.beam_size, loaded.max_output_length) == (4, 2)
    assert loaded.predict(X) == changed.predict(X)
    assert all(len(p) <= 2 for p in loaded.predict(X))


def test_class_weights_of_wrong_length_are_refused(fitted, tmp_path):
    def edit(doc, tensors):
        import torch
        ref = doc["attributes"]["_class_weights"]["tensor"]
        tensors[ref] = torch.ones(5, dtype=torch.float64)
    path = tampered(fitted, tmp_path, "clf", edit)
    with pytest.raises(ValueError, match="one per entry of classes_"):
        skrnn.load(path)


# -- memory bounded by the file's size -----------------------------------------------------------


def _peak_while_loading(path):
    tracemalloc.start()
    try:
        try:
            skrnn.load(path)
            loaded = True
        except ValueError as exc:
            loaded = str(exc)
        return tracemalloc.get_traced_memory()[1], loaded
    finally:
        tracemalloc.stop()


def test_declared_string_width_cannot_amplify_memory(fitted, tmp_path):
    """The issue's file: a '<U999999' array of 500 short items (35 KB) made load allocate 2 GB.
    Now refused, having allocated little."""
    items = ["x"] * 500
    edit = _set("classes_", {"$type": "ndarray", "dtype": "<U999999", "shape": [500],
                             "items": items})
    path = tampered(fitted, tmp_path, "tagger", edit)
    peak, result = _peak_while_loading(path)
    assert "declares an array of 1999998000 bytes" in result
    assert peak < 20 * path.stat().st_size + (8 << 20)


def test_too_long_items_for_declared_width_are_refused(fitted, tmp_path):
    edit = _set("classes_", {"$type": "ndarray", "dtype": "<U1", "shape": [2],
                             "items": ["DD", "W"]})
    with pytest.raises(ValueError, match="longer than its dtype"):
        skrnn.load(tampered(fitted, tmp_path, "tagger", edit))


@pytest.mark.parametrize("filler", ["[],", "0,", "[[[[[[[["])
def test_json_that_would_grow_when_parsed_is_refused_before_parsing(fitted, tmp_path, filler):
    """3 MB of nested lists or tiny numbers would take 30-60x that once parsed: refused
    from the text, with little memory spent."""
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    doc["attributes"]["history_"] = "FILLER"
    text = json.dumps(doc).replace('"FILLER"', "[" + filler * (3_000_000 // len(filler)) + "]")
    path = write_file(tmp_path / "big.skrnn", text, tensors)
    peak, result = _peak_while_loading(path)
    assert "JSON values in" in result
    # Reading the file and regex-stripping its strings: a few copies of the text, no parse.
    assert peak < 6 * path.stat().st_size


def test_parsed_size_stays_proportional_to_the_file(fitted, tmp_path):
    """The densest JSON the size check lets through (many short numbers) parses to a bounded
    multiple of the file's size; this one is then a valid, long loss curve."""
    doc, tensors = read_file(saved(fitted["tagger"], tmp_path))
    n = 400_000
    doc["attributes"]["loss_curve_"] = [1.25] * n
    path = write_file(tmp_path / "long.skrnn", doc, tensors)
    peak, result = _peak_while_loading(path)
    assert result is True
    assert peak < 20 * path.stat().st_size


def test_unicode_edge_cases_survive_save_load_and_pickle(tmp_path):
    """Emoji, ZWJ sequences, combining marks, lone surrogates, NUL and RTL text as tokens,
    labels and characters go through fit / predict / save / load unchanged."""
    import pickle

    odd = ["👩‍👩‍👧", "é", "e\u0301", "\ud800", "a\x00b", "שלום", "\u202e", "<unk>", "<pad>"]
    X, y = toy_tagging_data(n=20)
    X = [[odd[i % len(odd)] if j == 0 else w for j, w in enumerate(s)] for i, s in enumerate(X)]
    y = [[odd[i % 3] if j == 0 else t for j, t in enumerate(s)] for i, s in enumerate(y)]
    est = quiet_fit(SequenceTagger(hidden_size=4, embedding_dim=4, char_embedding_dim=4,
                                   char_filters=4, max_epochs=1, random_state=0, device="cpu"),
                    X, y)
    for other in (skrnn.load(saved(est, tmp_path)), pickle.loads(pickle.dumps(est))):
        assert other.vocabulary_.itos == est.vocabulary_.itos
        assert other.classes_.tolist() == est.classes_.tolist()
        for a, b in zip(other.predict(X), est.predict(X)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["tokens", "chars"])
def test_seq2seq_unicode_edge_cases_survive_save_load_and_pickle(tmp_path, kind):
    """The same odd tokens (or characters) as Seq2Seq inputs and outputs go through fit /
    predict / sample / save / load / pickle unchanged; the literal specials read as <unk>."""
    import pickle

    odd = ["👩‍👩‍👧", "é", "e\u0301", "\ud800", "a\x00b", "שלום", "\u202e", "<unk>", "<pad>"]
    X = [[odd[i % len(odd)], odd[(3 * i) % len(odd)]] for i in range(18)]
    y = [s[::-1] + [odd[i % 4]] for i, s in enumerate(X)]
    if kind == "chars":
        X, y = ["".join(s) for s in X], ["".join(s) for s in y]
    est = quiet_fit(Seq2Seq(hidden_size=4, embedding_dim=4, max_epochs=1, random_state=0,
                            device="cpu"), X, y)
    assert not {"<unk>", "<pad>"} & set(est.target_vocabulary_.itos[4:])
    for other in (skrnn.load(saved(est, tmp_path)), pickle.loads(pickle.dumps(est))):
        assert other.vocabulary_.itos == est.vocabulary_.itos
        assert other.target_vocabulary_.itos == est.target_vocabulary_.itos
        assert other.predict(X) == est.predict(X)
        assert other.sample(X, random_state=1) == est.sample(X, random_state=1)
        np.testing.assert_array_equal(other.log_likelihood(X, y), est.log_likelihood(X, y))


# -- crafted safetensors headers (kept refused, in ~no time and memory) -----------------------


def _raw(header, data=b""):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def _valid_metadata(fitted, tmp_path):
    blob = saved(fitted["reg"], tmp_path).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n])["__metadata__"]


CRAFTED = {
    "length 2**63": lambda md: (2**63).to_bytes(8, "little") + b"{}",
    "offsets past the end": lambda md: _raw({"__metadata__": md, "module.w": {
        "dtype": "F32", "shape": [2], "data_offsets": [0, 10**12]}}, b"\0" * 8),
    "huge shape": lambda md: _raw({"__metadata__": md, "module.w": {
        "dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, b"\0" * 8),
    "path traversal name": lambda md: _raw({"__metadata__": md, "../../../etc/passwd": {
        "dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    "deeply nested header": lambda md: _raw(b'{"x": ' + b"[" * 200_000 + b"]" * 200_000
                                            + b"}"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_headers_are_refused(fitted, tmp_path, case):
    path = tmp_path / "crafted.skrnn"
    path.write_bytes(CRAFTED[case](_valid_metadata(fitted, tmp_path)))
    peak, result = _peak_while_loading(path)
    assert isinstance(result, str) and "is not a valid skrnn model file" in result
    assert peak < 16 << 20  # nothing near the sizes the header claims


# -- sizes that must keep working ---------------------------------------------------------------


# The Seq2Seq case decodes each of the 50,000 step by step (17 s on 2 busy cores, the
# others 10-13 s): with -m slow.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "s2s" else n
                                  for n in NAMES])
def test_one_200k_step_sequence_and_50k_sequences(name):
    """One 200,000-step sequence and a set of 50,000 short ones go through predict / score of
    every estimator (tiny fitted models), with one output per sequence."""
    est = fit(name)
    X, y = make_data(name)
    if name == "clf":  # numeric series
        long_seq = [np.random.RandomState(0).randn(200_000, 1).astype(np.float32)]
        many = np.random.RandomState(1).randn(50_000, 3).astype(np.float32)
    elif name == "lm":
        long_seq, many = ["the dog " * 25_000], ["a cat"] * 50_000
    else:
        long_seq, many = [(X[0] * 200_000)[:200_000]], [X[0][:2]] * 50_000
    if name == "lm":
        assert np.isfinite(est.score(long_seq)) and np.isfinite(est.score(many))
        return
    out_long, out_many = est.predict(long_seq), est.predict(many)
    assert len(out_long) == 1 and len(out_many) == 50_000
    if name == "tagger":
        assert len(out_long[0]) == 200_000


def _save_loop(path, seed, n):
    from test_persistence import fit as _fit

    est = _fit("reg" if seed else "tagger")
    for _ in range(n):
        est.save(path)


def test_two_processes_saving_to_one_path_while_a_third_loads(tmp_path):
    """Every load sees a whole file (one of the two models), never a torn one."""
    import multiprocessing
    import os
    import sys

    path = str(tmp_path / "shared.skrnn")
    fitted_tagger = fit("tagger")
    fitted_tagger.save(path)
    ctx = multiprocessing.get_context("spawn")
    env_path = os.path.dirname(__file__)
    if env_path not in sys.path:
        sys.path.insert(0, env_path)
    writers = [ctx.Process(target=_save_loop, args=(path, seed, 40)) for seed in (0, 1)]
    for w in writers:
        w.start()
    kinds, loads = set(), 0
    while any(w.is_alive() for w in writers) or loads == 0:
        kinds.add(type(skrnn.load(path)).__name__)
        loads += 1
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert kinds <= {"SequenceTagger", "SequenceRegressor"} and loads > 0
