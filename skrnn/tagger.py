"""SequenceTagger: one label per input step (POS, chunk and entity tagging)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions

from . import _fitted as _f
from . import crf as _crf
from . import data as _data
from . import tag_schemes as _schemes
from ._base import (
    DEFAULT_STANDARDIZE,
    BaseSequenceEstimator,
    _input_attributes_doc,
    _input_params_doc,
    _optimizer_params_doc,
    _precision_param_doc,
    make_encoder,
)
from ._torch import _user_stacklevel
from ._validation import check_label_sequences
from .modules import TaggingNetwork
from .serving import ChainServingNetwork, InferenceNetwork


class SequenceTagger(BaseSequenceEstimator):
    __doc__ = """Recurrent sequence tagger: predicts one label for every step of a sequence.

    Words (or characters, or numeric steps) go through an embedding (plus a
    character CNN that reads every word from its spelling), a stack of
    recurrent layers and a per-step linear classifier trained with
    cross-entropy. Padding never changes a real step's output, so a sequence
    is tagged the same alone or in a batch.

    Parameters
    ----------
    cell : str, default="lstm"
        The recurrent cell: a name of the cell table, :data:`skrnn.cells.CELLS`
        (see ``docs/cells.md`` for the equations and when to pick which).
    hidden_size : int, default=128
        Hidden units per direction and layer.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    bidirectional : bool, default=True
        Read each sequence in both directions (a tag usually depends on what
        follows it as much as on what precedes it).
    embedding_dim : int, default=100
        Size of the word (or character) embedding; unused for numeric input.
    char_embedding_dim : int or None, default=32
        Size of the character embedding of the word-level character CNN,
        used when X holds token lists; None turns character features off.
        They let the tagger label unseen words (names, inflections,
        numbers) from their spelling.
    char_filters : int, default=64
        Output size of the character CNN.
    min_freq : int, default=1
        Words seen fewer times in training map to ``<unk>``.
    max_vocab_size : int or None, default=None
        Keep at most this many (most frequent) words.
    dropout : float, default=0.5
        Dropout between recurrent layers and before the output layer
        (training only); on the input representation as ``input_dropout``
        says.
    crf : bool, default=False
        Put a linear-chain CRF on top (Lample et al. 2016): learned scores
        for every tag-to-tag transition (plus the first and the last tag)
        join the per-step scores; training maximises each sentence's
        log-likelihood (the forward algorithm, batched and exact on padded
        batches; the loss is reported per token), ``predict`` is Viterbi
        decoding and ``predict_proba`` the per-step marginals
        (forward-backward). The CRF can trade a tag against its neighbours
        (``B-PER I-PER`` together); a per-step softmax cannot. Off by
        default, by measurement (``benchmarks/tagging.py``, 1 thread, same
        network, no early stopping): CoNLL-2003 test entity F1 0.8359 with the
        CRF against 0.8381 for the softmax with IOB2-constrained decoding
        (the default ``tag_scheme``; 15 epochs), at 1.13x the fit's CPU time;
        Brown POS accuracy 0.9462 against 0.9440 (10,000 sentences, 2
        epochs) at 1.17x. Turn it on where labels depend on each other beyond
        what a scheme's validity rules capture.
    tag_scheme : {"auto", "iob1", "iob2", "bioes", "bmes"} or None, default="auto"
        Which tag sequences are valid (see :mod:`skrnn.tag_schemes` for the
        exact rules): invalid transitions, first and last tags are excluded
        from the CRF's partition function and from decoding, so ``predict``
        never returns an invalid sequence (e.g. ``O I-PER``, ``B-PER I-LOC``);
        without a CRF, decoding is constrained over the per-step
        probabilities (the most probable valid sequence, and
        ``predict_proba`` the marginals of that constrained distribution).
        "auto" detects IOB2 (labels ``O`` / ``B-X`` / ``I-X``) or BIOES (with
        ``E-X`` / ``S-X``) from the labels; if a training sequence breaks
        IOB2, IOB1 is used, and if it breaks that too (or BIOES), nothing is
        constrained, with a warning. Other labels (POS tags, ints): nothing
        constrained. A scheme given by name must hold for every training
        sequence. None: tag by tag, unconstrained. The resolved scheme is
        ``tag_scheme_``.
    word_vectors : str, path-like, mapping or None, default=None
        Pretrained word vectors for token input, read by ``fit`` (never
        downloaded): the path of a word2vec (text or binary), GloVe or
        fastText ``.vec`` file, optionally gzip-compressed (the format is
        detected from the content; see :mod:`skrnn.word_vectors`), or a
        mapping word -> 1-D array-like. Their dimension must equal
        ``embedding_dim``. The vocabulary is the training words (as
        ``min_freq`` and ``max_vocab_size`` select them) followed by every
        other vector word, so a word never seen in training but present in
        the vectors keeps its vector at predict time; a token not found as
        written is looked up in lower case (GloVe is lower-case), as in
        Lample et al. (2016). The embedding rows of words with a vector (a
        training word's own, else its lower-case form's) start from it,
        unscaled. Read once per fresh fit: ``partial_fit`` and
        ``warm_start`` keep the fitted embedding, and the estimator keeps no
        copy of the vectors (they are in the embedding). Every vector word
        joins the vocabulary, so the embedding grows with the file: filter a
        large file (or pass a mapping of the words you need) to save memory.
        Token lists only (strings or numeric X are an error). ``save``
        stores a path as its str and a mapping as None (with a warning; the
        loaded model predicts and continues training the same, only
        refitting it needs the vectors again).
    freeze_embeddings : bool, default=False
        Keep the embedding rows that come from ``word_vectors`` fixed at the
        given vectors during all training (``fit``, ``partial_fit``, warm
        starts, data-parallel training; weight decay does not touch them).
        Rows of training words without a vector, ``<unk>`` and the character
        features still train. Part of the network (the rows are constant
        buffers, not parameters, so Adam keeps no state for them), hence
        kept by ``save`` / ``load`` and pickling; changing it needs a fresh
        fit. No effect without ``word_vectors``.
""" + _input_params_doc(("tokens", "chars", "numeric")) + """\
    clip_value : float or None, default=5.0
        Clip each gradient element to ``[-clip_value, clip_value]``.
    clip_norm : float or None, default=None
        Rescale gradients whose total L2 norm exceeds ``clip_norm``.
    batch_size : int, default=32
        Sequences per training batch. Batches hold sequences of similar
        length (length bucketing) and are padded to their own longest one.
    max_epochs : int, default=20
        Maximum passes over the training data.
    learning_rate : float, default=5e-3
        Adam's step size. Measured on Brown POS (1 thread, 3 epochs, no
        early stopping): 5e-3 reached 0.9742 test accuracy on all 1.05M
        training tokens (2e-3: 0.9735) and 0.954 on 10k sentences (2e-3:
        0.939; 1e-2: 0.956).
    weight_decay : float, default=0.0
        Adam's L2 penalty.
""" + _optimizer_params_doc() + """\
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the sequences, stop when token
        accuracy on them has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the best epoch's weights.
        "auto" turns it on for 1000 sequences or more.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=3
        Epochs without an improvement of ``tol`` before training stops: of
        the validation accuracy with early stopping, otherwise of the
        training loss (as scikit-learn's MLP does).
    tol : float, default=1e-4
        Minimum improvement of the validation accuracy (or, without early
        stopping, of the training loss) that counts.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. The same int gives identical weights and predictions on CPU.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where the network runs; "auto" uses CUDA when available.
""" + _precision_param_doc() + """\
    verbose : int, default=0
        1 prints one table row per epoch (with a progress bar within long
        epochs when tqdm is installed).
    warm_start : bool, default=False
        Let ``fit`` continue from the fitted network (vocabulary and classes
        are kept; new words map to ``<unk>``; new labels are an error).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; columns of ``predict_proba``.
    input_kind_ : {"tokens", "chars", "numeric"}
        What X held at fit time.
    vocabulary_ : Vocabulary or None
        Word (or character) vocabulary, for token / character input.
    char_vocabulary_ : Vocabulary or None
        Characters of the character CNN, for token input.
    n_features_in_ : int
        Features per step (numeric input only).
    n_word_vectors_ : int
        Number of vocabulary entries whose embedding row was initialised from
        ``word_vectors`` (training words with a vector, exact or lower-cased,
        plus the vector words added). Only when fitted with ``word_vectors``.
    tag_scheme_ : str or None
        The tag scheme decoding is constrained by (``tag_scheme`` with
        "auto" resolved), or None.
""" + _input_attributes_doc() + """\
    module_ : torch.nn.Module
        The trained network.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``valid_loss``,
        ``valid_score``, ``best``, ``dur`` (seconds), ``n_steps``, and the
        gradient diagnostics ``grad_norm_mean`` / ``grad_norm_max`` (global
        gradient L2 norm before clipping, mean and largest over the epoch's
        optimiser steps) and ``clipped_fraction`` (the fraction of steps
        ``clip_value`` / ``clip_norm`` changed). A diverged epoch has
        ``epoch``, ``train_loss``, ``diverged=True`` and the gradient keys of
        the steps it took. See :func:`skrnn.training.train` for how to read
        them.
    loss_curve_ : list of float
        Mean training loss per token, per epoch.
    validation_scores_ : list of float or None
        Validation token accuracy per epoch (with early stopping).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run in total.

    See Also
    --------
    skrnn.metrics.entity_f1 : entity-level F1 for IOB2 / BIOES tags.

    Notes
    -----
    Words never seen in training (or seen fewer than ``min_freq`` times)
    are read as ``<unk>``, as are unseen characters; with character
    features an unseen word still contributes its spelling. :meth:`score`
    counts labels of y never seen in training as errors (the tagger cannot
    predict them); ``partial_fit`` and ``warm_start`` refuse them.

    Examples
    --------
    >>> from skrnn import SequenceTagger
    >>> X = [["the", "dog", "runs"], ["a", "cat", "sleeps"]] * 20
    >>> y = [["DET", "NOUN", "VERB"], ["DET", "NOUN", "VERB"]] * 20
    >>> tagger = SequenceTagger(hidden_size=16, max_epochs=30, random_state=0).fit(X, y)
    >>> tagger.predict([["the", "cat", "sleeps"]])[0].tolist()
    ['DET', 'NOUN', 'VERB']
    """

    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "crf": ["boolean"],
        "tag_scheme": [StrOptions({"auto", *_schemes.SCHEMES}), None],
        "word_vectors": [str, os.PathLike, Mapping, None],
        "freeze_embeddings": ["boolean"],
    }
    _fitted_attributes: dict = {
        **BaseSequenceEstimator._fitted_attributes,
        "classes_": _f.Attr(_f.class_labels),
        # Absent from files written before tag schemes existed (nothing constrained).
        "tag_scheme_": _f.Attr(_f.optional(_f.one_of(*_schemes.SCHEMES)), required=False),
    }
    # Models fitted before these parameters existed decoded tag by tag, unconstrained.
    _legacy_params: dict = {**BaseSequenceEstimator._legacy_params, "crf": False,
                            "tag_scheme": None, "word_vectors": None,
                            "freeze_embeddings": False}

    def __init__(
        self,
        cell="lstm",
        hidden_size=128,
        num_layers=1,
        bidirectional=True,
        *,
        embedding_dim=100,
        char_embedding_dim=32,
        char_filters=64,
        min_freq=1,
        max_vocab_size=None,
        dropout=0.5,
        crf=False,
        tag_scheme="auto",
        word_vectors=None,
        freeze_embeddings=False,
        input_dropout="auto",
        standardize=DEFAULT_STANDARDIZE,
        clip_value=5.0,
        clip_norm=None,
        batch_size=32,
        max_epochs=20,
        learning_rate=5e-3,
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
        self.char_embedding_dim = char_embedding_dim
        self.char_filters = char_filters
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.dropout = dropout
        self.crf = crf
        self.tag_scheme = tag_scheme
        self.word_vectors = word_vectors
        self.freeze_embeddings = freeze_embeddings
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

    # -- public API -----------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the tagger.

        Parameters
        ----------
        X : list of sequences
            Token lists (``[["The", "cat", "sat"], ...]``), strings (one
            step per character, e.g. for word segmentation), or 2-D float
            arrays of shape ``(T_i, n_features)``.
        y : list of sequences of labels
            One label (str or int) per step of the matching sequence of X.

        Returns
        -------
        self : SequenceTagger
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over (X, y), starting from the current weights.

        The first call learns the vocabulary from X and the labels from
        ``classes`` (or, if None, from y); later calls map new words to
        ``<unk>`` and reject labels outside ``classes_``. No early stopping.

        Parameters
        ----------
        X : list of sequences
        y : list of sequences of labels
        classes : array-like or None
            All labels that will ever occur; only used on the first call.

        Returns
        -------
        self : SequenceTagger
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def predict(self, X):
        """Predict the label of every step.

        Parameters
        ----------
        X : list of sequences
            As for :meth:`fit`.

        Returns
        -------
        list of ndarray
            One 1-D array of labels (from ``classes_``) per sequence, of the
            sequence's length: the best sequence by Viterbi decoding with a
            CRF or a tag scheme, else each step's most probable label.
        """
        self._check_fitted()
        return self._predict_steps(X, _decode_batch, transform=self.classes_.take)

    def predict_proba(self, X):
        """Predict per-step class probabilities.

        With a CRF (or a tag scheme) these are the marginals of the whole
        sentence's distribution, P(tag at step t | sentence), computed by the
        forward-backward algorithm; otherwise each step's softmax.

        Returns
        -------
        list of ndarray
            One ``(T_i, n_classes)`` array per sequence, columns in
            ``classes_`` order, rows summing to 1.
        """
        return self._predict_steps(X, _proba_batch)

    def score(self, X, y):
        """Token accuracy: the fraction of steps labelled correctly.

        Labels in y that were never seen in training count as errors (the
        tagger cannot predict them).

        Parameters
        ----------
        X : list of sequences
        y : list of sequences of labels

        Returns
        -------
        float
        """
        self._check_fitted()
        seqs = self._check_inputs(X)
        y = check_label_sequences(y, seqs, self.input_kind_)
        pred = self.predict(seqs)
        y_flat = np.concatenate(y)
        p_flat = np.concatenate(pred)
        if y_flat.dtype.kind != p_flat.dtype.kind:
            # e.g. int labels scored against a str-label model: compare values.
            y_flat, p_flat = y_flat.astype(object), p_flat.astype(object)
        return float(np.mean(y_flat == p_flat))

    # -- hooks ------------------------------------------------------------------

    def _chain(self):
        """``(scheme, allowed, start_allowed, end_allowed)`` of the fitted tag scheme, or None."""
        scheme = getattr(self, "tag_scheme_", None)
        if scheme is None:
            return None
        return (scheme, *_schemes.allowed_transitions(self.classes_, scheme))

    def _resolve_tag_scheme(self, ids):
        """The scheme this fit constrains decoding with: ``tag_scheme`` with "auto" resolved.

        "auto" detects IOB2 / BIOES from ``classes_``; training sequences that
        break the detected scheme fall back to IOB1 (whose entities may begin
        with I-) and then to no constraint, so "auto" never refuses data. A
        scheme given by name must hold for every training sequence.
        """
        if self.tag_scheme != "auto":
            if self.tag_scheme is not None:
                self._check_valid(ids, self.tag_scheme)
            return self.tag_scheme
        scheme = _schemes.detect_scheme(self.classes_)
        candidates = {"iob2": ["iob2", "iob1"], "bioes": ["bioes"]}.get(scheme, [])
        for candidate in candidates:
            if self._violation(ids, candidate) is None:
                return candidate
        if candidates:
            warnings.warn(
                f"SequenceTagger: the labels look like {scheme.upper()} tags, but "
                f"{self._violation_text(ids, candidates[-1])}; tag_scheme='auto' constrains "
                "nothing. Fix the tags, or pass tag_scheme=None to silence this warning.",
                UserWarning, stacklevel=_user_stacklevel())
        return None

    def _violation(self, ids, scheme):
        """``(sequence index, step)`` of the first tag breaking ``scheme``, or None."""
        return _schemes.find_violation(ids, *_schemes.allowed_transitions(self.classes_, scheme))

    def _violation_text(self, ids, scheme):
        i, step = self._violation(ids, scheme)
        return _schemes.describe_violation(ids[i], step, self.classes_, scheme, index=i)

    def _check_valid(self, ids, scheme):
        _schemes.check_sequences(ids, *_schemes.allowed_transitions(self.classes_, scheme),
                                 self.classes_, scheme)

    def _check_fit_targets(self, y, seqs, *, classes=None, first=True):
        labels = check_label_sequences(y, seqs, self.input_kind_)
        if first:
            found = np.unique(np.concatenate(labels))
            if classes is not None:
                given = np.unique(np.asarray(classes))
                missing = np.setdiff1d(found, given)
                if missing.size:
                    raise ValueError(
                        f"y holds labels not in classes: {missing[:10].tolist()}. "
                        "classes must list every label."
                    )
                found = given
            self.classes_ = found
        classes_ = self.classes_
        flat = np.concatenate(labels)
        if flat.dtype.kind != classes_.dtype.kind and not (
            flat.dtype.kind in "iu" and classes_.dtype.kind in "iu"
        ):
            raise ValueError(
                f"y holds labels of type {flat.dtype} but the tagger was fitted with labels "
                f"of type {classes_.dtype}."
            )
        pos = np.searchsorted(classes_, flat)
        pos = np.clip(pos, 0, len(classes_) - 1)
        unseen = classes_[pos] != flat
        if unseen.any():
            raise ValueError(
                f"y holds labels the tagger was not fitted with: "
                f"{np.unique(flat[unseen])[:10].tolist()}. Known labels: "
                f"{classes_[:20].tolist()}. Refit (warm_start=False), or pass every label "
                "in `classes` to the first partial_fit call."
            )
        bounds = np.cumsum([len(s) for s in labels])[:-1]
        ids = np.split(pos.astype(np.int64), bounds)
        if first:
            self.tag_scheme_ = self._resolve_tag_scheme(ids)
        elif self.tag_scheme_ is not None:
            # A CRF would score an invalid gold path at NOT_ALLOWED: refuse it clearly.
            self._check_valid(ids, self.tag_scheme_)
        return ids

    def _init_network(self, module):
        super()._init_network(module)
        chain = self._chain()
        if chain is not None:
            module.set_constraints(*chain[1:])

    @property
    def _serving_output(self):
        # Chain decoding needs the transition scores next to the per-step scores.
        config = self.__dict__.get("_network_config_", {})
        if config.get("crf") or config.get("constrained"):
            return ("scores", "transitions", "start_transitions", "end_transitions")
        return "proba"

    def _serving_network(self, network):
        if network.transition_scores() is not None:
            return ChainServingNetwork(network)
        return InferenceNetwork(network, "proba")

    def _network_config(self):
        config = {"n_classes": len(self.classes_), "dropout": self.dropout}
        # Keys only where they change the network, so older configs compare equal.
        if self.crf:
            config["crf"] = True
        elif self.tag_scheme_ is not None:
            config["constrained"] = True
        return config

    def _build_network(self, config):
        return TaggingNetwork(make_encoder(config["encoder"]), config["n_classes"],
                              config["dropout"], crf=config.get("crf", False),
                              constrained=config.get("constrained", False))

    def _batch_loss(self, module, batch):
        logits = module(batch)  # (N, L, C)
        n = batch.n_steps
        # Per token for the CRF too (its sequence NLL over the tokens), so the
        # divergence guard's scale, log(n_classes) per token, holds for both.
        return self._summed_loss(module, logits, batch) / n, n

    @staticmethod
    def _summed_loss(module, logits, batch):
        """Summed loss of a batch: the CRF's sequence NLL, or per-step cross-entropy."""
        # Data-parallel training passes the DistributedDataParallel wrapper; the
        # CRF's gradients are still all-reduced (DDP hooks every parameter).
        crf = getattr(module, "module", module).crf
        if crf is not None:
            tags = batch.targets.clamp(min=0)  # padding holds IGNORE_INDEX
            return crf.neg_log_likelihood(logits.float(), batch.lengths, tags).sum()
        return F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(),
                               ignore_index=_data.IGNORE_INDEX, reduction="sum")

    def _validation_partial(self, module, data):
        """Summed loss, correct tags and tag count of ``data`` (data-parallel ranks add them up).

        The tags are decoded as ``predict`` decodes them (Viterbi with a CRF
        or a tag scheme), so early stopping selects what ``predict`` returns.
        """
        total_loss, correct, n = 0.0, 0, 0
        for idx in self._inference_batches(data.lengths):
            batch = _data.collate(data, idx, self.device_)
            logits = module(batch)  # (N, L, C)
            mask = batch.targets != _data.IGNORE_INDEX
            total_loss += self._summed_loss(module, logits, batch).item()
            correct += int(((_decode(module, logits, batch.lengths) == batch.targets)
                            & mask).sum())
            n += int(mask.sum())
        return total_loss, correct, n

    def _validation_combine(self, partials):
        total_loss, correct, n = (sum(p[i] for p in partials) for i in range(3))
        return total_loss / n, correct / n


def _decode(module, logits, lengths):
    """(N, L) tag ids: Viterbi over the chain scores, or the per-step argmax."""
    chain = module.transition_scores()
    if chain is None:
        return logits.argmax(-1)
    return _crf.viterbi(module.chain_emissions(logits), lengths, *chain)


def _decode_batch(module, batch):
    """(N, L) tag ids of a batch (see ``_predict_steps``)."""
    return _decode(module, module(batch), batch.lengths)


def _proba_batch(module, batch):
    """(N, L, C) per-step probabilities of a batch (see ``_predict_steps``)."""
    logits = module(batch).float()
    chain = module.transition_scores()
    if chain is None:
        return torch.softmax(logits, dim=-1)
    return _crf.marginals(module.chain_emissions(logits), batch.lengths, *chain)
