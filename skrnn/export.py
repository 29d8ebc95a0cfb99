"""Export a fitted estimator's network for serving: ONNX, ``torch.export`` or TorchScript.

The exported model takes padded tensors and returns the estimator's final
outputs; the batch axis N and the time axis L (and the word width W of the
character input) are dynamic, so one export serves batches of any size
and any sequence length.

================== ======================================== ====================================
estimator          inputs                                   output
================== ======================================== ====================================
SequenceTagger     ``inputs`` (N, L), ``lengths`` (N,)      ``proba`` (N, L, C): per-step class
                   [+ ``chars`` (N, L, W)]                  probabilities, columns ``classes_``;
                                                            with a CRF or a tag scheme (see
                                                            below) four outputs instead
SequenceClassifier same, or numeric ``inputs`` (N, L, F)    ``proba`` (N, C)
SequenceRegressor  same                                     ``prediction`` (N,) or
                                                            (N, n_outputs), in target units
LanguageModel      ``inputs`` (N, L): ``<bos>`` then the    ``log_proba`` (N, L, V): step t holds
                   token ids; ``lengths`` (N,)              log P(next token | inputs[:t+1])
================== ======================================== ====================================

- ``inputs``: int64 token ids (``vocabulary_``; unknown tokens are
  ``<unk>``, id 1) or float32 features, right-padded (with 0);
  ``lengths``: int64 true lengths, each at least 1.
- ``chars`` (only when ``char_vocabulary_`` is set, i.e. a character CNN):
  int64 character ids (``char_vocabulary_``) of every token, right-padded
  with 0, words longer than 20 characters cut to their first 12 and last
  8, as in training (``export_inputs`` sets padded steps to 0; the model
  ignores them whatever they hold).
- Per-step outputs are 0 at padded steps (steps at or beyond a sequence's
  length), so summing a language model's log-probabilities of the true next
  tokens over the whole padded array gives each sequence's log-likelihood.
- ``LanguageModel``: ``<pad>`` and ``<bos>`` have probability 0 (their
  log-probability is ``-inf``), as in ``predict_proba`` and ``score``; the
  last real step gives the probability of ``<eos>``, "the sequence ends".
- ``SequenceTagger`` with ``crf=True`` or a tag scheme (``tag_scheme_`` not
  None): decoding is a Viterbi search over the whole sentence, done outside
  the graph. The outputs are ``scores`` (N, L, C) -- the CRF's emission
  scores, or per-step log-probabilities for a softmax tagger with a scheme,
  0 at padded steps -- and ``transitions`` (C, C) [from, to], ``start_transitions`` and
  ``end_transitions`` (C,), invalid entries at
  :data:`skrnn.crf.NOT_ALLOWED`. ``skrnn.crf.viterbi_numpy(scores, lengths,
  transitions, start_transitions, end_transitions)`` returns the ids into
  ``classes_`` that ``predict`` returns (numpy only, so a server needs no
  torch).
- ``SequenceRegressor``: the target standardisation (``y_mean_``,
  ``y_scale_``) is part of the graph; the output is ``(N,)`` when the
  regressor was fitted with 1-D y, as ``predict`` returns.

:meth:`~skrnn._base.BaseSequenceEstimator.export_inputs` builds these
arrays from raw X. The network is exact on right padding (the backward
direction reverses each sequence within its own length), so every sequence
gets the estimator's result whatever it is batched with.

Which exporter: ONNX (``to_onnx``) is the serving format; it needs the
``export`` extra (onnx, onnxscript; onnxruntime to run it). TorchScript
(``to_torchscript``, via ``torch.jit.trace``) needs nothing more, but
PyTorch deprecates TorchScript (in torch 2.13 ``torch.jit.trace``, ``save``
and ``load`` emit a ``DeprecationWarning``). :func:`to_exported_program`
gives a ``torch.export`` program. Every cell type exports with every axis
dynamic; how is the cell table's business (:mod:`skrnn.cells`, each cell's
``export_layer`` and ``export_context``): LSTM and GRU layers become loops
over time through torch.export's while-loop decompositions; a plain RNN
(``cell="rnn"``) is exported as the GRU that computes exactly the same steps
(:func:`skrnn.cells.rnn_as_gru`), because ``torch.export`` would unroll it
over the example's length; the peephole LSTM runs its own while-loop.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import numpy as np
import torch

from . import cells as _cells
from . import data as _data
from ._files import atomic_write
from ._torch import _to_cpu
from .serving import InferenceNetwork  # noqa: F401  (documented here, built by estimators)


def inference_network(estimator):
    """The serving network of a fitted estimator (its ``_serving_network``), on the CPU.

    The estimator is not modified: its network is rebuilt from
    ``_network_config_`` and loaded with a CPU copy of the weights.

    Parameters
    ----------
    estimator : fitted skrnn estimator

    Returns
    -------
    InferenceNetwork
    """
    estimator._check_fitted()
    network = estimator._restore_network(_to_cpu(estimator.module_.state_dict()),
                                         torch.device("cpu"))
    # The estimator's own hook: export knows no estimator type.
    return estimator._serving_network(network).eval().requires_grad_(False)


def input_names(estimator):
    """Names of the exported model's inputs, in order."""
    names = ["inputs", "lengths"]
    if getattr(estimator, "char_vocabulary_", None) is not None:
        names.append("chars")
    return names


def output_names(estimator):
    """Names of the exported model's outputs, in order (the estimator's ``_serving_output``)."""
    names = estimator._serving_output
    return [names] if isinstance(names, str) else list(names)


def export_inputs(estimator, X):
    """The padded arrays an exported model takes for raw X.

    See :meth:`skrnn._base.BaseSequenceEstimator.export_inputs`.
    """
    estimator._check_fitted()
    data = estimator._serving_data(X)
    if data.inputs[0].ndim == 2:
        inputs = _data._pad(data.inputs, 0.0, np.float32)  # (N, L, F)
    else:
        inputs = _data._pad(data.inputs, 0, np.int64)  # (N, L)
    arrays = {"inputs": inputs, "lengths": data.lengths.copy()}
    if data.forms is not None:
        forms = _data._pad(data.forms, 0, np.int64)  # (N, L) rows of char_matrix
        chars = data.char_matrix[forms]  # (N, L, W)
        chars[np.arange(inputs.shape[1]) >= data.lengths[:, None]] = 0  # padded steps
        arrays["chars"] = chars
    return arrays


def _example_inputs(estimator):
    """Small inputs to trace with; distinct sizes so no two axes get unified.

    Neither axis is 0 or 1 (export would fix such sizes as constants), and
    lengths are ragged so the bidirectional reversal is exercised.
    """
    n, longest, width = 3, 4, 5
    lengths = torch.tensor([4, 2, 3])
    if estimator.input_kind_ == "numeric":
        inputs = torch.zeros(n, longest, estimator.n_features_in_)
    else:
        inputs = torch.ones(n, longest, dtype=torch.long)  # <unk> everywhere
    args = (inputs, lengths)
    if getattr(estimator, "char_vocabulary_", None) is not None:
        args += (torch.ones(n, longest, width, dtype=torch.long),)
    return args


def _dynamic_shapes(estimator):
    batch, steps = torch.export.Dim("batch"), torch.export.Dim("steps")
    shapes = {"inputs": {0: batch, 1: steps}, "lengths": {0: batch}}
    if getattr(estimator, "char_vocabulary_", None) is not None:
        shapes["chars"] = {0: batch, 1: steps, 2: torch.export.Dim("word_length")}
    return shapes


@contextlib.contextmanager
def _quiet_export():
    """Silence PyTorch's notes on its own internals while exporting.

    They concern torch, not the user's model: ``nn.RNN`` re-assigning its
    flat weights, PyTorch's while-loop decomposition calling a deprecated
    check, the pytree API, the ONNX exporter renaming axes and lacking
    torchvision.
    """
    # The ONNX exporter logs a warning per missing torchvision operator.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        for message in (".*_flat_weights.* were assigned during export",
                        ".*_check_is_size will be removed", ".*isinstance\\(treespec, LeafSpec\\)",
                        ".*The axis name: .* will not be used"):
            warnings.filterwarnings("ignore", message=message)
        try:
            yield
        finally:
            registration.setLevel(level)


@contextlib.contextmanager
def _exportable(network):
    """``network`` with every cell layer replaced by its export form, and the cells' contexts.

    Both come from the cell table (:func:`skrnn.cells.exportable`): e.g. a
    plain RNN becomes the GRU that computes the same steps, and LSTM / GRU
    layers get torch.export's while-loop decompositions, which keep the time
    axis dynamic.
    """
    network, contexts = _cells.exportable(network)
    with contextlib.ExitStack() as stack:
        for context in contexts:
            stack.enter_context(context())
        yield network


def to_exported_program(estimator, path=None):
    """Export the inference network with ``torch.export`` (dynamic batch and time axes).

    Parameters
    ----------
    estimator : fitted skrnn estimator
    path : str or path-like, optional
        Also save the program there (``torch.export.save``, a ``.pt2`` file).

    Returns
    -------
    torch.export.ExportedProgram
        Call ``program.module()(*tensors)`` with the tensors of
        :meth:`export_inputs`.
    """
    with _exportable(inference_network(estimator)) as network, _quiet_export():
        program = torch.export.export(network, _example_inputs(estimator),
                                      dynamic_shapes=_dynamic_shapes(estimator))
    if path is not None:
        atomic_write(path, lambda tmp: torch.export.save(program, tmp))
    return program


def to_torchscript(estimator, path=None):
    """Export the inference network as TorchScript (``torch.jit.trace``).

    Every axis stays dynamic (tracing records shapes as operations) and every
    cell type works. PyTorch deprecates TorchScript: ``torch.jit.trace``
    emits its own ``DeprecationWarning``; prefer :func:`to_onnx`.

    Parameters
    ----------
    estimator : fitted skrnn estimator
    path : str or path-like, optional
        Also save the module there (``torch.jit.save``); load it with
        ``torch.jit.load`` (no skrnn needed).

    Returns
    -------
    torch.jit.ScriptModule
        Call it with the tensors of :meth:`export_inputs`, in order.
    """
    network = inference_network(estimator)
    with torch.no_grad(), warnings.catch_warnings():
        # The recurrent layers' input checks compare traced sizes with Python
        # ints; they concern fixed feature sizes only: their TracerWarnings are noise.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        module = torch.jit.trace(network, _example_inputs(estimator))
    if path is not None:
        atomic_write(path, lambda tmp: torch.jit.save(module, tmp))
    return module


def _require_onnx():
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            f"to_onnx needs onnx and onnxscript (missing: {', '.join(missing)}). Install "
            "them: pip install onnx onnxscript onnxruntime (onnxruntime runs the exported "
            "model), or skrnn's 'export' extra (pip install \".[export]\" from a clone)."
        )


def to_onnx(estimator, path):
    """Export the inference network to an ONNX file (dynamic batch and time axes).

    Parameters
    ----------
    estimator : fitted skrnn estimator
    path : str or path-like
        Where to write the ``.onnx`` file (weights included, so under
        ONNX's 2 GB limit for a single file).

    Returns
    -------
    path : str or path-like
        ``path``, e.g. for ``onnxruntime.InferenceSession(path)``.
    """
    estimator._check_fitted()  # an unfitted estimator says so before any missing extra
    _require_onnx()
    return onnx_graph(inference_network(estimator), _example_inputs(estimator), path,
                      input_names=input_names(estimator), output_names=output_names(estimator),
                      dynamic_shapes=_dynamic_shapes(estimator))


def onnx_graph(module, example_inputs, path, *, input_names, output_names, dynamic_shapes):
    """Export any torch ``module`` (on the CPU, in eval mode) to one ONNX file.

    The cell layers inside are made exportable first (:func:`skrnn.cells.exportable`);
    the file is written atomically. Estimators that export as several graphs
    (:class:`skrnn.Seq2Seq`: its encoder and one decoder step) call this per graph.
    """
    _require_onnx()
    with _exportable(module) as network, _quiet_export():
        program = torch.onnx.export(
            network, example_inputs, dynamo=True, input_names=input_names,
            output_names=output_names, dynamic_shapes=dynamic_shapes, verbose=False,
        )
    # Atomically: a failed or interrupted save leaves an existing file as it was.
    atomic_write(path, lambda tmp: program.save(tmp, external_data=False))
    return path
