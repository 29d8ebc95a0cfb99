"""Safe saving and loading: weights as safetensors, everything else as JSON.

``est.save(path)`` writes one `safetensors` file; :func:`skrnn.load` reads it back.

File layout
-----------
Tensors:

- ``module.<name>``: the network's state dict;
- ``optimizer.<i>.<name>``: the optimizer's per-parameter state (Adam's
  moments and step), so training continues exactly where it stopped;
- ``array.<n>``: every numeric numpy array among the fitted attributes
  (``y_mean_``, a ``RandomState``'s key, a vocabulary's counts, ...), in its
  exact dtype.

The string metadata holds one JSON document under the key ``"skrnn"``::

    {"format": "skrnn", "format_version": 1, "skrnn_version": "...",
     "estimator": "SequenceTagger", "params": {...}, "attributes": {...},
     "optimizer": {"param_groups": [...], "state": ...}}

``params`` are ``get_params(deep=False)`` as the estimator's
``_params_for_file`` stores them (a path as its str; ``word_vectors`` given
as a mapping as None, with a warning); a parameter a file lacks (it was
written before the parameter existed) takes the value in the class's
``_legacy_params`` that reproduces how that model was fitted, else its
default. ``attributes`` are what the
estimator's ``_fitted_state()`` keeps: everything but the network, optimizer
and device (rebuilt on load). Values that JSON cannot hold directly are tagged objects
``{"$type": ...}`` of a closed list of types (tuple, dict with non-str keys,
non-finite float, numpy array and scalar, :class:`~skrnn.Vocabulary`,
``torch.device``, ``numpy.random.RandomState``); saving anything else is a
``TypeError`` naming the attribute.

Why it is safe
--------------
Loading never unpickles and never imports or looks anything up by a name
read from the file: the estimator class comes from the subclasses of
``BaseSequenceEstimator`` already imported, types from the closed list
above. Before any weight is loaded, the file's tensors are checked against a
network built on PyTorch's ``meta`` device (shapes only, no memory), so a
file cannot make ``load`` allocate more than it holds itself. Only regular
files are read, exactly their size. The attributes must be those the class
declares in ``_fitted_attributes`` (:mod:`skrnn._fitted`), each of its type.
What the metadata may cost beyond the file is bounded too: JSON denser than
one value per 4 characters is refused before parsing (parsed, it would grow
up to 60 times), and str arrays, whose dtype declares their width, may take
at most ``_DECODE_BUDGET_FLOOR + _DECODE_BUDGET_FACTOR`` x the file's size.
Every problem surfaces as ``ValueError("... is not a valid skrnn model file:
<reason>")``.

Parameters as they are and as fitted
------------------------------------
``params`` are the parameters now; ``attributes["_fitted_params"]`` those the
network was built with. They differ after ``set_params`` on a fitted model,
which is legitimate: the file keeps both, and the consistency check compares
the stored network with what the *fitted* parameters imply.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import validate_parameter_constraints

from ._files import read_regular_file, write_bytes
from ._fitted import check_attributes
from ._registry import ESTIMATOR_CLASSES, is_estimator
from ._torch import _to_cpu, _user_stacklevel, resolve_device
from .vocab import Vocabulary

#: The file format written here; files with a larger version are refused.
FORMAT_VERSION = 1
_FORMAT = "skrnn"
_METADATA_KEY = "skrnn"
#: Fitted attributes rebuilt on load rather than stored.
_REBUILT = ("module_", "optimizer_", "device_")
#: ``__getstate__`` entries that are pickling's own business.
_PICKLE_ONLY = ("_module_state", "_optimizer_state", "_sklearn_version")
#: Optimizer settings that describe this machine's implementation, not the
#: training: taken from the freshly made optimizer, never from the file.
_OPTIMIZER_IMPLEMENTATION = ("fused", "foreach", "capturable", "differentiable")
_NUMERIC_KINDS = "biufc"
_SCALAR_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
}
_STR_DTYPE_RE = re.compile(r"^[<>|=]?U\d{1,6}$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A JSON string literal once escapes are removed. (A single-character
#: repeat: re's engine needs no memory per character for it, unlike a
#: group such as (?:[^"\\]|\\.)*, which took ~120 bytes a character.)
_JSON_STRING_RE = re.compile(r'"[^"]*"')
#: Decoding may allocate at most this much beyond the file itself (str arrays
#: are the only values whose size a file declares rather than holds):
#: FLOOR + FACTOR * file size bytes.
_DECODE_BUDGET_FLOOR = 1 << 20
_DECODE_BUDGET_FACTOR = 16


class _NewerFormatError(ValueError):
    """The file is valid for a newer skrnn; its message is already complete."""


# -- saving ------------------------------------------------------------------------------


def save(estimator, path):
    """Write a fitted estimator to ``path``; see :meth:`skrnn._base.BaseSequenceEstimator.save`."""
    if not is_estimator(estimator):
        raise TypeError(
            f"save expects a fitted skrnn estimator, got {type(estimator).__name__}."
        )
    estimator._check_fitted()
    path = os.fspath(path)
    _warn_pickle_name(path)
    encoder = _Encoder()
    live = estimator.get_params(deep=False)
    # Values JSON cannot hold as given (paths, a mapping of word vectors), as the
    # estimator says to store them; see BaseSequenceEstimator._params_for_file.
    params = estimator._params_for_file(live)
    # What the estimator itself chose to persist; not __getstate__, which would
    # also serialise the network and optimizer to bytes only to throw them away.
    state = estimator._fitted_state()
    attributes = {
        k: v for k, v in state.items()
        if k not in params and k not in _REBUILT and k not in _PICKLE_ONLY
    }
    if isinstance(attributes.get("_fitted_params"), dict):
        attributes["_fitted_params"] = estimator._params_for_file(
            attributes["_fitted_params"], warn=False)
    undeclared = sorted(set(attributes) - set(type(estimator)._fitted_attributes))
    if undeclared:
        # load accepts exactly the declared attributes: refuse now rather than
        # write a file that cannot be read back.
        raise TypeError(
            f"Cannot save {type(estimator).__name__}: it has the attribute(s) "
            f"{_names(undeclared)}, which its class does not declare in _fitted_attributes "
            "(a subclass that adds fitted attributes must declare them there, see "
            "skrnn._fitted), so load would refuse the file."
        )
    doc = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "skrnn_version": _skrnn_version(),
        "torch_version": torch.__version__,
        "estimator": _class_key(type(estimator)),
        "params": {k: encoder.encode(v, f"parameter {k!r}") for k, v in params.items()},
        "attributes": {
            k: (
                # One RandomState object as both random_state and _random_state
                # stays one object after loading.
                {"$type": "same_as_param", "name": "random_state"}
                if isinstance(v, np.random.RandomState) and v is live.get("random_state")
                else encoder.encode(v, f"attribute {k!r}")
            )
            for k, v in attributes.items()
        },
    }
    for name, tensor in estimator.module_.state_dict().items():
        encoder.tensors[f"module.{name}"] = tensor
    opt = estimator.optimizer_.state_dict()
    doc["optimizer"] = {
        "param_groups": [
            encoder.encode({k: v for k, v in g.items() if k not in _OPTIMIZER_IMPLEMENTATION},
                           "optimizer param_groups")
            for g in opt["param_groups"]
        ],
        "state": _encode_optimizer_state(encoder, opt["state"]),
    }
    metadata = {"format": "pt", _METADATA_KEY: json.dumps(doc, allow_nan=False)}
    # Fresh contiguous CPU copies: safetensors refuses tensors sharing memory
    # (cuDNN keeps all RNN weights in one buffer; numpy views share theirs).
    tensors = {k: v.contiguous().clone() for k, v in _to_cpu(encoder.tensors).items()}
    from safetensors.torch import save as _st_save

    blob = _st_save(tensors, metadata=metadata)
    # Atomically: a failed save never leaves a half-written file in place of a good one.
    return write_bytes(path, blob)


#: Extensions that promise a pickle, which a file from ``save`` is not.
_PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib")


def _warn_pickle_name(path):
    """Warn when ``path``'s extension says pickle: the file will be safetensors."""
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    if ext in _PICKLE_EXTENSIONS:
        warnings.warn(
            f"save writes a safetensors file, not a pickle, to {path!r}: pickle.load and "
            "joblib.load cannot read it, skrnn.load can. Name it '*.skrnn' to say what it "
            "is, or for a pickle call pickle.dump(est, f) / joblib.dump(est, path).",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )


def _foreign_format(blob):
    """What a file that is not safetensors looks like it is, for the error message (or None)."""
    # Pickle protocols 2-5 start with PROTO (0x80) and the protocol (joblib's files too).
    if len(blob) > 1 and blob[:1] == b"\x80" and 2 <= blob[1] <= 5:
        return ("it is a pickle (pickle.dump / joblib.dump), not a file written by "
                "est.save(path); skrnn.load never unpickles, since unpickling can run any "
                "code. Open a pickle you trust with joblib.load(path) or pickle.load.")
    if blob[:4] == b"PK\x03\x04":
        return ("it is a zip archive (as torch.save writes), not a file written by "
                "est.save(path).")
    return None


def _encode_optimizer_state(encoder, state):
    """``{param index: {"exp_avg": tensor, ...}}``; tensor ``optimizer.<index>.<name>``."""
    items = []
    for index, entry in state.items():
        encoded = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                name = f"optimizer.{index}.{key}"
                encoder.tensors[name] = value
                encoded[key] = {"$type": "tensor", "name": name}
            else:
                encoded[key] = encoder.encode(value, f"optimizer state {key!r}")
        items.append([index, encoded])
    return {"$type": "dict", "items": items}


class _Encoder:
    """Plain values to JSON-ready values; numeric arrays and tensors to named tensors."""

    def __init__(self):
        self.tensors = {}
        self._n_arrays = 0

    def _add_array(self, array):
        name = f"array.{self._n_arrays}"
        self._n_arrays += 1
        self.tensors[name] = torch.from_numpy(np.array(array, copy=True))
        return name

    def encode(self, value, where):
        t = type(value)
        if value is None or t in (bool, int, str):
            return value
        if t is float:
            return value if math.isfinite(value) else {"$type": "float", "value": repr(value)}
        if t is list:
            return [self.encode(v, where) for v in value]
        if t is tuple:
            return {"$type": "tuple", "items": [self.encode(v, where) for v in value]}
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in value):
                return {k: self.encode(v, where) for k, v in value.items()}
            return {"$type": "dict",
                    "items": [[self.encode(k, where), self.encode(v, where)]
                              for k, v in value.items()]}
        if isinstance(value, np.ndarray) and t is np.ndarray:
            return self._encode_array(value, where)
        if isinstance(value, np.generic):
            dtype = value.dtype
            if dtype.name in _SCALAR_DTYPES:
                return {"$type": "scalar", "dtype": dtype.name,
                        "value": self.encode(value.item(), where)}
            if dtype.kind == "U":
                return {"$type": "scalar", "dtype": "str", "value": str(value)}
        if t is Vocabulary:
            state = value.to_state()
            encoded = {"$type": "Vocabulary", "itos": self.encode(state["itos"], where),
                       "bos_eos": state["bos_eos"],
                       "counts": self._encode_array(state["counts"], where)}
            if state["lowercase_fallback"]:
                # Only when on: files without it (all written before it existed) read as off.
                encoded["lowercase_fallback"] = True
            return encoded
        if t is torch.device:
            return {"$type": "device", "value": str(value)}
        if t is np.random.RandomState:
            return {"$type": "RandomState",
                    "state": self.encode(value.get_state(legacy=True), where)}
        raise TypeError(
            f"Cannot save {where}: values of type {t.__module__}.{t.__qualname__} are not "
            "supported by skrnn's file format (it stores None, bool, int, float, str, lists, "
            "tuples, dicts, numpy arrays and scalars, Vocabulary, torch.device and "
            "RandomState). Convert the value to one of these, or use pickle / joblib."
        )

    def _encode_array(self, array, where):
        dtype = array.dtype
        if dtype.kind in _NUMERIC_KINDS and dtype.names is None:
            native = array.astype(dtype.newbyteorder("="), copy=False)
            if dtype.kind == "u" and dtype.itemsize > 1:
                # torch < 2.3 has no uint16/32/64 tensors: store the same bits
                # as signed integers and say how to view them.
                signed = native.view(f"int{8 * dtype.itemsize}")
                return {"$type": "ndarray", "tensor": self._add_array(signed),
                        "view": native.dtype.name}
            return {"$type": "ndarray", "tensor": self._add_array(native)}
        if dtype.kind == "U":
            return {"$type": "ndarray", "dtype": dtype.str, "shape": list(array.shape),
                    "items": array.ravel().tolist()}
        if dtype.kind == "O":
            return {"$type": "ndarray", "dtype": "object", "shape": list(array.shape),
                    "items": [self.encode(v, where) for v in array.ravel().tolist()]}
        raise TypeError(
            f"Cannot save {where}: numpy arrays of dtype {dtype} are not supported (numeric, "
            "str and object arrays are)."
        )


# -- loading -------------------------------------------------------------------------------


def load(path):
    """Load an estimator written by ``est.save(path)``.

    Safe for files from anyone: nothing in the file is executed or
    unpickled. A damaged, tampered or foreign file raises ``ValueError``
    saying why; it is never partially loaded.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`~skrnn.SequenceTagger.save` (or the ``save``
        of any skrnn estimator).

    Returns
    -------
    estimator : skrnn estimator
        Fitted, in evaluation mode, on the device its ``device`` parameter
        names (a model saved with ``device="cuda"`` loads onto the CPU with a
        warning where CUDA is missing). Predictions, probabilities, scores
        and samples equal the saved estimator's bit for bit, and
        ``partial_fit`` / ``warm_start`` continue training exactly as the
        saved estimator would have (the optimizer's state and the
        estimator's random state are in the file).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        If the file is not a valid skrnn model file (including a tampered
        one: an attribute its class does not declare or of the wrong type,
        JSON or arrays that would take far more memory than the file's
        size), if ``path`` is not a regular file (a FIFO, a device such as
        ``/dev/zero``), or if it was written by a newer skrnn (upgrade skrnn
        to read it).

    Examples
    --------
    >>> import skrnn
    >>> lm = skrnn.LanguageModel(hidden_size=16, num_layers=1, max_epochs=2, random_state=0)
    >>> lm = lm.fit(["abcabc", "abc", "abcabcabc"] * 10)  # doctest: +SKIP
    >>> lm.save("lm.skrnn")  # doctest: +SKIP
    'lm.skrnn'
    >>> same = skrnn.load("lm.skrnn")  # doctest: +SKIP
    >>> same.sample(3, random_state=0) == lm.sample(3, random_state=0)  # doctest: +SKIP
    True
    """
    path = os.fspath(path)
    # Regular files only, read to their stat size: /dev/zero would never end, a FIFO never open.
    blob = read_regular_file(path, what="the file written by est.save(path)")
    try:
        return _load_bytes(blob)
    except _NewerFormatError as exc:
        raise _NewerFormatError(f"{path!r} {exc}") from None
    except (MemoryError, OSError, torch.cuda.OutOfMemoryError):
        raise  # this machine's problem (memory, devices, disk), not the file's
    except Exception as exc:  # every failure of the file becomes one clear error
        reason = str(exc) if isinstance(exc, (ValueError, TypeError)) and str(exc) else (
            f"{type(exc).__name__}: {exc}")
        raise ValueError(f"{path!r} is not a valid skrnn model file: {reason}") from exc


def _read_safetensors(blob):
    """The metadata dict and the tensors of a safetensors file's bytes."""
    foreign = _foreign_format(blob[:8])
    if foreign is not None:
        raise ValueError(foreign)
    if len(blob) < 8:
        raise ValueError(f"the file is {len(blob)} bytes long, too short for a safetensors file.")
    n = int.from_bytes(blob[:8], "little")
    if n > len(blob) - 8:
        raise ValueError(
            "it is not a safetensors file (or it is truncated): its header claims "
            f"{n} bytes but the file has {len(blob) - 8} after the length field."
        )
    try:
        header_text = blob[8:8 + n].decode("utf-8")
        _check_json_size(header_text, "its safetensors header")
        header = json.loads(header_text)
    except (UnicodeDecodeError, RecursionError):
        raise ValueError("it is not a safetensors file: its header is not JSON.") from None
    except ValueError as exc:
        if str(exc).startswith("its "):
            raise  # _check_json_size's own message
        raise ValueError("it is not a safetensors file: its header is not JSON.") from None
    if not isinstance(header, dict):
        raise ValueError("it is not a safetensors file: its header is not a JSON object.")
    metadata = header.get("__metadata__") or {}
    from safetensors import SafetensorError
    from safetensors.torch import load as _st_load

    try:
        tensors = _st_load(bytes(blob))
    except SafetensorError as exc:
        raise ValueError(f"it is not a valid (or it is a truncated) safetensors file: {exc}") \
            from None
    return metadata, tensors


def _check_json_size(text, where):
    """Refuse JSON whose parsed form would be far larger than its text.

    Python spends ~60 bytes on each list, dict, number or str it parses, so
    ``[[[[...`` or ``[0,0,0,...`` grows 30-60 times on ``json.loads``. Every
    value after the first in a container costs a comma and every container a
    bracket: counted outside string literals, a file skrnn writes has about
    one per 5 characters or fewer (a vocabulary of 1-character tokens), so
    one per 4 bounds the parsed size at ~16 times the text.
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = _JSON_STRING_RE.sub("", unescaped)
    items = outside.count(",") + outside.count("[") + outside.count("{")
    if items > len(text) // 4 + 10_000:
        raise ValueError(
            f"{where} holds {items} JSON values in {len(text)} characters, far more than a "
            "model description has (it would take many times the file's size in memory)."
        )


def _load_bytes(blob):
    metadata, tensors = _read_safetensors(blob)
    if not isinstance(metadata, dict) or _METADATA_KEY not in metadata:
        raise ValueError(
            "it is a safetensors file without skrnn's metadata (written by another library, "
            "not by an skrnn estimator's save)."
        )
    text = metadata[_METADATA_KEY]
    _check_json_size(text, "its 'skrnn' metadata")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"its 'skrnn' metadata is not valid JSON ({exc}).") from None
    _expect(isinstance(doc, dict) and doc.get("format") == _FORMAT,
            "its 'skrnn' metadata is not an skrnn model description.")
    version = doc.get("format_version")
    _expect(type(version) is int and version >= 1,
            f"its format_version is {version!r}, not a positive int.")
    if version > FORMAT_VERSION:
        raise _NewerFormatError(
            f"was written by a newer skrnn (version {doc.get('skrnn_version')!r}, file format "
            f"version {version}); this skrnn {_skrnn_version()} reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade skrnn (pip install --upgrade skrnn) to load it."
        )
    cls = _estimator_class(doc.get("estimator"))
    decoder = _Decoder(tensors, budget=_DECODE_BUDGET_FLOOR + _DECODE_BUDGET_FACTOR * len(blob))
    est = _construct(cls, decoder, doc.get("params"))
    _set_attributes(est, decoder, doc.get("attributes"))
    _check_consistent(est)
    _restore_network(est, decoder, doc.get("optimizer"))
    extra = sorted(set(tensors) - decoder.used)
    _expect(not extra, f"it holds tensors nothing refers to: {_names(extra)}.")
    return est


def _expect(condition, reason):
    if not condition:
        raise ValueError(reason)


def _names(names, limit=5):
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(repr(n) for n in names[:limit]) + more


def _skrnn_version():
    import skrnn

    return getattr(skrnn, "__version__", "unknown")


def _class_key(cls):
    if cls.__module__ == "skrnn" or cls.__module__.startswith("skrnn."):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _estimator_classes():
    """Every concrete estimator class imported so far, by its key in files."""
    found = {}
    for cls in ESTIMATOR_CLASSES:
        if callable(getattr(cls, "_network_config", None)) and callable(
                getattr(cls, "_build_network", None)):
            found.setdefault(_class_key(cls), set()).add(cls)
    return found


def _estimator_class(name):
    _expect(isinstance(name, str), f"its estimator name is {name!r}, not a str.")
    classes = _estimator_classes().get(name)
    if not classes:
        known = sorted(_estimator_classes())
        raise ValueError(
            f"it names the estimator {name!r}, which is not a known skrnn estimator (known: "
            f"{', '.join(known)}). A custom estimator's module must be imported before loading."
        )
    _expect(len(classes) == 1, f"several imported classes are called {name!r}.")
    return classes.pop()


def _construct(cls, decoder, params):
    _expect(isinstance(params, dict), "its 'params' is not a JSON object.")
    valid = set(cls._get_param_names())
    unknown = sorted(set(params) - valid)
    _expect(not unknown, f"{cls.__name__} has no parameter(s) {_names(unknown)}.")
    decoded = {k: decoder.decode(v, f"parameter {k!r}") for k, v in params.items()}
    est = cls(**cls._legacy_values(decoded), **decoded)
    est._validate_params()  # a tampered value gets sklearn's usual message
    return est


def _set_attributes(est, decoder, attributes):
    _expect(isinstance(attributes, dict), "its 'attributes' is not a JSON object.")
    cls = type(est)
    params = set(cls._get_param_names())
    decoded = {}
    for name, value in attributes.items():
        _expect(
            _NAME_RE.match(name) and not (name.startswith("__") and name.endswith("__"))
            and name not in _REBUILT and name not in params and name not in _PICKLE_ONLY
            # Never shadow anything the class defines: methods, properties and
            # class-level settings such as _parameter_constraints.
            and not hasattr(cls, name),
            f"it sets the attribute {name!r}, which an estimator's file may not set.",
        )
        _expect(name in cls._fitted_attributes,
                f"it sets the attribute {name!r}, which {cls.__name__} does not have.")
        if isinstance(value, dict) and value.get("$type") == "same_as_param":
            _expect(value == {"$type": "same_as_param", "name": "random_state"}
                    and isinstance(est.random_state, np.random.RandomState),
                    f"attribute {name!r} refers to a random_state that is not a RandomState.")
            decoded[name] = est.random_state
        else:
            decoded[name] = decoder.decode(value, f"attribute {name!r}")
    # Every attribute of the type the class defines, before predict can trip on one.
    check_attributes(cls._fitted_attributes, decoded, cls.__name__)
    fitted = decoded.get("_fitted_params")
    if fitted is not None:
        # Fitted before some parameters existed: with their legacy values, as
        # the parameters themselves (_construct).
        decoded["_fitted_params"] = {**cls._legacy_values(fitted), **fitted}
    for name, value in decoded.items():
        setattr(est, name, value)


def _check_consistent(est):
    """The network the fitted parameters and vocabularies imply must be the one stored.

    The parameters as they are (``get_params``) may differ from those the
    network was fitted with: ``set_params`` after ``fit`` is legitimate, and
    such a model saves and loads as it was. The check uses the fitted ones
    (``_fitted_params``; files without them were saved before it existed,
    when the two could not differ in a file that loads).
    """
    cls = type(est)
    _expect(est.input_kind_ in est._allowed_kinds,
            f"its input_kind_ is not one of {cls.__name__}'s {est._allowed_kinds}.")
    fitted = getattr(est, "_fitted_params", None)
    probe = est
    if fitted is not None:
        unknown = sorted(set(fitted) - set(cls._get_param_names()))
        _expect(not unknown, f"its _fitted_params name no parameter(s) {_names(unknown)}.")
        try:
            validate_parameter_constraints(
                {k: v for k, v in cls._parameter_constraints.items() if k in fitted},
                fitted, caller_name=cls.__name__)
        except ValueError as exc:
            raise ValueError(f"its _fitted_params are invalid: {exc}") from None
        probe = object.__new__(cls)
        probe.__dict__.update(est.__dict__)
        probe.__dict__.update(fitted)
    implied = {"encoder": probe._encoder_config(), **probe._network_config()}
    _expect(
        implied == est._network_config_,
        f"its parameters and vocabularies imply the network {implied}, but it stores "
        f"{est._network_config_} (the file was edited or is inconsistent).",
    )


def _restore_network(est, decoder, optimizer_doc):
    config = est._network_config_
    prefix = "module."
    # Shapes first, on the meta device (no memory): a file cannot make load
    # build a network larger than the weights it actually holds.
    with torch.device("meta"):
        expected = est._build_network(config).state_dict()
    stored = {k[len(prefix):]: v for k, v in decoder.tensors.items() if k.startswith(prefix)}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    _expect(not missing, f"it lacks the network weights {_names(missing)}.")
    _expect(not extra, f"it holds unexpected network weights {_names(extra)}.")
    for name, ref in expected.items():
        got = stored[name]
        _expect(
            got.shape == ref.shape and got.dtype == ref.dtype,
            f"the network weight {name!r} has shape {tuple(got.shape)} and dtype {got.dtype}, "
            f"but this {type(est).__name__} needs shape {tuple(ref.shape)} and {ref.dtype}.",
        )
    decoder.used.update(prefix + k for k in stored)

    device = resolve_device(est.device, fallback=True)
    module = est._restore_network(stored, device)
    optimizer = est._new_optimizer(module)
    optimizer.load_state_dict(_optimizer_state(optimizer, decoder, optimizer_doc))
    est.device_, est.module_, est.optimizer_ = device, module, optimizer


def _optimizer_state(optimizer, decoder, doc):
    """The stored optimizer state, checked against a freshly made ``optimizer``."""
    _expect(isinstance(doc, dict), "its 'optimizer' entry is not a JSON object.")
    fresh = optimizer.state_dict()
    groups = decoder.decode(doc.get("param_groups"), "optimizer param_groups")
    _expect(isinstance(groups, list) and len(groups) == len(fresh["param_groups"])
            and all(isinstance(g, dict) for g in groups),
            "its optimizer param_groups do not match the network.")
    merged = []
    for group, ref in zip(groups, fresh["param_groups"]):
        _expect(group.get("params") == ref["params"],
                "its optimizer param_groups do not match the network's parameters.")
        new = dict(ref)
        for key, value in group.items():
            if key in ref and key != "params" and key not in _OPTIMIZER_IMPLEMENTATION:
                _expect(_same_kind(value, ref[key]),
                        f"its optimizer setting {key!r} is {value!r}, expected something like "
                        f"{ref[key]!r}.")
                new[key] = value
        merged.append(new)

    params = [p for g in optimizer.param_groups for p in g["params"]]
    state = decoder.decode(doc.get("state"), "optimizer state", tensors_ok=True)
    _expect(isinstance(state, dict), "its optimizer state is not a mapping.")
    for index, entry in state.items():
        _expect(type(index) is int and 0 <= index < len(params) and isinstance(entry, dict),
                f"its optimizer state names parameter {index!r} of {len(params)}.")
        shape = params[index].shape
        for key, value in entry.items():
            _expect(isinstance(key, str), "its optimizer state has a non-str key.")
            if isinstance(value, torch.Tensor):
                _expect(
                    value.is_floating_point() and value.shape in (shape, torch.Size([])),
                    f"its optimizer state {key!r} of parameter {index} has shape "
                    f"{tuple(value.shape)}, expected {tuple(shape)} or a scalar.",
                )
            else:
                _expect(_same_kind(value, 0.0), f"its optimizer state {key!r} is {value!r}.")
    return {"state": state, "param_groups": merged}


def _same_kind(value, ref):
    """Whether ``value`` could stand where the optimizer has ``ref`` (plain settings only)."""
    if ref is None:
        return value is None
    if isinstance(ref, bool):
        return isinstance(value, bool)
    if isinstance(ref, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(ref, tuple):
        return (isinstance(value, tuple) and len(value) == len(ref)
                and all(_same_kind(v, r) for v, r in zip(value, ref)))
    if isinstance(ref, str):
        return isinstance(value, str)
    return False


class _Decoder:
    """Inverse of :class:`_Encoder`, for a closed list of tagged types."""

    def __init__(self, tensors, *, budget=None):
        self.tensors = tensors
        self.used = set()
        #: Bytes that declared (not stored) sizes may still allocate; None: no limit.
        self.budget = budget

    def _spend(self, nbytes, where):
        if self.budget is None:
            return
        _expect(nbytes <= self.budget,
                f"{where} declares an array of {nbytes} bytes, more than a file of this size "
                "can describe (it would make loading allocate far more memory than the file "
                "holds).")
        self.budget -= nbytes

    def _take(self, name, where):
        _expect(isinstance(name, str) and name in self.tensors,
                f"{where} refers to a tensor {name!r} the file does not hold.")
        _expect(name not in self.used, f"{where} refers to the tensor {name!r} twice.")
        self.used.add(name)
        return self.tensors[name]

    def decode(self, value, where, *, tensors_ok=False):
        if value is None or type(value) in (bool, int, float, str):
            return value
        if type(value) is list:
            return [self.decode(v, where, tensors_ok=tensors_ok) for v in value]
        _expect(type(value) is dict, f"{where} holds a {type(value).__name__}.")
        tag = value.get("$type")
        if tag is None:
            return {k: self.decode(v, where, tensors_ok=tensors_ok) for k, v in value.items()}
        method = _DECODERS.get(tag)
        _expect(method is not None, f"{where} holds an object of unknown type {tag!r}.")
        return method(self, value, where, tensors_ok)

    def _items(self, value, where):
        items = value.get("items")
        _expect(type(items) is list, f"{where} holds a malformed {value.get('$type')!r}.")
        return items

    def _tuple(self, value, where, tensors_ok):
        return tuple(self.decode(v, where, tensors_ok=tensors_ok)
                     for v in self._items(value, where))

    def _dict(self, value, where, tensors_ok):
        out = {}
        for pair in self._items(value, where):
            _expect(type(pair) is list and len(pair) == 2, f"{where} holds a malformed dict.")
            key = self.decode(pair[0], where)
            _expect(key is None or isinstance(key, (bool, int, float, str, tuple, np.generic)),
                    f"{where} holds a dict key of type {type(key).__name__}.")
            out[key] = self.decode(pair[1], where, tensors_ok=tensors_ok)
        return out

    def _float(self, value, where, tensors_ok):
        text = value.get("value")
        _expect(text in ("nan", "inf", "-inf"), f"{where} holds a malformed float.")
        return float(text)

    def _ndarray(self, value, where, tensors_ok):
        if "tensor" in value:
            array = self._take(value["tensor"], where).numpy().copy()
            view = value.get("view")
            if view is not None:
                _expect(view in ("uint16", "uint32", "uint64")
                        and array.dtype.name == "int" + view[4:],
                        f"{where} holds a malformed unsigned array.")
                array = array.view(view)
            return array
        dtype, shape, items = value.get("dtype"), value.get("shape"), self._items(value, where)
        _expect(type(shape) is list and all(type(n) is int and n >= 0 for n in shape)
                and math.prod(shape) == len(items), f"{where} holds a malformed array.")
        if dtype == "object":
            array = np.empty(len(items), dtype=object)
            array[:] = [self.decode(v, where) for v in items]
            return array.reshape(shape)
        _expect(isinstance(dtype, str) and _STR_DTYPE_RE.match(dtype)
                and all(type(v) is str for v in items),
                f"{where} holds an array of unsupported dtype {dtype!r}.")
        dtype = np.dtype(dtype)
        width = dtype.itemsize // 4
        # numpy would silently cut longer items to the declared width.
        _expect(all(len(v) <= width for v in items),
                f"{where} holds a str longer than its dtype {dtype.str!r} allows.")
        # The dtype's width, not the items, sets the memory: '<U999999' turns
        # 500 short items in a 35 KB file into 2 GB.
        self._spend(dtype.itemsize * len(items), where)
        return np.array(items, dtype=dtype).reshape(shape)

    def _scalar(self, value, where, tensors_ok):
        dtype, raw = value.get("dtype"), self.decode(value.get("value"), where)
        if dtype == "str":
            _expect(type(raw) is str, f"{where} holds a malformed str scalar.")
            return np.str_(raw)
        _expect(dtype in _SCALAR_DTYPES and type(raw) in (bool, int, float),
                f"{where} holds a scalar of unsupported dtype {dtype!r}.")
        return np.dtype(dtype).type(raw)

    def _vocabulary(self, value, where, tensors_ok):
        counts = self.decode(value.get("counts"), where)
        _expect(isinstance(counts, np.ndarray) and counts.dtype.kind == "i",
                f"{where} holds a malformed Vocabulary: its counts are not an int array.")
        state = {"itos": value.get("itos"), "bos_eos": value.get("bos_eos"), "counts": counts}
        if "lowercase_fallback" in value:
            state["lowercase_fallback"] = value["lowercase_fallback"]  # from_state checks it
        try:
            return Vocabulary.from_state(state)
        except ValueError as exc:
            raise ValueError(f"{where} holds a malformed Vocabulary. {exc}") from None

    def _device(self, value, where, tensors_ok):
        text = value.get("value")
        _expect(isinstance(text, str), f"{where} holds a malformed device.")
        return torch.device(text)

    def _random_state(self, value, where, tensors_ok):
        state = self.decode(value.get("state"), where)
        _expect(isinstance(state, tuple) and len(state) == 5 and state[0] == "MT19937"
                and isinstance(state[1], np.ndarray) and state[1].dtype == np.uint32
                and state[1].shape == (624,),
                f"{where} holds a malformed RandomState.")
        rng = np.random.RandomState()
        rng.set_state(state)
        return rng

    def _tensor(self, value, where, tensors_ok):
        _expect(tensors_ok, f"{where} may not hold a tensor.")
        return self._take(value.get("name"), where)


_DECODERS = {
    "tuple": _Decoder._tuple,
    "dict": _Decoder._dict,
    "float": _Decoder._float,
    "ndarray": _Decoder._ndarray,
    "scalar": _Decoder._scalar,
    "Vocabulary": _Decoder._vocabulary,
    "device": _Decoder._device,
    "RandomState": _Decoder._random_state,
    "tensor": _Decoder._tensor,
}

__all__ = ["FORMAT_VERSION", "load", "save"]
