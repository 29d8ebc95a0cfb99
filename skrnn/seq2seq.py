"""Seq2Seq: an encoder–decoder for outputs whose length differs from the input's."""

from __future__ import annotations

import math
import numbers
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from . import _fitted as _f
from . import data as _data
from ._base import (
    DEFAULT_STANDARDIZE,
    BaseSequenceEstimator,
    _input_params_doc,
    _optimizer_params_doc,
    _precision_param_doc,
    make_encoder,
)
from ._validation import check_sequences
from .decoding import GENERATION_TOKEN_BUDGET, beam_search, greedy_steps, sample_steps
from .encoder_decoder import Seq2SeqNetwork
from .metrics import exact_match_accuracy
from .vocab import Vocabulary

#: ``max_output_length="auto"``: an output may be this much longer than the
#: longest output-to-input length ratio seen in training predicts ...
AUTO_LENGTH_MARGIN = 5
#: ... and at most this many times the longest training output (plus the margin).
AUTO_LENGTH_FACTOR = 2


#: Sampling temperatures are clamped to [_MIN_TEMPERATURE, 1 / _MIN_TEMPERATURE].
_MIN_TEMPERATURE = 1e-6


def _output_vocabulary(value, attrs):
    """The output vocabulary: a Vocabulary with <bos> and <eos> (decoding needs both)."""
    _f.instance_of(Vocabulary)(value, attrs)
    if not value.bos_eos:
        raise ValueError("has no <bos> / <eos> (an output vocabulary needs both)")


def _non_negative_float(value, attrs):
    _f.finite_float(value, attrs)
    if value < 0:
        raise ValueError(f"is {value}, expected a ratio >= 0")


class Seq2Seq(BaseSequenceEstimator):
    __doc__ = """Encoder–decoder with attention: map a sequence to one of another length.

    The many-to-many architecture of machine translation: grapheme to
    phoneme, spelling normalisation, dates written any way to ISO dates. A
    recurrent encoder (bidirectional by default) reads the input; a
    unidirectional recurrent decoder writes the output one token at a time,
    from ``<bos>`` until it emits ``<eos>``, attending over the encoder's
    outputs. Training uses teacher forcing (the true previous output token
    is the decoder's input) and minimises the cross-entropy of every output
    token, ``<eos>`` included. See :mod:`skrnn.encoder_decoder` for the
    network and :mod:`skrnn.decoding` for greedy and beam search.

    Parameters
    ----------
    cell : str, default="lstm"
        The recurrent cell of encoder and decoder: a name of the cell table,
        :data:`skrnn.cells.CELLS` (see ``docs/cells.md``).
    hidden_size : int, default=128
        Hidden units per direction and layer, encoder and decoder.
    num_layers : int, default=1
        Layers of the encoder and of the decoder.
    bidirectional : bool, default=True
        The encoder's; the decoder is always unidirectional.
    embedding_dim : int, default=64
        Size of the input-token and output-token embeddings.
    attention : {"luong", "bahdanau"} or None, default="luong"
        ``"luong"``: multiplicative attention after each decoder step
        (teacher-forced training is one fused recurrent call); ``"bahdanau"``:
        additive attention before each step, its context an input of the step
        (training steps through the output); None: none, the encoder's final
        state alone starts the decoder.
    beam_size : int, default=1
        1: greedy decoding in ``predict``; above 1: batched beam search with
        that many hypotheses per input, the best chosen by log-probability
        per output token (``<eos>`` counted).
    max_output_length : int or "auto", default="auto"
        Most output tokens ``predict`` and ``sample`` produce per input
        (``<eos>`` not counted). ``"auto"``: for an input of length n,
        ``min(ceil(r * n) + 5, 2 * L + 5)``, where r is the largest output /
        input length ratio and L the longest output of the training data.
    min_freq : int, default=1
        Input and output tokens seen fewer times become ``<unk>``.
    max_vocab_size : int or None, default=None
        Largest input vocabulary (most frequent tokens kept).
    dropout : float, default=0.2
        On embeddings, between layers and before the output layer.
""" + _input_params_doc(("numeric", "tokens", "chars")) + (
        "    clip_value : float or None, default=None") + """
    clip_norm : float or None, default=1.0
        Gradient clipping by total norm (recurrent decoders benefit).
    batch_size : int, default=64
    max_epochs : int, default=30
    learning_rate : float, default=3e-3
    weight_decay : float, default=0.0
""" + _optimizer_params_doc() + """\
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the pairs and stop when their
        log-likelihood per output token stops improving; "auto": on from
        1,000 pairs. The best epoch's weights are kept. Pairs with the same
        input (a word with two pronunciations) are held out together, so no
        held-out input was seen in training.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=3
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
    device : str or torch.device, default="auto"
""" + _precision_param_doc() + """\
    verbose : int, default=0
    warm_start : bool, default=False

    Attributes
    ----------
    input_kind_ : {"tokens", "chars", "numeric"}
    target_kind_ : {"tokens", "chars"}
        Outputs are strings ("chars") or token lists ("tokens"), as y was.
    vocabulary_ : Vocabulary or None
        Input tokens (None for numeric input).
    target_vocabulary_ : Vocabulary
        Output tokens, with ``<bos>`` and ``<eos>``.
    output_length_ratio_ : float
        Largest ``len(y_i) / len(X_i)`` seen in training.
    longest_output_ : int
        Longest ``y_i`` seen in training.
    module_ : Seq2SeqNetwork
    history_, loss_curve_, validation_scores_, best_validation_score_, n_iter_
        As in the other estimators.

    Examples
    --------
    >>> from skrnn import Seq2Seq
    >>> X = ["abc", "hello", "seq", "rnn"] * 30
    >>> y = [s[::-1] for s in X]
    >>> model = Seq2Seq(hidden_size=32, max_epochs=30, random_state=0).fit(X, y)
    >>> model.predict(["abc"])  # doctest: +SKIP
    ['cba']
    """

    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "attention": [StrOptions({"luong", "bahdanau"}), None],
        "beam_size": [Interval(Integral, 1, None, closed="left")],
        "max_output_length": [Interval(Integral, 1, GENERATION_TOKEN_BUDGET, closed="both"),
                              StrOptions({"auto"})],
    }

    _fitted_attributes: dict = {
        **BaseSequenceEstimator._fitted_attributes,
        "target_kind_": _f.Attr(_f.one_of("tokens", "chars")),
        "target_vocabulary_": _f.Attr(_output_vocabulary),
        "output_length_ratio_": _f.Attr(_non_negative_float),
        "longest_output_": _f.Attr(_f.int_at_least(0)),
    }

    def __init__(
        self,
        cell="lstm",
        hidden_size=128,
        num_layers=1,
        bidirectional=True,
        *,
        embedding_dim=64,
        attention="luong",
        beam_size=1,
        max_output_length="auto",
        min_freq=1,
        max_vocab_size=None,
        dropout=0.2,
        input_dropout="auto",
        standardize=DEFAULT_STANDARDIZE,
        clip_value=None,
        clip_norm=1.0,
        batch_size=64,
        max_epochs=30,
        learning_rate=3e-3,
        weight_decay=0.0,
        solver="adam",
        momentum=0.9,
        lr_schedule="constant",
        lr_decay=0.5,
        lr_patience=1,
        lr_decay_after=4,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=1e-4,
        random_state=None,
        device="auto",
        precision="float32",
        verbose=0,
        warm_start=False,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.embedding_dim = embedding_dim
        self.attention = attention
        self.beam_size = beam_size
        self.max_output_length = max_output_length
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.standardize = standardize
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.solver = solver
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_patience = lr_patience
        self.lr_decay_after = lr_decay_after
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.warm_start = warm_start

    # -- fitting -----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on pairs (X[i], y[i]).

        Parameters
        ----------
        X : list of sequences
            Strings (one step per character), token lists, or 2-D float
            arrays ``(T_i, n_features)``.
        y : list of str or list of list of str
            The outputs: strings (characters) or token lists, of any length
            (empty allowed: the model then only emits ``<eos>``).

        Returns
        -------
        self : Seq2Seq
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One epoch over the pairs from the current weights (the first call learns the
        vocabularies; later output tokens must be known)."""
        return self._fit(X, y, incremental=True)

    def _check_targets(self, y, n, *, first):
        """y as canonical sequences (list of str or list of list of str), checked."""
        if y is None:
            raise ValueError("Seq2Seq needs y: the output sequence of every input.")
        targets, kind = check_sequences(y, name="y", allowed_kinds=("tokens", "chars"),
                                        allow_empty=True)
        if len(targets) != n:
            raise ValueError(f"X and y have different lengths: {n} input sequences but "
                             f"{len(targets)} outputs. Pass one output per input.")
        if not first and all(len(t) == 0 for t in targets):
            kind = self.target_kind_  # "" and [] are the same empty output
            targets = ["" if kind == "chars" else [] for _ in targets]
        if not first and kind != self.target_kind_:
            raise ValueError(f"y holds {kind} but the model was fitted with {self.target_kind_} "
                             "outputs (strings are characters, lists are tokens).")
        return targets, kind

    def _check_fit_targets(self, y, seqs, *, classes=None, first=True):
        targets, kind = self._check_targets(y, len(seqs), first=first)
        lengths = np.array([len(t) for t in targets], dtype=np.int64)
        ratio = float(max(len(t) / len(s) for t, s in zip(targets, seqs)))
        if first:
            self.target_kind_ = kind
            self.target_vocabulary_ = Vocabulary.build(targets, min_freq=self.min_freq,
                                                       bos_eos=True)
            self.output_length_ratio_ = ratio
            self.longest_output_ = int(lengths.max())
        else:
            self.output_length_ratio_ = max(self.output_length_ratio_, ratio)
            self.longest_output_ = max(self.longest_output_, int(lengths.max()))
        return self._encode_targets(targets, strict=not first)

    def _encode_targets(self, targets, *, strict):
        """``<bos> ids <eos>`` per output; ``strict``: an unknown output token is an error."""
        v = self.target_vocabulary_
        framed = []
        for i, t in enumerate(targets):
            ids = v.encode(t)
            if strict and len(ids) and (ids == v.unk_id).any():
                unknown = sorted({tok for tok in t if tok not in v.stoi})[:10]
                if unknown:
                    raise ValueError(
                        f"y[{i}] holds output tokens the model was not fitted with: {unknown}. "
                        "Refit (warm_start=False) with all outputs.")
            framed.append(np.concatenate([[v.bos_id], ids, [v.eos_id]]).astype(np.int64))
        return framed

    def _constant_loss(self):
        return float(np.log(len(self.target_vocabulary_)))

    def _network_config(self):
        return {"vocab_size": len(self.target_vocabulary_), "embedding_dim": self.embedding_dim,
                "cell": self.cell, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "attention": self.attention,
                "dropout": self.dropout}

    def _build_network(self, config):
        return Seq2SeqNetwork(make_encoder(config["encoder"]), config["vocab_size"],
                              config["embedding_dim"], config["cell"], config["hidden_size"],
                              config["num_layers"], config["attention"], config["dropout"])

    def _batch_loss(self, module, batch):
        targets = batch.targets  # (N, T + 2): <bos> ids <eos>, padded with IGNORE_INDEX
        logits = module(batch, targets[:, :-1].clamp(min=0))  # (N, T + 1, V)
        labels = targets[:, 1:]
        n = int((labels != _data.IGNORE_INDEX).sum())
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(),
                               ignore_index=_data.IGNORE_INDEX, reduction="sum")
        return loss / max(n, 1), n

    def _pair_log_likelihoods(self, module, data):
        """Per-pair summed log-probability (nats) of the outputs, and their token counts."""
        lengths = data.lengths
        out = np.zeros(len(data)), np.zeros(len(data), dtype=np.int64)
        with torch.no_grad():
            for idx in self._inference_batches(lengths):
                batch = _data.collate(data, idx, self.device_)
                targets = batch.targets
                logits = module(batch, targets[:, :-1].clamp(min=0)).float()
                labels = targets[:, 1:]
                mask = labels != _data.IGNORE_INDEX
                logp = torch.log_softmax(logits, dim=-1)
                picked = logp.gather(2, labels.clamp(min=0).unsqueeze(2)).squeeze(2)
                out[0][idx] = (picked * mask).sum(1).double().cpu().numpy()
                out[1][idx] = mask.sum(1).cpu().numpy()
        return out

    def _validation_groups(self, data):
        # A word with several pronunciations is several pairs: hold all of them
        # out together, or the validation score rewards memorising the input.
        keys = np.empty(len(data), dtype=object)
        keys[:] = [x.tobytes() for x in data.inputs]  # one dtype and width for all rows
        return keys

    def _validation_partial(self, module, data):
        total, count = self._pair_log_likelihoods(module, data)
        return float(total.sum()), int(count.sum())

    def _validation_combine(self, partials):
        total, n = sum(p[0] for p in partials), sum(p[1] for p in partials)
        return -total / n, total / n

    # -- outputs ----------------------------------------------------------------------

    def _check_decoding_params(self):
        """``beam_size`` and ``max_output_length`` may be set after fit: check them now."""
        validate_parameter_constraints(
            {k: self._parameter_constraints[k] for k in ("beam_size", "max_output_length")},
            {"beam_size": self.beam_size, "max_output_length": self.max_output_length},
            caller_name=type(self).__name__)

    def _bounds(self, lengths):
        """Most output tokens (``<eos>`` not counted) per input length."""
        return _bounds_rule(lengths, self.max_output_length, self.output_length_ratio_,
                            self.longest_output_)

    def _decode_ids(self, ids):
        """One output from drawn ids: cut at the first ``<eos>``, as str or token list."""
        v = self.target_vocabulary_
        ids = np.asarray(ids)
        end = np.flatnonzero(ids == v.eos_id)
        tokens = v.decode(ids[: end[0]] if end.size else ids)
        return "".join(tokens) if self.target_kind_ == "chars" else tokens

    def _banned(self):
        v = self.target_vocabulary_
        return [v.pad_id, v.bos_id, v.unk_id]

    def _search(self, module, batch, beam_size):
        """Decode a batch: ``(ids (N, T), log-probabilities (N,))``."""
        v = self.target_vocabulary_
        state = module.decoder_start(batch)
        bounds = torch.from_numpy(self._bounds(batch.lengths.cpu().numpy()) + 1).to(
            self.device_)  # + 1: <eos>
        start = torch.full((len(batch.lengths),), v.bos_id, dtype=torch.long,
                           device=self.device_)
        kw = dict(max_steps=int(bounds.max()), eos_id=v.eos_id, banned=self._banned(),
                  max_lengths=bounds)
        if beam_size == 1:
            return greedy_steps(module.stepper(), state, start, **kw)
        return beam_search(module.stepper(), state, start, beam_size=beam_size,
                           shared=("memory", "keys", "mask"), **kw)

    def predict(self, X):
        """The most likely output of each input (greedy, or beam search for ``beam_size > 1``).

        Parameters
        ----------
        X : list of sequences

        Returns
        -------
        list of str or list of list of str
            Strings when the model was fitted on string outputs, else token lists.
        """
        self._check_fitted()
        self._check_decoding_params()
        beam = self.beam_size

        def decode(module, batch):
            ids, _ = self._search(module, batch, beam)
            return [self._decode_ids(row) for row in ids.cpu().numpy()]

        return self._predict_outputs(X, decode)

    def _pairs(self, X, y):
        """Checked and encoded (X, y) pairs for scoring (unknown output tokens -> <unk>)."""
        self._check_fitted()
        seqs = self._check_inputs(X)
        targets, _ = self._check_targets(y, len(seqs), first=False)
        return self._encode_inputs(seqs, self._encode_targets(targets, strict=False)), targets

    def log_likelihood(self, X, y):
        """Log-probability in nats of each output ``y[i]`` given ``X[i]`` (``<eos>`` included).

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        data, _ = self._pairs(X, y)
        return self._pair_log_likelihoods(self.module_, data)[0]

    def score(self, X, y):
        """Exact-match accuracy: the fraction of inputs whose predicted output equals y[i].

        Higher is better, so ``GridSearchCV`` needs no scorer. For error rates
        see :func:`skrnn.metrics.token_error_rate`.
        """
        predicted = self.predict(X)
        targets, _ = self._check_targets(y, len(predicted), first=False)
        return exact_match_accuracy(targets, predicted)

    def sample(self, X, temperature=1.0, top_k=None, random_state=None, stop_at_eos=True,
               max_length=None):
        """Draw one output per input from the model (conditional generation).

        Parameters
        ----------
        X : list of sequences
        temperature : float, default=1.0
            Logits are divided by it (clamped to [1e-6, 1e6]).
        top_k : int or None, default=None
            Draw only among the ``top_k`` most likely tokens.
        random_state : int, RandomState instance or None, default=None
        stop_at_eos : bool, default=True
            False: ``<eos>`` is never drawn and every output has exactly
            ``max_length`` tokens.
        max_length : int or None, default=None
            Most output tokens; None: ``max_output_length``'s bound for each
            input.

        Returns
        -------
        list of str or list of list of str
        """
        self._check_fitted()
        if (not isinstance(temperature, numbers.Real) or isinstance(temperature, bool)
                or not math.isfinite(temperature) or temperature <= 0):
            raise ValueError(f"temperature must be a positive finite number, got "
                             f"{temperature!r}.")
        # <pad>, <bos>, <unk> are never drawn; nor is <eos> for a fixed length.
        n_drawable = len(self.target_vocabulary_) - len(self._banned()) - (not stop_at_eos)
        if top_k is not None and (not isinstance(top_k, Integral) or isinstance(top_k, bool)
                                  or not 1 <= top_k <= n_drawable):
            raise ValueError(f"top_k must be None or an int in [1, {n_drawable}], got "
                             f"{top_k!r}.")
        if max_length is not None and (not isinstance(max_length, Integral)
                                       or isinstance(max_length, bool) or max_length < 1):
            raise ValueError(f"max_length must be None or an int >= 1, got {max_length!r}.")
        if not stop_at_eos and max_length is None:
            raise ValueError("stop_at_eos=False needs max_length: the number of tokens every "
                             "output gets.")
        if max_length is not None and max_length > GENERATION_TOKEN_BUDGET:
            raise ValueError(f"max_length={max_length} exceeds the {GENERATION_TOKEN_BUDGET} "
                             "tokens one call may generate per output; lower it.")
        if n_drawable <= 0:
            raise ValueError("stop_at_eos=False needs an output token other than <eos> to "
                             "draw, and this model knows none (it was fitted on empty outputs).")
        self._check_decoding_params()
        seqs = self._check_inputs(X)
        if max_length is not None and len(seqs) * max_length > GENERATION_TOKEN_BUDGET:
            raise ValueError(f"sample could generate {len(seqs)} * max_length={max_length} "
                             f"tokens, more than the {GENERATION_TOKEN_BUDGET} one call may; "
                             "sample in several calls or lower max_length.")
        try:
            seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        except ValueError:
            raise ValueError(
                "random_state must be None, an int in [0, 2**32 - 1] or a "
                f"numpy.random.RandomState instance; got {random_state!r}.") from None
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        temperature = min(max(float(temperature), _MIN_TEMPERATURE), 1 / _MIN_TEMPERATURE)
        v = self.target_vocabulary_

        def draw(module, batch):
            n = len(batch.lengths)
            bounds = (np.full(n, max_length, dtype=np.int64) if max_length is not None
                      else self._bounds(batch.lengths.cpu().numpy()))
            start = torch.full((n,), v.bos_id, dtype=torch.long, device=self.device_)
            ids = sample_steps(module.stepper(), module.decoder_start(batch), start,
                               max_steps=int(bounds.max()) + (1 if stop_at_eos else 0),
                               eos_id=v.eos_id, temperature=temperature, top_k=top_k,
                               banned=self._banned(), generator=generator,
                               stop_at_eos=bool(stop_at_eos)).cpu().numpy()
            return [self._decode_ids(row[:b]) for row, b in zip(ids, bounds)]

        return self._predict_outputs(seqs, draw)

    # -- export ----------------------------------------------------------------------

    def _serving_network(self, network):
        raise TypeError("Seq2Seq exports as two graphs, its encoder and one decoder step: use "
                        "to_onnx(folder) and skrnn.seq2seq.onnx_greedy_decode (TorchScript "
                        "and torch.export programs of a whole Seq2Seq are not offered).")

    def to_onnx(self, path):
        """Export the encoder and one decoder step as two ONNX graphs, into folder ``path``.

        Writes ``encoder.onnx`` (``inputs`` (N, S) or (N, S, F), ``lengths``
        (N,) -> ``memory``, ``keys``, ``mask`` (N, S) bool, ``states``
        (layers * n_states, N, H)), ``decoder_step.onnx`` (``tokens`` (N,),
        ``memory``, ``keys``, ``mask``, ``states`` -> ``log_probs`` (N, V), ``new_states``,
        ``states``, ``attention`` (N, S)) and ``decoding.json`` (the output
        vocabulary, ``<bos>`` / ``<eos>`` ids and the length bound's rule).
        Batch and input length are dynamic. The driver loop is
        :func:`skrnn.seq2seq.onnx_greedy_decode` (a dozen lines of numpy,
        easy to port); inputs come from :meth:`export_inputs`.

        Returns
        -------
        path
        """
        import json
        import os

        from . import export as _export
        from ._files import write_text
        from ._torch import _to_cpu

        self._check_fitted()
        _export._require_onnx()
        network = self._restore_network(_to_cpu(self.module_.state_dict()),
                                        torch.device("cpu")).eval().requires_grad_(False)
        os.makedirs(path, exist_ok=True)
        n, s = 3, 4
        lengths = torch.tensor([4, 2, 3])
        inputs = (torch.zeros(n, s, self.n_features_in_) if self.input_kind_ == "numeric"
                  else torch.ones(n, s, dtype=torch.long))
        batch, steps = torch.export.Dim("batch"), torch.export.Dim("steps")
        from .encoder_decoder import DecoderStepGraph, EncoderGraph

        encoder = EncoderGraph(network).eval()
        _export.onnx_graph(encoder, (inputs, lengths), os.path.join(path, "encoder.onnx"),
                           input_names=["inputs", "lengths"],
                           output_names=["memory", "keys", "mask", "states"],
                           dynamic_shapes={"inputs": {0: batch, 1: steps},
                                           "lengths": {0: batch}})
        with torch.no_grad():
            memory, keys, mask, states = encoder(inputs, lengths)
        step = DecoderStepGraph(network, self._banned()).eval()
        tokens = torch.full((n,), self.target_vocabulary_.bos_id, dtype=torch.long)
        _export.onnx_graph(step, (tokens, memory, keys, mask, states),
                           os.path.join(path, "decoder_step.onnx"),
                           input_names=["tokens", "memory", "keys", "mask", "states"],
                           output_names=["log_probs", "new_states", "attention"],
                           dynamic_shapes={"tokens": {0: batch},
                                           "memory": {0: batch, 1: steps},
                                           "keys": {0: batch, 1: steps},
                                           "mask": {0: batch, 1: steps},
                                           "states": {1: batch}})
        v = self.target_vocabulary_
        meta = {"bos_id": v.bos_id, "eos_id": v.eos_id, "itos": list(v.itos),
                "target_kind": self.target_kind_, "max_output_length": self.max_output_length,
                "output_length_ratio": self.output_length_ratio_,
                "longest_output": self.longest_output_}
        write_text(os.path.join(path, "decoding.json"), json.dumps(meta, indent=1) + "\n")
        return path

    def attention_weights(self, X, y=None):
        """Where the decoder looked: per pair a ``(len(output), len(input))`` array.

        Row t holds the attention over the input positions when the model
        emitted output token t (rows sum to 1). ``y`` None: for the outputs
        ``predict`` gives; else for the given outputs (teacher forcing).

        Returns
        -------
        list of ndarray
        """
        self._check_fitted()
        if self.module_.attention is None:
            raise ValueError("This model has no attention (attention=None); fit it with "
                             "attention='luong' or 'bahdanau'.")
        X = self._check_inputs(X)  # once: a generator would be used up by predict
        if y is None:
            y = self.predict(X)
        data, targets = self._pairs(X, y)
        out = [None] * len(data)
        module = self.module_
        with torch.no_grad():
            for idx in self._inference_batches(data.lengths):
                batch = _data.collate(data, idx, self.device_)
                _, weights = module(batch, batch.targets[:, :-1].clamp(min=0),
                                    return_attention=True)
                weights = weights.float().cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = weights[row, : len(targets[i]), : data.lengths[i]]
        return out


def _bounds_rule(lengths, max_output_length, ratio, longest):
    """Most output tokens per input length (see ``max_output_length``)."""
    if max_output_length != "auto":
        return np.full(len(lengths), int(max_output_length), dtype=np.int64)
    cap = AUTO_LENGTH_FACTOR * longest + AUTO_LENGTH_MARGIN
    auto = np.ceil(ratio * np.asarray(lengths)) + AUTO_LENGTH_MARGIN
    return np.minimum(auto, cap).astype(np.int64)


def onnx_greedy_decode(path, inputs, lengths):
    """Greedy decoding with the two ONNX graphs of :meth:`skrnn.Seq2Seq.to_onnx` (onnxruntime).

    The reference driver loop, in numpy: run ``encoder.onnx`` once, then
    ``decoder_step.onnx`` once per output position, feeding back the most
    likely token, until every row has emitted ``<eos>`` or reached its length
    bound (``decoding.json`` holds the ids and the bound's rule). Equals
    ``predict`` with ``beam_size=1``.

    Parameters
    ----------
    path : str or path-like
        The folder ``to_onnx`` wrote.
    inputs, lengths : ndarray
        From :meth:`~skrnn._base.BaseSequenceEstimator.export_inputs`.

    Returns
    -------
    list of list of str
        The output tokens of each row (``<eos>`` not included); join them for
        character outputs.
    """
    import json
    import os

    import onnxruntime as ort

    with open(os.path.join(path, "decoding.json")) as fh:
        meta = json.load(fh)
    encoder = ort.InferenceSession(os.path.join(path, "encoder.onnx"))
    step = ort.InferenceSession(os.path.join(path, "decoder_step.onnx"))
    memory, keys, mask, states = encoder.run(None, {"inputs": inputs, "lengths": lengths})
    bounds = _bounds_rule(lengths, meta["max_output_length"], meta["output_length_ratio"],
                          meta["longest_output"]) + 1  # + 1: <eos>
    eos = meta["eos_id"]
    tokens = np.full(len(lengths), meta["bos_id"], dtype=np.int64)
    done = np.zeros(len(lengths), dtype=bool)
    out = []
    for t in range(int(bounds.max())):
        log_probs, states, _ = step.run(None, {"tokens": tokens, "memory": memory, "keys": keys,
                                               "mask": mask, "states": states})
        tokens = log_probs.argmax(axis=1)
        tokens[bounds <= t + 1] = eos  # the last allowed position holds <eos>
        tokens[done] = eos
        done |= tokens == eos
        out.append(tokens)
        if done.all():
            break
    itos = meta["itos"]
    rows = np.stack(out, axis=1) if out else np.zeros((len(lengths), 0), dtype=np.int64)
    result = []
    for row in rows:
        end = np.flatnonzero(row == eos)
        result.append([itos[i] for i in (row[: end[0]] if end.size else row)])
    return result

