"""What every skrnn estimator shares: parameters, the fit scaffold, devices, pickling.

A concrete estimator says how it encodes its targets, which head and loss
it uses and how it decodes outputs (see :mod:`skrnn.tagger`); everything
else happens here, once.
"""

from __future__ import annotations

import copy
import functools
import os
import textwrap
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _fitted as _f
from . import _registry
from . import data as _data
from . import distributed as _distributed
from . import training as _training
from ._torch import _tensor_bytes, _tensors_from_bytes, _to_cpu, _user_stacklevel, resolve_device
from ._validation import check_sequences
from .cells import CELLS
from .modules import RecurrentEncoder
from .vocab import Vocabulary
from .word_vectors import load_word_vectors

#: ``early_stopping="auto"`` turns early stopping on from this many sequences.
AUTO_EARLY_STOPPING_MIN_SEQUENCES = 1000

#: Probability of replacing a training token seen ``c`` times by ``<unk>`` is
#: ``alpha / (alpha + c)`` (Kiperwasser & Goldberg, 2016): singletons are
#: dropped 20% of the time, frequent words almost never, and the ``<unk>``
#: embedding learns from real contexts.
UNK_REPLACE_ALPHA = 0.25

#: Inference batches hold up to this many sequences (no gradients to store,
#: so large batches of short sequences are cheap and save per-batch work);
#: see :func:`skrnn.data.inference_batches` for how padding bounds them.
#: One-thread LSTM throughput (hidden 128 to 512, 25 steps) peaks at 128-256
#: rows and drops 10-15% at 1024 (the per-step state leaves the cache).
PREDICT_BATCH_ROWS = 256

#: A fit whose training loss never gets below this many times that of a
#: uniform prediction has diverged even if every number stayed finite (Adam
#: with learning_rate=1e6 moves every weight by ~1e6 per step: losses of
#: ~1e6 nats, finite weights, garbage predictions).
DIVERGED_LOSS_FACTOR = 10.0

#: Default of ``standardize`` (tagger, classifier, regressor): standardise
#: numeric input inside the network. Chosen by measurement: see
#: benchmarks/many_to_one.py.
DEFAULT_STANDARDIZE = True

#: What ``input_dropout="auto"`` means for each kind of input; None: the value
#: of ``dropout`` (token and character input keep dropout on their embeddings,
#: as before input_dropout existed). The numeric value was chosen by
#: measurement: see benchmarks/many_to_one.py.
AUTO_INPUT_DROPOUT = {"numeric": 0.0, "tokens": None, "chars": None}


def _doc_entry(head, text):
    """One numpydoc parameter entry: ``head`` and ``text`` wrapped below it."""
    body = textwrap.fill(text, width=78, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f"    {head}\n{body}\n"


def _input_params_doc(kinds):
    """The numpydoc entries of ``input_dropout`` (and, with numeric ``kinds``, ``standardize``).

    Generated from :data:`AUTO_INPUT_DROPOUT` and :data:`DEFAULT_STANDARDIZE`,
    so the documented defaults follow them wherever they are changed.
    """
    names = {"numeric": "numeric", "tokens": "token", "chars": "character"}
    groups = {}
    for kind in ("numeric", "tokens", "chars"):
        if kind in kinds:
            value = AUTO_INPUT_DROPOUT[kind]
            shown = "``dropout``" if value is None else f"{value:g}"
            groups.setdefault(shown, []).append(names[kind])
    auto = "; ".join(f"{shown} for {' and '.join(which)} input"
                     for shown, which in groups.items())
    what = ("the numeric steps, or the token embeddings and character features"
            if "numeric" in kinds else "the token embeddings")
    doc = _doc_entry(
        'input_dropout : float in [0, 1), "auto" or None, default="auto"',
        f'Dropout on the input representation (training only): {what}. "auto": {auto}'
        + (" (the numeric default chosen by measurement, see benchmarks/many_to_one.py)"
           if "numeric" in kinds else "")
        + "; None: ``dropout``, as before this parameter existed.")
    if "numeric" in kinds:
        doc += _doc_entry(
            f"standardize : bool, default={DEFAULT_STANDARDIZE}",
            "Numeric input only (unused for token and character input): standardise each "
            "feature inside the network to mean 0 and standard deviation 1 over all real "
            "steps of the training sequences (padding never counts; a constant feature gets "
            "scale 1, as in scikit-learn's ``StandardScaler``). Computed by the first ``fit`` "
            "(or ``partial_fit``) and kept by ``partial_fit`` and ``warm_start``; part of "
            "the network, so saved, pickled and exported with it (see ``input_mean_`` and "
            "``input_scale_``). The default was chosen by measurement, see "
            "benchmarks/many_to_one.py.")
    return doc


def _precision_param_doc():
    """The numpydoc entry of ``precision``."""
    return _doc_entry(
        'precision : {"float32", "bfloat16"}, default="float32"',
        'The arithmetic of training. "bfloat16": each batch\'s forward pass and loss run '
        'under ``torch.autocast`` (mixed precision): matrix products and the fused LSTM '
        'kernels in bfloat16; losses, weights, the optimizer\'s state and the weight '
        'updates stay float32. Faster only where the hardware computes in bfloat16 '
        '(CPUs with AVX512-BF16 or AMX, recent GPUs; slower on other CPUs): measured on '
        'an AMD EPYC with AVX512-BF16, 1 thread, the character language model trained '
        '1.6x as fast with the same validation loss (benchmarks/language_model.py). '
        'GRU and custom cells run their recurrence in float32 and gain less. '
        'Prediction, scoring and early-stopping validation always run in float32.')


def _optimizer_params_doc(solver_default="adam"):
    """The numpydoc entries of ``solver``, ``momentum`` and the learning-rate schedule."""
    return (
        _doc_entry(
            f'solver : {{"adam", "sgd"}}, default="{solver_default}"',
            'The optimizer: Adam, or stochastic gradient descent with ``momentum`` (the '
            'classic recipe for word-level language models; its ``learning_rate`` is of '
            'another scale, e.g. 1.0 to 20 where Adam takes 1e-3). Both use the fused '
            'kernel where PyTorch has one. Changing it between ``partial_fit`` calls starts '
            'the new optimizer with fresh state.')
        + _doc_entry(
            "momentum : float in [0, 1], default=0.9",
            'Momentum of ``solver="sgd"`` (unused by Adam), as in scikit-learn\'s MLP.')
        + _doc_entry(
            'lr_schedule : {"constant", "plateau", "step"}, default="constant"',
            '"constant": ``learning_rate`` throughout. "plateau": multiply the rate by '
            '``lr_decay`` each time ``lr_patience`` epochs in a row did not improve the '
            'validation score by more than ``tol`` (the training loss without early '
            'stopping), like scikit-learn\'s MLP ``learning_rate="adaptive"``. "step": '
            '``learning_rate`` for ``lr_decay_after`` epochs, then multiplied by ``lr_decay`` '
            'every epoch (Zaremba et al., 2014). Computed from ``history_``, so '
            '``partial_fit``, warm starts and loaded models continue the schedule; each '
            'epoch\'s rate is recorded as ``history_[i]["lr"]``.')
        + _doc_entry("lr_decay : float in (0, 1), default=0.5",
                     'The factor of each decay of "plateau" and "step".')
        + _doc_entry("lr_patience : int, default=1",
                     '"plateau" only: epochs without improvement before each decay.')
        + _doc_entry("lr_decay_after : int, default=4",
                     '"step" only: epochs at the initial rate before the first decay.')
    )


def _input_attributes_doc():
    """The numpydoc entries of the fitted ``input_mean_`` and ``input_scale_``."""
    return """    input_mean_, input_scale_ : ndarray of shape (n_features,)
        The standardisation of numeric input, ``(x - input_mean_) /
        input_scale_``, as the network applies it (read from its float32
        buffers). Only with numeric input and ``standardize=True``.
"""


#: Public methods that read the fitted state. Each runs on a snapshot of the
#: estimator's attributes taken when the call starts (:func:`_on_snapshot`).
_READERS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score",
            "perplexity", "sample", "log_likelihood", "attention_weights", "save", "to_onnx",
            "to_torchscript", "export_inputs", "__getstate__")


def _on_snapshot(method):
    """Run ``method`` on the fitted state as it was when the call began.

    A fit publishes its new fitted state by swapping the instance's
    ``__dict__`` in one assignment (:meth:`BaseSequenceEstimator._publish`);
    copying the dict here is equally atomic under the GIL. So a reader in
    another thread sees the old model or the new one, never a network of one
    fit with the vocabulary or classes of another.
    """
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        return method(view, *args, **kwargs)

    call._on_snapshot = True
    return call


class BaseSequenceEstimator(BaseEstimator):
    """Base class of the recurrent estimators. Not for direct use.

    A concrete estimator provides:

    - ``_check_fit_targets(y, seqs, *, classes, first)``: validate y, learn
      its encoding on the first fit, return the encoded targets;
    - ``_network_config()`` and ``_build_network(config)``: the head's
      settings and the torch network built from ``_network_config_``;
    - ``_batch_loss(module, batch) -> (mean loss, n_items)``;
    - ``_validation_partial(module, data)`` and
      ``_validation_combine(parts) -> (loss, score)``, higher score better:
      what one part of the validation data adds up to, and the scores of
      all parts together. ``_validation_score`` combines a single part;
      data-parallel training scores one shard per process and combines
      them. (An estimator that overrides ``_validation_score`` instead,
      with ``_validation_combine = None``, is validated on rank 0 only.)
    - optionally ``_epoch_batches(train_data, rng)`` (default: length buckets);
    - optionally ``_loss_weight(batch, n)`` when ``_batch_loss`` is not a plain
      mean over ``n`` items (data-parallel training needs the summed loss).
    """

    _parameter_constraints: dict = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "char_embedding_dim": [Interval(Integral, 1, None, closed="left"), None],
        "char_filters": [Interval(Integral, 1, None, closed="left")],
        "min_freq": [Interval(Integral, 1, None, closed="left")],
        "max_vocab_size": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"}), None],
        "standardize": ["boolean"],
        "clip_value": [Interval(Real, 0, None, closed="neither"), None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions(set(_training.SOLVERS))],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "lr_schedule": [StrOptions(set(_training.LR_SCHEDULES))],
        "lr_decay": [Interval(Real, 0, 1, closed="neither")],
        "lr_patience": [Interval(Integral, 1, None, closed="left")],
        "lr_decay_after": [Interval(Integral, 0, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    #: The fitted attributes every estimator has (see skrnn._fitted): what
    #: ``save`` stores and ``load`` accepts. Estimators add their own.
    _fitted_attributes: dict = {
        "input_kind_": _f.Attr(_f.one_of("tokens", "chars", "numeric")),
        "n_features_in_": _f.Attr(_f.int_at_least(1),
                                  required=lambda a: a.get("input_kind_") == "numeric"),
        "vocabulary_": _f.Attr(_f.vocabulary(Vocabulary, for_kinds=("tokens", "chars"))),
        "char_vocabulary_": _f.Attr(_f.vocabulary(Vocabulary, for_kinds=("tokens",),
                                                  optional=True)),
        "_random_state": _f.Attr(_f.instance_of(np.random.RandomState)),
        "_network_config_": _f.Attr(_f.instance_of(dict)),
        # Absent from files written before set_params-after-fit was saved faithfully.
        "_fitted_params": _f.Attr(_f.instance_of(dict), required=False),
        "history_": _f.Attr(_f.list_of(_f.history_record)),
        "loss_curve_": _f.Attr(_f.list_of(_f.finite_float)),
        "validation_scores_": _f.Attr(_f.optional(_f.list_of(_f.finite_float))),
        "best_validation_score_": _f.Attr(_f.optional(_f.finite_float)),
        "n_iter_": _f.Attr(_f.int_at_least(0)),
        # Only fits with word_vectors set it (files written before it existed lack it).
        "n_word_vectors_": _f.Attr(_f.int_at_least(0), required=False),
    }

    #: Values of parameters that files written before the parameter existed
    #: lack: those that reproduce how such a model was fitted. skrnn.load uses
    #: them for any of these a file's parameters (and its _fitted_params) leave
    #: out; a parameter the class does not have is skipped. A new parameter
    #: whose default changes what a fit does adds its old behaviour here, and
    #: leaves the encoder / network config unchanged for that value.
    _legacy_params: dict = {"standardize": False, "input_dropout": None, "solver": "adam",
                            "momentum": 0.9, "lr_schedule": "constant", "lr_decay": 0.5,
                            "lr_patience": 1, "lr_decay_after": 4, "precision": "float32"}

    #: Parameters whose "auto" means a value per kind of input (see _setting):
    #: name -> {"numeric": ..., "tokens": ..., "chars": ...}.
    _auto_params: dict = {"input_dropout": AUTO_INPUT_DROPOUT}

    @classmethod
    def _legacy_values(cls, present):
        """``_legacy_params`` for the parameters of this class that ``present`` lacks.

        A file or pickle written before a parameter existed lacks it; the
        legacy value reproduces how that model was fitted (the class default
        may have changed behaviour since). Used by ``__setstate__`` and
        :func:`skrnn.load`.
        """
        valid = set(cls._get_param_names())
        return {k: v for k, v in cls._legacy_params.items()
                if k in valid and k not in present}

    # -- sklearn plumbing ---------------------------------------------------

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _registry.register(cls)  # skrnn.load finds classes there
        # Every estimator's readers (its own or inherited) run on a snapshot.
        for name in _READERS:
            method = getattr(cls, name, None)
            if callable(method) and not getattr(method, "_on_snapshot", False):
                setattr(cls, name, _on_snapshot(method))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    #: Kinds of X the estimator accepts (see skrnn._validation.SEQUENCE_KINDS).
    _allowed_kinds = ("tokens", "chars", "numeric")
    #: Whether the vocabulary reserves <bos> / <eos> (language models).
    _bos_eos = False

    # -- serving (export) hooks: skrnn.export calls these, knowing no estimator type --

    #: Name of the exported model's output ("proba", "log_proba", "prediction").
    _serving_output = "proba"

    def _serving_network(self, network):
        """Wrap a CPU copy of ``module_`` into the module that export traces.

        ``network(*export_inputs)`` must return the estimator's final
        outputs (see :mod:`skrnn.export`); estimators that can be exported
        override this.
        """
        raise TypeError(f"{type(self).__name__} has a {type(network).__name__}, which "
                        "skrnn.export does not know how to export.")

    def _serving_data(self, X):
        """X checked and encoded as the exported model's inputs (an EncodedData)."""
        return self._encode_inputs(self._check_inputs(X))

    def _check_fitted(self):
        check_is_fitted(self, "module_")

    def __sklearn_is_fitted__(self):
        # Fitted means "has a network": a fit that failed (e.g. diverged in its
        # first epoch) may leave classes_ or vocabulary_ behind, but no module_.
        return hasattr(self, "module_")

    def _constant_loss(self):
        """Training loss of a uniform prediction, the scale a sane fit stays below.

        ``log(n_classes)`` for cross-entropy over ``classes_``; estimators
        with another loss override it (None: no check).
        """
        classes = getattr(self, "classes_", None)
        return None if classes is None else float(np.log(max(len(classes), 2)))

    # -- inputs ---------------------------------------------------------------

    def _fit_inputs(self, X):
        """Check X at fit time and learn its vocabularies / feature count.

        With ``word_vectors`` (estimators that have the parameter), the
        vectors are read here and the vocabulary extended with their words;
        the embedding rows they initialise wait in ``_pending_word_vectors``
        for the network (:meth:`_fit_staged` applies them and drops them).
        """
        seqs, kind = check_sequences(X, allowed_kinds=self._allowed_kinds)
        self.input_kind_ = kind
        source = getattr(self, "word_vectors", None)
        if source is not None and kind != "tokens":
            what = "strings (one step per character)" if kind == "chars" else "numeric arrays"
            raise ValueError(
                f"word_vectors needs X to hold token lists (lists of str, one word per step); "
                f"X holds {what}. Split the text into words, or set word_vectors=None."
            )
        if kind == "numeric":
            self.n_features_in_ = seqs[0].shape[1]
            self.vocabulary_ = None
            self.char_vocabulary_ = None
        else:
            self.vocabulary_ = Vocabulary.build(
                seqs, min_freq=self.min_freq, max_size=self.max_vocab_size,
                bos_eos=self._bos_eos,
            )
            if source is not None:
                self._add_word_vectors(source)
            char_dim = getattr(self, "char_embedding_dim", None)
            use_chars = kind == "tokens" and char_dim is not None
            self.char_vocabulary_ = (
                # Each token is a str, i.e. a sequence of characters to count.
                Vocabulary.build(tok for seq in seqs for tok in seq) if use_chars else None
            )
        return seqs

    def _add_word_vectors(self, source):
        """Read ``source`` and extend ``vocabulary_`` with its words (see ``word_vectors``).

        The vocabulary becomes the training words, in their order, followed
        by every vector word not among them (in the vectors' order; special
        tokens such as ``"<unk>"`` are skipped), with the lower-case
        fallback on. Sets ``n_word_vectors_`` and ``_pending_word_vectors``
        = ``(ids, vectors, rows)``: embedding row ``ids[i]`` gets
        ``vectors[rows[i]]``, for every word with a vector (a training word
        also through its lower-case form).
        """
        words, vectors = load_word_vectors(source)
        dim = vectors.shape[1]
        if dim != self.embedding_dim:
            raise ValueError(
                f"The word vectors have {dim} dimensions but embedding_dim={self.embedding_dim}: "
                f"the embedding is initialised with them, so set embedding_dim={dim}."
            )
        vocab = self.vocabulary_
        n_special = 4 if vocab.bos_eos else 2  # <pad>, <unk> (, <bos>, <eos>)
        trained = vocab.itos[n_special:]
        stoi = vocab.stoi  # the specials (and "<pad>") are keys too: never added
        extra = [w for w in words if w not in stoi]
        self.vocabulary_ = Vocabulary(
            trained + extra, bos_eos=vocab.bos_eos,
            counts=np.concatenate([vocab.counts[n_special:],
                                   np.zeros(len(extra), dtype=np.int64)]),
            lowercase_fallback=True,
        )
        index = {w: i for i, w in enumerate(words)}
        ids, rows = [], []
        for offset, word in enumerate(trained):
            row = index.get(word)
            if row is None:
                row = index.get(word.lower())
            if row is not None:
                ids.append(n_special + offset)
                rows.append(row)
        start = n_special + len(trained)
        ids.extend(range(start, start + len(extra)))
        rows.extend(index[w] for w in extra)
        self.n_word_vectors_ = len(ids)
        self._pending_word_vectors = (np.asarray(ids, dtype=np.int64), vectors,
                                      np.asarray(rows, dtype=np.int64))

    def _check_inputs(self, X):
        """Check X after fit against what was seen at fit time."""
        return check_sequences(
            X, kind=self.input_kind_, n_features=getattr(self, "n_features_in_", None),
            allowed_kinds=self._allowed_kinds,
        )[0]

    def _encode_inputs(self, seqs, targets=None):
        if self.input_kind_ == "numeric":
            return _data.EncodedData(inputs=seqs, targets=targets)
        inputs = [self.vocabulary_.encode(s) for s in seqs]
        forms = matrix = None
        if self.char_vocabulary_ is not None:
            forms, matrix = _data.encode_char_forms(seqs, self.char_vocabulary_)
        return _data.EncodedData(inputs=inputs, targets=targets, forms=forms, char_matrix=matrix)

    def _encoder_config(self):
        cfg = dict(
            cell=self._setting("cell"),
            hidden_size=self._setting("hidden_size"),
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
        )
        # Keys are left out where their value means what a config without them
        # meant, so the configs of models saved before they existed still
        # compare equal (skrnn.persistence._check_consistent, warm starts).
        input_dropout = self._input_dropout()
        if input_dropout != self.dropout:
            cfg["input_dropout"] = input_dropout
        if self.input_kind_ == "numeric":
            cfg["n_features"] = self.n_features_in_
            if getattr(self, "standardize", False):
                cfg["standardize"] = True
        else:
            cfg.update(vocab_size=len(self.vocabulary_), embedding_dim=self.embedding_dim)
            n_vectors = getattr(self, "n_word_vectors_", None)
            if getattr(self, "freeze_embeddings", False) and n_vectors is not None:
                # The rows from word_vectors are constants of the network (its config,
                # so save / load, pickling and warm starts keep them frozen).
                cfg["frozen_embeddings"] = n_vectors
            if self.char_vocabulary_ is not None:
                cfg.update(
                    n_chars=len(self.char_vocabulary_),
                    char_embedding_dim=self.char_embedding_dim,
                    char_filters=self.char_filters,
                )
        return cfg

    def _setting(self, name):
        """The value of parameter ``name`` for this fit: ``"auto"`` resolved by input kind.

        ``_auto_params[name]`` maps each kind of input to what ``"auto"``
        means (the estimator's defaults for that kind, chosen by
        measurement); any other value is used as given.
        """
        value = getattr(self, name)
        if isinstance(value, str) and value == "auto" and name in self._auto_params:
            return self._auto_params[name][self.input_kind_]
        return value

    def _input_dropout(self):
        """The dropout rate on the input representation: ``input_dropout`` resolved."""
        value = self._setting("input_dropout") if hasattr(self, "input_dropout") else None
        return self.dropout if value is None else float(value)

    def _input_standardization(self):
        """``(mean, scale)`` float64 arrays the network standardises numeric input with.

        Read from the encoder's buffers, the one place they are kept. Raises
        AttributeError (so ``hasattr`` is False) when there are none.
        """
        module = self.__dict__.get("module_")
        encoder = _standardizing_encoder(module) if module is not None else None
        if encoder is None:
            raise AttributeError(
                f"This {type(self).__name__} has no input standardisation: it has one only "
                "once fitted on numeric input with standardize=True."
            )
        return (encoder.input_mean.detach().cpu().numpy().astype(np.float64),
                encoder.input_scale.detach().cpu().numpy().astype(np.float64))

    @property
    def input_mean_(self):
        """Per-feature means subtracted from numeric input (``standardize=True``), float64."""
        return self._input_standardization()[0]

    @property
    def input_scale_(self):
        """Per-feature scales numeric input is divided by (``standardize=True``), float64."""
        return self._input_standardization()[1]

    # -- fitting ----------------------------------------------------------------

    def _fit(self, X, y, *, incremental=False, classes=None):
        """Fit on a working copy and publish its fitted state in one step at the end.

        Why a copy: a ``predict`` running in another thread meanwhile keeps
        using the old model (never a network with the new vocabulary, never
        dropout switched on under it), and a fit that fails or is
        interrupted before it finishes leaves the estimator exactly as it
        was. See "Thread safety" in docs/reliability.md.
        """
        fitted = hasattr(self, "module_")
        first = not fitted or not (incremental or self.warm_start)
        rng = getattr(self, "_random_state", None) if not first else None
        rng_state = rng.get_state() if rng is not None else None
        with _training.interrupt_once():
            work = self._working_copy(continuing=not first)
            try:
                work._fit_staged(X, y, first=first, incremental=incremental, classes=classes)
            except BaseException:
                if rng_state is not None:
                    rng.set_state(rng_state)  # shared with the copy: undo its draws
                raise
            self._publish(work)
        return self

    def _working_copy(self, *, continuing):
        """A shallow copy of this estimator to train; its network and optimizer are its own."""
        work = object.__new__(type(self))
        state = dict(self.__dict__)
        for name in ("module_", "optimizer_"):
            state.pop(name, None)
        if not continuing:
            # A fresh fit starts from the parameters alone: nothing of the
            # previous fit (fitted attributes end in "_") may leak into it.
            state = {k: v for k, v in state.items()
                     if not (k.endswith("_") and not k.startswith("__"))}
        work.__dict__.update(state)
        if continuing:
            work.module_ = copy.deepcopy(self.module_)
            work.optimizer_ = self._new_optimizer(work.module_)
            # A solver changed by set_params starts with fresh moments: another
            # optimizer's state means nothing to it.
            if type(work.optimizer_) is type(self.optimizer_):
                work.optimizer_.load_state_dict(copy.deepcopy(self.optimizer_.state_dict()))
        return work

    def _publish(self, work):
        """Make ``work``'s fitted state this estimator's, in one assignment.

        Parameters changed (``set_params``) while the fit ran stay as set.
        """
        state = work.__dict__
        if "module_" in state:
            state["module_"].eval()  # prediction never switches modes (thread safety)
        current = self.__dict__
        for name in self._get_param_names():
            if name in current:
                state[name] = current[name]
        # One pointer swap: a reader that copied the old __dict__ (see
        # _on_snapshot) keeps a complete old state, one that comes after sees
        # the complete new one.
        self.__dict__ = state

    def _fit_staged(self, X, y, *, first, incremental=False, classes=None):
        """The fit itself, on the working copy made by :meth:`_fit`."""
        # Launched by torchrun: train data-parallel (None otherwise, and nothing changes).
        ddp = _distributed.setup(self.device, resolve_device)
        if first:
            self.device_ = resolve_device(self.device) if ddp is None else ddp.device
            self._random_state = check_random_state(self.random_state)
            if ddp is not None:
                self._random_state = ddp.sync_random_state(self._random_state, self.random_state)
            seqs = self._fit_inputs(X)
        else:
            seqs = self._check_inputs(X)
        targets = self._check_fit_targets(y, seqs, classes=classes, first=first)
        data = self._encode_inputs(seqs, targets)
        if ddp is not None:
            ddp.check_same_data(data, extra=(first, incremental))
        rng = self._random_state
        # Seed torch for initialisation and dropout inside a forked RNG, so
        # the same random_state gives the same weights and nothing leaks
        # into (or depends on) the global torch seed.
        seed = int(rng.randint(np.iinfo(np.int32).max))
        devices = [self.device_.index or 0] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if first:
                self._network_config_ = {"encoder": self._encoder_config(),
                                         **self._network_config()}
                self.module_ = self._build_network(self._network_config_).to(self.device_)
                encoder = _standardizing_encoder(self.module_)
                if encoder is not None:
                    # Once, on a fresh fit: partial_fit and warm starts keep the
                    # network's buffers, hence this first fit's statistics.
                    encoder.set_standardization(*feature_standardization(seqs))
                self._init_network(self.module_)
                self.optimizer_ = self._new_optimizer(self.module_)
                # What the network was built from; set_params may change the
                # parameters later, and save / load keep both (persistence.py).
                self._fitted_params = {k: v for k, v in self.get_params(deep=False).items()
                                       if k != "random_state"}
                self.history_, self.loss_curve_ = [], []
                self.validation_scores_ = None
                self.best_validation_score_ = None
                self.n_iter_ = 0
            else:
                config = {"encoder": self._encoder_config(), **self._network_config()}
                if config != self._network_config_:
                    raise ValueError(
                        f"{type(self).__name__} cannot continue training (warm_start or "
                        "partial_fit) after the network's shape parameters changed: fitted with "
                        f"{self._network_config_}, now {config}. Set warm_start=False to refit."
                    )
                for group in self.optimizer_.param_groups:
                    group["lr"] = self._setting("learning_rate")
                    group["weight_decay"] = self.weight_decay
                    if "momentum" in group:
                        group["momentum"] = self.momentum
            if ddp is not None and ddp.torch_seed(seed) is not None:
                # Same initial weights everywhere, different dropout masks per rank.
                torch.manual_seed(ddp.torch_seed(seed))
            result = self._train(data, rng, incremental=incremental, ddp=ddp)
        self._record(result, incremental=incremental, first=first,
                     early_stopping=self._use_early_stopping(len(data), incremental))
        return self

    def _use_early_stopping(self, n_sequences, incremental):
        if incremental:
            return False
        if self.early_stopping == "auto":
            return n_sequences >= AUTO_EARLY_STOPPING_MIN_SEQUENCES
        return bool(self.early_stopping)

    def _train(self, data, rng, *, incremental, ddp=None):
        validate = None
        train_data = data
        if self._use_early_stopping(len(data), incremental):
            n_valid = int(round(self.validation_fraction * len(data)))
            if n_valid < 1 or n_valid >= len(data):
                raise ValueError(
                    f"early_stopping needs at least one training and one validation sequence, "
                    f"but validation_fraction={self.validation_fraction} of {len(data)} "
                    f"sequences gives {n_valid} for validation. Use more data, change "
                    "validation_fraction, or set early_stopping=False."
                )
            perm = rng.permutation(len(data))
            groups = self._validation_groups(data)
            if groups is None:
                valid_idx, train_idx = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
            else:
                valid_idx, train_idx = grouped_holdout(perm, groups, n_valid)
            valid_data, train_data = data.subset(valid_idx), data.subset(train_idx)
            validate = lambda module: self._validation_score(module, valid_data)  # noqa: E731
        epoch_batches = self._epoch_batches(train_data, rng)
        loss_fn, sync, verbose = self._batch_loss, None, self.verbose
        schedule = None
        if self.lr_schedule != "constant":
            done = list(self.history_)
            schedule = lambda records: _training.scheduled_rate(  # noqa: E731
                self.lr_schedule, self._setting("learning_rate"), done + records,
                decay=self.lr_decay, patience=self.lr_patience,
                decay_after=self.lr_decay_after, tol=self.tol)
        if ddp is not None:
            # Each rank trains on its rows of every global batch through
            # DistributedDataParallel; see skrnn.distributed.
            sync = ddp.data_parallel(self.module_, self._batch_loss, self._loss_weight)
            epoch_batches, loss_fn = sync.epoch_batches(epoch_batches), sync.loss_fn
            if validate is not None and getattr(self, "_validation_combine", None) is not None:
                validate = ddp.sharded_validation(valid_data, self._validation_partial,
                                                  self._validation_combine)
            elif validate is not None:
                validate = ddp.shared_validation(validate)
            verbose = verbose if ddp.rank == 0 else 0

        return _training.train(
            self.module_,
            self.optimizer_,
            epoch_batches,
            loss_fn,
            max_epochs=1 if incremental else self._setting("max_epochs"),
            validate=validate,
            n_iter_no_change=self._setting("n_iter_no_change"),
            tol=self.tol,
            clip_value=self.clip_value,
            clip_norm=self.clip_norm,
            verbose=verbose,
            start_epoch=self.n_iter_,
            check_convergence=not incremental,
            sync=sync,
            rng=rng,
            learning_rate=schedule,
            # Large word embeddings: sparse gradients until the step (not data-parallel).
            sparse=_training.sparse_embeddings(self.module_) if ddp is None else (),
            precision=self._training_precision(),
        )

    def _training_precision(self):
        """The dtype training autocasts to (None: float32), for the ``precision`` parameter."""
        dtype = _PRECISIONS[self.precision]
        cell = self._setting("cell")
        if dtype is not None and not issubclass(CELLS[cell].layer, torch.nn.RNNBase):
            # A cell with its own autograd recurrence would mix dtypes in its backward pass.
            fused = sorted(n for n, c in CELLS.items() if issubclass(c.layer, torch.nn.RNNBase))
            raise ValueError(
                f'precision="{self.precision}" needs a cell that runs as one of torch\'s '
                f"recurrent layers ({', '.join(fused)}); cell={cell!r} runs its own recurrence, "
                'which autocast does not support yet. Use precision="float32".')
        return dtype

    def _init_network(self, module):
        """Fill what a fresh network learns from the data rather than from training.

        Called once per fresh fit, right after the network is built (not by
        ``partial_fit`` or warm starts, which keep the fitted network): here
        the pretrained ``word_vectors`` fill their embedding rows; the tagger
        adds its tag scheme's valid transitions (overrides call super).
        """
        # Once, like the standardisation: the estimator keeps no copy of the vectors.
        pending = self.__dict__.pop("_pending_word_vectors", None)
        if pending is not None:
            _embedding_encoder(module).set_pretrained(*pending)

    def _validation_groups(self, data):
        """Group ids of the rows of ``data`` that must fall on one side of the validation split.

        None (the default): rows are held out one by one. An estimator whose
        rows can share an input (:class:`skrnn.Seq2Seq`: a word with several
        pronunciations is several pairs) returns one id per row, so that no
        input is seen in training and scored as "held out".
        """
        return None

    def _validation_score(self, module, data):
        """``(loss, score)`` of held-out ``data``: its one part, combined."""
        return self._validation_combine([self._validation_partial(module, data)])

    def _loss_weight(self, batch, n):
        """What ``_batch_loss``'s mean is averaged over: mean times this is the summed loss.

        ``n`` (the items counted) by default. Data-parallel training scales
        each process's loss by it so that the averaged gradient is that of
        the global batch's mean loss.
        """
        return n

    def _epoch_batches(self, train_data, rng):
        """Return ``epoch_batches(epoch)``: the training batches of one epoch.

        Default: length buckets of ``batch_size`` sequences, shuffled each
        epoch, with rare tokens replaced by ``<unk>`` at random.
        """
        unk_rate = None
        if self.input_kind_ == "tokens":
            counts = self.vocabulary_.counts.astype(np.float64)
            unk_rate = np.where(counts > 0, UNK_REPLACE_ALPHA / (UNK_REPLACE_ALPHA + counts), 0.0)
        device = self.device_
        unk_id = Vocabulary.unk_id

        def epoch_batches(epoch):
            batches = _data.bucket_batches(train_data.lengths, self.batch_size, rng)
            return [
                (lambda idx=idx: _data.collate(train_data, idx, device, unk_id=unk_id,
                                               unk_rate=unk_rate, rng=rng))
                for idx in batches
            ]

        return epoch_batches

    def _record(self, result, *, incremental, first, early_stopping=False):
        name = type(self).__name__
        done = [h for h in result.history if not h.get("diverged")]
        # New lists, not extend(): a reader holding the old state keeps its history.
        self.history_ = self.history_ + result.history
        self.loss_curve_ = self.loss_curve_ + [h["train_loss"] for h in done]
        if any("valid_score" in h for h in done):
            scores = [h["valid_score"] for h in done]
            self.validation_scores_ = (self.validation_scores_ or []) + scores
            self.best_validation_score_ = result.best_score
        self.n_iter_ += len(done)
        if result.status == "diverged":
            epoch = result.history[-1]["epoch"]
            if first and not done:
                # Raised on the working copy: _fit then publishes nothing.
                raise ValueError(
                    f"{name} training diverged in epoch {epoch}: the loss became NaN or "
                    f"infinite. Lower learning_rate (now {self._setting('learning_rate')}), set "
                    "clip_norm (e.g. 1.0), or scale numeric inputs (e.g. StandardScaler)."
                )
            warnings.warn(
                f"{name} training diverged in epoch {epoch} (non-finite loss) and was stopped; "
                f"the estimator keeps the weights of epoch {epoch - 1}. Lower learning_rate "
                f"(now {self._setting('learning_rate')}) or set clip_norm to train further.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
        elif result.status == "interrupted":
            if result.best_score is not None:
                kept = f"the best weights so far (epoch {result.best_epoch})"
            elif done:
                kept = "the weights of the last finished epoch"
            else:
                kept = "the weights it had before this call (no epoch finished)"
            warnings.warn(
                f"{name} training was interrupted (KeyboardInterrupt) after {len(done)} "
                f"epoch(s); the estimator is fitted with {kept}. Call partial_fit or fit with "
                "warm_start=True to continue.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        elif first and self._blown_up(done):
            # Only for a fresh fit: a later partial_fit / warm start may see data on
            # another scale than the first fit's (the regressor's frozen y_scale_), where
            # a large loss is legitimate.
            warnings.warn(
                f"{name} training diverged: the training loss never went below "
                f"{min(h['train_loss'] for h in done):.4g}, over {DIVERGED_LOSS_FACTOR:g} times "
                f"{max(self._constant_loss(), 1.0):.4g} (the loss of a constant prediction, "
                "at least 1), although the "
                f"weights stayed finite; the model is unusable. Lower learning_rate (now "
                f"{self._setting('learning_rate')}), set clip_norm (e.g. 1.0), or scale numeric "
                "inputs.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
        elif result.status == "max_epochs":
            advice = "Increase max_epochs"
            if not early_stopping:
                advice += " or turn on early_stopping"
            warnings.warn(
                f"{name}: max_epochs={self._setting('max_epochs')} reached and the optimization "
                f"hasn't converged yet. {advice}.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )

    def _blown_up(self, done):
        """Whether every finished epoch of this call had an absurdly high (finite) loss."""
        reference = self._constant_loss()
        if reference is None or not done:
            return False
        return min(h["train_loss"] for h in done) > DIVERGED_LOSS_FACTOR * max(reference, 1.0)

    # -- inference ----------------------------------------------------------------

    def _inference_batches(self, lengths):
        """Length-sorted batches for prediction, scoring and validation (no gradients).

        Up to ``max(batch_size, PREDICT_BATCH_ROWS)`` sequences, cut where
        padding would exceed 5% (:func:`skrnn.data.inference_batches`): on
        Brown POS 1.03 padded steps per real one instead of 1.11 with fixed
        batches of 256, and ~5% more tokens per second (benchmarks/inference.py).
        """
        return _data.inference_batches(lengths, max(self.batch_size, PREDICT_BATCH_ROWS))

    def _run_inference(self, X, fn, collect):
        """Call ``collect(idx, fn(module, batch))`` for each inference batch of X.

        ``idx`` are the batch's positions in X. Runs in inference mode (no
        autograd bookkeeping at all, less per-op work than ``no_grad``: ~1%
        of a Brown POS predict, whose time is in the LSTM kernels, more where
        the ops are small; nothing made here enters a graph later), in
        length-sorted batches, each encoded just before it runs, so memory
        beyond the results does not grow with the size of X
        (benchmarks/memory.py). Returns the number of sequences.
        """
        self._check_fitted()
        seqs = self._check_inputs(X)
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        # A fitted network is always in eval mode; switching it here would
        # switch it under a concurrent call too.
        module = self.module_
        with torch.inference_mode():
            for idx in self._inference_batches(lengths):
                part = self._encode_inputs([seqs[i] for i in idx])
                batch = _data.collate(part, np.arange(len(idx)), self.device_)
                batch.index = idx  # positions in X, as for a batch of the whole data
                collect(idx, fn(module, batch))
        return len(seqs)

    def _predict_outputs(self, X, fn):
        """Apply ``fn(module, batch) -> list of per-sequence arrays`` over X in batches.

        Returns the per-sequence results in the order of X (see
        :meth:`_run_inference`).
        """
        out = []

        def collect(idx, results):
            out.append((idx, results))

        placed = [None] * self._run_inference(X, fn, collect)
        for idx, results in out:
            for i, res in zip(idx.tolist(), results):
                placed[i] = res
        return placed

    def _predict_rows(self, X, fn):
        """Stack ``fn(module, batch) -> (N, ...) tensor`` over X: an ndarray (n, ...) in X order."""
        parts, order = [], []

        def collect(idx, rows):
            parts.append(rows.cpu().numpy())
            order.append(idx)

        self._run_inference(X, fn, collect)
        out = np.empty((sum(map(len, order)),) + parts[0].shape[1:], dtype=parts[0].dtype)
        out[np.concatenate(order)] = np.concatenate(parts)
        return out

    def _predict_steps(self, X, fn, transform=None):
        """Per-sequence results of ``fn(module, batch) -> (N, L, ...) tensor`` over X.

        Returns a list in the order of X of arrays ``(T_i, ...)``: each batch's
        real steps are taken in one vectorised step (one device-to-host copy,
        no padding), ``transform`` (e.g. ids to labels) is applied to them at
        once, and each sequence gets a view of its rows.
        """
        def per_sequence(module, batch):
            padded, lengths = fn(module, batch), batch.lengths
            real = torch.arange(padded.shape[1], device=padded.device) < lengths.unsqueeze(1)
            values = padded[real].cpu().numpy()  # (real steps of the batch, ...), row-major
            if transform is not None:
                values = transform(values)
            stops = np.cumsum(lengths.cpu().numpy()).tolist()
            return [values[a:b] for a, b in zip([0] + stops[:-1], stops)]

        return self._predict_outputs(X, per_sequence)

    # -- saving -----------------------------------------------------------------------
    # (owned by skrnn/persistence.py; see its module docstring)

    def save(self, path):
        """Save the fitted estimator to one file that is safe to share.

        The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
        file: the network's weights, the optimizer's state (so training can
        continue) and the numeric fitted arrays are tensors; the constructor
        parameters, vocabularies, ``classes_`` and every other fitted
        attribute are JSON in its metadata. Nothing is pickled, so
        :func:`skrnn.load` can open a file from anyone: a bad or malicious
        file fails to load with a ``ValueError``, it never runs code.

        Parameters
        ----------
        path : str or path-like
            Where to write (an existing file is replaced only once the new
            one is complete). The extension is up to you; ``.skrnn`` or
            ``.safetensors`` are good choices.

        Returns
        -------
        path : str
            The path written.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        TypeError
            If a fitted attribute holds a type the format cannot store
            (the message names it).

        See Also
        --------
        skrnn.load : Read the file back.

        Examples
        --------
        >>> import skrnn
        >>> X = [["a", "b"], ["b", "a", "b"]] * 5
        >>> y = [["x", "y"], ["y", "x", "y"]] * 5
        >>> tagger = skrnn.SequenceTagger(hidden_size=8, max_epochs=1, random_state=0)
        >>> tagger = tagger.fit(X, y)  # doctest: +SKIP
        >>> tagger.save("tagger.skrnn")  # doctest: +SKIP
        'tagger.skrnn'
        >>> same = skrnn.load("tagger.skrnn")  # doctest: +SKIP
        >>> pairs = zip(same.predict(X), tagger.predict(X))  # doctest: +SKIP
        >>> all((a == b).all() for a, b in pairs)  # doctest: +SKIP
        True
        """
        from .persistence import save

        return save(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator saved with :meth:`save`: :func:`skrnn.load`, checking its class.

        ``SequenceTagger.load(path)`` returns a new fitted estimator (it does
        not fill the one it is called on); :func:`skrnn.load` reads a file of
        any skrnn estimator.

        Parameters
        ----------
        path : str or path-like
            A file written by ``est.save(path)``.

        Returns
        -------
        estimator : instance of this class
            The fitted estimator, as :func:`skrnn.load` returns it.

        Raises
        ------
        TypeError
            If the file holds an estimator of another class.
        ValueError
            If the file is not a valid skrnn model file (see :func:`skrnn.load`).
        """
        from .persistence import load

        est = load(path)
        if not isinstance(est, cls):
            found = type(est).__name__
            raise TypeError(
                f"{os.fspath(path)!r} holds a {found}, not a {cls.__name__}. Load it with "
                f"{found}.load(path) or skrnn.load(path), which reads any skrnn estimator."
            )
        return est

    def _params_for_file(self, params, *, warn=True):
        """``params`` as :meth:`save` stores them (JSON): paths as str, no vector mapping.

        A path-like value becomes its str. ``word_vectors`` given as a
        mapping is stored as None (with a warning when ``warn``): the file
        would otherwise hold every vector twice, and the fitted model does
        not need them (they are in its embedding). The loaded model predicts
        and continues training the same; only a fresh ``fit`` of it needs
        ``word_vectors`` set again.
        """
        out = {k: os.fsdecode(os.fspath(v)) if isinstance(v, os.PathLike) else v
               for k, v in params.items()}
        if isinstance(out.get("word_vectors"), Mapping):
            out["word_vectors"] = None
            if warn:
                warnings.warn(
                    f"{type(self).__name__}.save stores word_vectors=None instead of the "
                    "mapping it was given (the vectors are in the fitted embedding, which is "
                    "saved): the loaded model predicts the same and can continue training, "
                    "but refitting it from scratch needs word_vectors set again. Pass the "
                    "path of a vectors file to have it saved.",
                    UserWarning, stacklevel=_user_stacklevel())
        return out

    # -- export for serving ------------------------------------------------------------
    # (owned by skrnn/export.py; see its module docstring)

    def to_onnx(self, path):
        """Export the fitted network to ONNX, with dynamic batch and time axes.

        The model takes the arrays of :meth:`export_inputs` and returns what
        the estimator would: class probabilities (per step for the tagger),
        regression predictions in the target units, or a language model's
        next-token log-probabilities per step (see :mod:`skrnn.export` for
        the exact contract). Needs onnx and onnxscript (skrnn's ``export``
        extra: ``pip install ".[export]"`` from a clone).

        Parameters
        ----------
        path : str or path-like
            Where to write the ``.onnx`` file.

        Returns
        -------
        path : str or path-like
            ``path``, e.g. for ``onnxruntime.InferenceSession(path)``.
        """
        from .export import to_onnx

        return to_onnx(self, path)

    def to_torchscript(self, path=None):
        """Export the fitted network as TorchScript (``torch.jit.trace``), axes dynamic.

        Same inputs and outputs as :meth:`to_onnx`, any cell type, no extra
        dependency. PyTorch deprecates TorchScript (``torch.jit.trace``
        warns): prefer :meth:`to_onnx` for new deployments.

        Parameters
        ----------
        path : str or path-like, optional
            Also save the module there; ``torch.jit.load`` reads it back
            without skrnn.

        Returns
        -------
        torch.jit.ScriptModule
            Call it with the tensors of :meth:`export_inputs`, in order.
        """
        from .export import to_torchscript

        return to_torchscript(self, path)

    def export_inputs(self, X):
        """The padded arrays an exported model (:meth:`to_onnx`) takes for raw X.

        Parameters
        ----------
        X : list of sequences
            As for ``predict``; for a :class:`~skrnn.LanguageModel`, prefixes
            (may be empty), read after ``<bos>``.

        Returns
        -------
        dict of str to ndarray
            In input order: ``"inputs"`` (N, L) int64 token ids or (N, L, F)
            float32 features, right-padded; ``"lengths"`` (N,) int64; and,
            with a character CNN, ``"chars"`` (N, L, W) int64 character ids.
            Feed it to ONNX Runtime as is, or to a TorchScript module as
            ``module(*map(torch.from_numpy, arrays.values()))``.
        """
        from .export import export_inputs

        return export_inputs(self, X)

    # -- pickling -------------------------------------------------------------------
    # joblib / dask / Ray ship estimators as pickles. The network and optimizer
    # states travel as ``torch.save`` bytes of CPU tensors and come back through
    # ``torch.load(weights_only=True)``, which only rebuilds tensors and plain
    # containers: the weights part of a pickle cannot run code, and a model
    # fitted on a GPU unpickles on a CPU-only machine. (Unpickling the outer
    # pickle still trusts its source, as with any pickle; for files from
    # elsewhere use ``save`` / :func:`skrnn.load`, which unpickle nothing.)

    def _fitted_state(self):
        """The attributes to persist: ``__dict__`` less the network, optimizer and device.

        Those three are rebuilt from the rest (:meth:`_restore_network`), so
        pickling adds them as tensor bytes and ``save`` as safetensors.
        """
        # object.__getstate__ returns the live __dict__: copy before editing.
        state = dict(super().__getstate__())
        for name in ("module_", "optimizer_", "device_"):
            state.pop(name, None)
        return state

    def __getstate__(self):
        state = self._fitted_state()
        module = self.__dict__.get("module_")
        if module is not None:
            state["_module_state"] = _tensor_bytes(_to_cpu(module.state_dict()))
            state["_optimizer_state"] = _tensor_bytes(_to_cpu(self.optimizer_.state_dict()))
        return state

    def __setstate__(self, state):
        module_state = _tensors_from_bytes(state.pop("_module_state", None))
        optimizer_state = _tensors_from_bytes(state.pop("_optimizer_state", None))
        # Pickled before some parameters existed: their legacy values, as load gives.
        state = {**self._legacy_values(state), **state}
        fitted = state.get("_fitted_params")
        if fitted is not None:
            state["_fitted_params"] = {**self._legacy_values(fitted), **fitted}
        super().__setstate__(state)
        if module_state is not None:
            self.device_ = resolve_device(self.device, fallback=True)
            self.module_ = self._restore_network(module_state, self.device_)
            self.optimizer_ = self._new_optimizer(self.module_)
            self.optimizer_.load_state_dict(optimizer_state)

    def _restore_network(self, module_state, device):
        """The network of ``_network_config_`` with ``module_state``, on ``device``, in eval mode.

        Used to unpickle, load (:mod:`skrnn.persistence`) and export
        (:mod:`skrnn.export`).
        """
        # Building a network draws initial weights: keep the caller's global
        # torch RNG untouched (the weights are overwritten right after).
        with torch.random.fork_rng(devices=[]):
            module = self._build_network(self._network_config_)
        module.load_state_dict(module_state)
        module.to(device)
        return module.eval()

    def _new_optimizer(self, module):
        """A fresh optimizer for ``module`` with this estimator's settings."""
        return _training.make_optimizer(module.parameters(), self._setting("learning_rate"),
                                        self.weight_decay, solver=self.solver,
                                        momentum=self.momentum)


#: The ``precision`` parameter's values: the dtype training autocasts to (None: float32).
_PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def grouped_holdout(perm, groups, n_valid):
    """Split rows into ``(valid, train)`` index arrays with whole groups on either side.

    Groups are taken in the order in which their first row appears in the
    random permutation ``perm``, until they hold at least ``n_valid`` rows.
    Raises ValueError when that leaves no row for training.
    """
    _, ids = np.unique(np.asarray(groups), return_inverse=True)
    ids = ids.ravel()
    position = np.empty(len(perm), dtype=np.int64)
    position[perm] = np.arange(len(perm))
    first = np.full(ids.max() + 1, len(perm), dtype=np.int64)
    np.minimum.at(first, ids, position)
    order = np.argsort(first, kind="stable")  # groups in random order
    taken = order[: int(np.searchsorted(np.cumsum(np.bincount(ids)[order]), n_valid)) + 1]
    in_valid = np.isin(ids, taken)
    if in_valid.all():
        raise ValueError(
            f"early_stopping holds out whole groups of rows with the same input, and the "
            f"{len(order)} distinct input(s) leave none for training. Use more data, a smaller "
            "validation_fraction, or set early_stopping=False.")
    return np.flatnonzero(in_valid), np.flatnonzero(~in_valid)


def make_encoder(config):
    """Build the :class:`RecurrentEncoder` described by ``config``."""
    return RecurrentEncoder(**config)


def _embedding_encoder(module):
    """The first :class:`RecurrentEncoder` inside ``module`` that embeds tokens."""
    for part in module.modules():
        if isinstance(part, RecurrentEncoder) and part.embedding is not None:
            return part
    raise ValueError(f"{type(module).__name__} has no token embedding for word_vectors.")


def _standardizing_encoder(module):
    """The :class:`RecurrentEncoder` inside ``module`` that standardises its input, or None."""
    for part in module.modules():
        if isinstance(part, RecurrentEncoder) and part.standardize:
            return part
    return None


#: Steps x features summed at a time by :func:`feature_standardization` (32 MiB
#: as float64): memory stays bounded whatever the size of the data.
_MOMENTS_CHUNK = 1 << 22


def _float64_chunks(seqs):
    """The steps of ``seqs`` (2-D arrays), concatenated in float64 chunks of bounded size."""
    start, size = 0, 0
    for i, seq in enumerate(seqs):
        size += seq.size
        if size >= _MOMENTS_CHUNK:
            yield np.concatenate(seqs[start:i + 1], dtype=np.float64)
            start, size = i + 1, 0
    if start < len(seqs):
        yield np.concatenate(seqs[start:], dtype=np.float64)


def feature_standardization(seqs):
    """Per-feature mean and scale over every step of ``seqs``, as ``StandardScaler`` has them.

    Parameters
    ----------
    seqs : list of ndarray of shape (T_i, n_features)
        The sequences as given, unpadded: only real steps count.

    Returns
    -------
    mean, scale : ndarray of shape (n_features,), float64
        ``scale`` is the (population) standard deviation, or 1 for a feature
        that is constant: its variance is 0 or at float64 rounding level
        (scikit-learn's bound for StandardScaler), or too small for the
        network's float32.
    """
    seqs = list(seqs)
    n = sum(len(s) for s in seqs)
    # Two passes in float64 (the mean, then squared deviations from it): stable
    # where the one-pass E[x^2] - E[x]^2 loses every digit to a large mean.
    total = sum(chunk.sum(axis=0) for chunk in _float64_chunks(seqs))
    mean = total / n
    squares = sum(((chunk - mean) ** 2).sum(axis=0) for chunk in _float64_chunks(seqs))
    var = squares / n
    eps = np.finfo(np.float64).eps
    constant = (var <= n * eps * var + (n * mean * eps) ** 2) | (
        np.sqrt(var) < np.finfo(np.float32).tiny)
    scale = np.where(constant, 1.0, np.sqrt(var))
    return mean, scale
