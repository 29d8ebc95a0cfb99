"""LanguageModel: next-token models over characters or words that score and sample."""

from __future__ import annotations

import numbers
import threading
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from . import data as _data
from ._base import (
    BaseSequenceEstimator,
    _input_params_doc,
    _optimizer_params_doc,
    _precision_param_doc,
    make_encoder,
)
from ._validation import _builtin_str, check_sequences
from .decoding import GENERATION_TOKEN_BUDGET, sample_steps
from .modules import LanguageModelNetwork
from .sampling import RecurrentStepper, cached
from .serving import InferenceNetwork

#: Scoring holds at most this many logits (real steps * V) and this many
#: recurrent outputs (N * window * H) at a time.
_SCORE_LOGITS_BUDGET = 1 << 24

#: Sampling temperatures are clamped to [_MIN_TEMPERATURE, 1 / _MIN_TEMPERATURE].
_MIN_TEMPERATURE = 1e-6

#: Most tokens one ``sample`` call may generate (``n_samples * max_length``): the
#: drawn ids and the returned sequences grow with it (2**27 ids are 1 GiB as int64).
SAMPLE_TOKEN_BUDGET = GENERATION_TOKEN_BUDGET

#: ``sample`` draws its rows in chunks of at most this many logits per step
#: (rows * vocabulary size, float32: 16 MiB), so the per-step tensors stay bounded
#: however many samples are asked for.
_SAMPLE_LOGITS_BUDGET = 1 << 22


class LanguageModel(BaseSequenceEstimator):
    __doc__ = """Recurrent language model over characters or words.

    Estimates the probability of a sequence one token at a time. Training
    uses teacher forcing (the true previous token is the input at each step)
    and minimises the cross-entropy of every next token, the end-of-sequence
    token included. Sampling feeds the model's own draws back in, carrying
    the hidden state from step to step, until it draws end-of-sequence or
    reaches ``max_length``.

    **Short and long sequences.** Every sequence is framed by ``<bos>`` and
    ``<eos>``. Sequences that fit in one window (``window_length`` steps)
    train in length-bucketed batches from a fresh state, exactly as they are
    scored and sampled. Longer ones (a whole book may be one sequence) are
    laid end to end in a fresh random order every epoch, cut into
    ``batch_size`` parallel streams and read in windows of
    ``window_length`` steps, the hidden state carried from one window to the
    next (truncated back-propagation through time). Scoring is exact: every
    sequence is read from a fresh state, in windows with the state carried,
    whatever its length.

    Parameters
    ----------
    cell : str, default="lstm"
        The recurrent cell: a name of the cell table, :data:`skrnn.cells.CELLS`
        (see ``docs/cells.md`` for the equations and when to pick which).
    hidden_size : int, default=256
    num_layers : int, default=2
    bidirectional : bool, default=False
        Must be False: a language model predicts each token from the ones
        before it, and a backward direction would read the very token it
        has to predict.
    embedding_dim : int, default=128
    window_length : int, default=100
        Steps per training window (truncated back-propagation length).
    min_freq : int, default=1
        Tokens seen fewer times map to ``<unk>`` (useful at word level).
    max_vocab_size : int or None, default=None
        Keep at most this many tokens (e.g. 10000 for Penn Treebank words).
    dropout : float, default=0.25
        Between layers and before the output layer; on the embeddings as
        ``input_dropout`` says.
""" + _input_params_doc(("chars", "tokens")) + """    clip_value : float or None, default=None
    clip_norm : float or None, default=1.0
        Rescale gradients whose total L2 norm exceeds it.
    batch_size : int, default=32
        Parallel streams per training batch.
    max_epochs : int, default=30
    learning_rate : float, default=3e-3
        Adam's step size. With a plain PyTorch loop on real text (2-layer
        LSTM, hidden 256) 1e-3 was far behind after a fixed budget; 3e-3
        with clipping and dropout 0.25 trained fastest and overfit least.
    weight_decay : float, default=0.0
""" + _optimizer_params_doc() + """\
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the sequences, stop when their
        mean log-likelihood has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, keep the best weights. "auto": on when
        X has at least 10 sequences.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=3
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
    device : {"auto", "cpu", "cuda"} or str, default="auto"
""" + _precision_param_doc() + """\
    verbose : int, default=0
    warm_start : bool, default=False

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Tokens (characters at character level) with ``<pad>``, ``<unk>``,
        ``<bos>``, ``<eos>`` first; the columns of ``predict_proba``.
    input_kind_ : {"chars", "tokens"}
        Character level (X was strings) or word level (token lists).
    module_, history_, loss_curve_, validation_scores_, best_validation_score_, n_iter_
        As for :class:`skrnn.SequenceTagger`; losses are nats per token.

    Notes
    -----
    Unknown tokens (not in ``vocabulary_``) are read and scored as
    ``<unk>``: their probability is the model's probability of "some rare
    token". :meth:`sample` never draws ``<unk>``.

    Word-level tokens spelled like the reserved ones, literal ``"<pad>"``,
    ``"<bos>"`` and ``"<eos>"``, are read and scored as ``<unk>`` too
    wherever they appear (in ``fit``, ``score``, ``predict_proba`` and the
    ``prefix`` of :meth:`sample`): the sequence markers come only from the
    framing of each sequence, so such input gets a finite score and
    ``sample`` never generates them. A literal ``"<unk>"`` is ``<unk>``
    itself. See the Notes of :class:`skrnn.vocab.Vocabulary`.

    Examples
    --------
    >>> from skrnn import LanguageModel
    >>> lm = LanguageModel(hidden_size=32, num_layers=1, max_epochs=60, random_state=0)
    >>> lm = lm.fit(["abcabc", "abc", "abcabcabc"] * 10)
    >>> lm.sample(prefix="ab", max_length=4, temperature=0.01, random_state=0)
    ['abcabc']
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in BaseSequenceEstimator._parameter_constraints.items()
           if k not in ("char_embedding_dim", "char_filters", "standardize")},
        "window_length": [Interval(Integral, 1, None, closed="left")],
    }
    _allowed_kinds = ("chars", "tokens")
    _bos_eos = True

    def __init__(
        self,
        cell="lstm",
        hidden_size=256,
        num_layers=2,
        bidirectional=False,
        *,
        embedding_dim=128,
        window_length=100,
        min_freq=1,
        max_vocab_size=None,
        dropout=0.25,
        input_dropout="auto",
        clip_value=None,
        clip_norm=1.0,
        batch_size=32,
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
        self.window_length = window_length
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.dropout = dropout
        self.input_dropout = input_dropout
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

    # -- fitting -------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the language model.

        Parameters
        ----------
        X : list of str or list of list of str
            Strings (character level: every character is a token) or token
            lists (word level). Each element is one sequence with its own
            beginning and end; a whole book may be one element.
        y : None
            Ignored.

        Returns
        -------
        self : LanguageModel
        """
        self._check_direction()
        return self._fit(X, None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over X from the current weights (the first call learns the vocabulary)."""
        self._check_direction()
        return self._fit(X, None, incremental=True)

    def _check_direction(self):
        if self.bidirectional:
            raise ValueError(
                "LanguageModel must be unidirectional (bidirectional=False): it predicts each "
                "token from the tokens before it, and a backward direction would read the "
                "token it has to predict. For bidirectional features of every token use "
                "SequenceTagger."
            )

    def _use_early_stopping(self, n_sequences, incremental):
        if incremental:
            return False
        if self.early_stopping == "auto":
            return n_sequences >= 10
        return bool(self.early_stopping)

    def _check_fit_targets(self, y, seqs, *, classes=None, first=True):
        return None  # the targets are the inputs shifted by one step

    _serving_output = "log_proba"

    def _serving_network(self, network):
        return InferenceNetwork(network, "log_proba", banned=self._banned_ids())

    def _serving_data(self, X):
        # The exported model reads <bos> first; an empty prefix is allowed.
        seqs = check_sequences(X, kind=self.input_kind_, allowed_kinds=self._allowed_kinds,
                               allow_empty=True)[0]
        return _data.EncodedData(inputs=self._framed(seqs, eos=False))

    def _network_config(self):
        return {"vocab_size": len(self.vocabulary_), "dropout": self.dropout}

    def _constant_loss(self):
        # Cross-entropy of a uniform next-token distribution.
        return float(np.log(len(self.vocabulary_)))

    def _build_network(self, config):
        return LanguageModelNetwork(make_encoder(config["encoder"]), config["vocab_size"],
                                    config["dropout"])

    def _epoch_batches(self, train_data, rng):
        seqs, window, device = train_data.inputs, self.window_length, self.device_
        # Sequences that fit in one window train from a fresh state, exactly as
        # they are scored and sampled; longer ones are streamed with the state
        # carried across windows (truncated back-propagation through time).
        short = np.flatnonzero(train_data.lengths + 1 <= window)
        long = np.flatnonzero(train_data.lengths + 1 > window)
        framed = dict(zip(short, self._framed([seqs[i] for i in short], encoded=True)))

        def short_batch(idx):
            rows = [framed[i] for i in idx]
            padded = torch.from_numpy(_data._pad(rows, _data.IGNORE_INDEX, np.int64)).to(device)
            lengths = torch.from_numpy(train_data.lengths[idx] + 1).to(device)
            return _data.Batch(inputs=padded[:, :-1].clamp(min=0), lengths=lengths, index=idx,
                               targets=padded[:, 1:])

        def epoch_batches(epoch):
            independent = [
                (lambda idx=short[b]: short_batch(idx))
                for b in _data.bucket_batches(train_data.lengths[short], self.batch_size, rng)
            ]
            stream = self._stream_windows([seqs[i] for i in rng.permutation(long)]) if len(
                long) else []
            # Interleave at random, keeping the stream's windows in order.
            kinds = np.array([0] * len(independent) + [1] * len(stream))
            rng.shuffle(kinds)
            parts = (iter(independent), iter(stream))
            return [next(parts[k]) for k in kinds]

        return epoch_batches

    def _stream_windows(self, seqs):
        """Lay sequences end to end in ``batch_size`` rows; cut the rows into windows."""
        bos, eos = self.vocabulary_.bos_id, self.vocabulary_.eos_id
        device, window = self.device_, self.window_length
        pieces = []
        for s in seqs:
            pieces += [np.array([bos]), s, np.array([eos])]
        stream = np.concatenate(pieces)
        inputs, targets = stream[:-1], stream[1:].copy()
        targets[targets == bos] = _data.IGNORE_INDEX  # "a new sequence starts" is not a token
        n_rows = min(self.batch_size, len(inputs))
        row_len = -(-len(inputs) // n_rows)
        # Pad the stream to n_rows * row_len: padded steps have no target.
        extra = n_rows * row_len - len(inputs)
        inputs = np.concatenate([inputs, np.zeros(extra, dtype=np.int64)])
        targets = np.concatenate([targets, np.full(extra, _data.IGNORE_INDEX)])
        inputs = torch.from_numpy(inputs.reshape(n_rows, row_len)).to(device)
        targets = torch.from_numpy(targets.reshape(n_rows, row_len)).to(device)
        batches = []
        for start in range(0, row_len, window):
            stop = min(start + window, row_len)
            lengths = torch.full((n_rows,), stop - start, dtype=torch.long, device=device)
            batches.append(_data.Batch(inputs=inputs[:, start:stop], lengths=lengths, index=None,
                                       targets=targets[:, start:stop], stateful=True,
                                       carry=start > 0))
        return batches

    def _batch_loss(self, module, batch):
        hx = self._carried_state if batch.carry else None
        logits, h_n = module(batch, hx)  # (N, W, V)
        if batch.stateful:
            self._carried_state = _detach(h_n)
        n = int((batch.targets != _data.IGNORE_INDEX).sum())  # padding and <bos> targets
        loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(),
                               ignore_index=_data.IGNORE_INDEX, reduction="sum")
        return loss / max(n, 1), n

    def _validation_partial(self, module, data):
        return self._log_likelihood(module, data.inputs, encoded=True)

    def _validation_combine(self, partials):
        total, n = sum(p[0] for p in partials), sum(p[1] for p in partials)
        return -total / n, total / n

    def _fit_staged(self, X, y, **kwargs):
        try:
            return super()._fit_staged(X, y, **kwargs)
        finally:
            self._carried_state = None  # never publish or pickle a training state

    def _fitted_state(self):
        state = super()._fitted_state()
        state.pop("_carried_state", None)
        return state

    # -- scoring -----------------------------------------------------------------------

    def _framed(self, seqs, *, eos=True, encoded=False):
        """``<bos> + ids (+ <eos>)`` of each sequence; ``encoded``: ``seqs`` are ids already."""
        v = self.vocabulary_
        tail = [v.eos_id] if eos else []
        ids = seqs if encoded else map(v.encode, seqs)
        return [np.concatenate([[v.bos_id], s, tail]).astype(np.int64, copy=False) for s in ids]

    def _log_likelihood(self, module, seqs, *, encoded):
        """Sum of next-token log-probabilities (nats) and token count over ``seqs``.

        Every sequence is read from a fresh state: ``<bos>`` predicts the first
        token and the last token predicts ``<eos>``. ``seqs`` are id arrays
        (``encoded=True``) or raw sequences: then each batch is encoded just
        before it runs, so scoring a large corpus holds no second copy of it
        as ids (benchmarks/memory.py).
        """
        v = self.vocabulary_
        lengths = np.fromiter((len(s) + 1 for s in seqs), dtype=np.int64, count=len(seqs))
        chunk = max(1, _SCORE_LOGITS_BUDGET // len(v))  # real steps per head call
        banned = self._banned_ids()
        total, count = 0.0, 0
        # No mode switch: a fitted network is in eval mode, and validation calls
        # this inside training.train, which sets eval mode itself (so the
        # network's dropout before its head is off, and the head can be applied
        # to the real steps only). Inference mode: nothing made here outlives
        # the call.
        with torch.inference_mode():
            for idx in self._inference_batches(lengths):
                rows = self._framed([seqs[i] for i in idx], encoded=encoded)
                padded = _data._pad(rows, _data.IGNORE_INDEX, np.int64)
                padded = torch.from_numpy(padded).to(self.device_)
                inputs = padded[:, :-1].clamp(min=0)  # pads read as <pad> (id 0)
                targets = padded[:, 1:]
                n_rows, width = inputs.shape
                window = max(16, min(4096, _SCORE_LOGITS_BUDGET // (
                    n_rows * module.encoder.output_size)))
                h = None
                for start in range(0, width, window):
                    stop = min(start + window, width)
                    span = torch.full((n_rows,), stop - start, device=self.device_)
                    batch = _data.Batch(inputs=inputs[:, start:stop], lengths=span,
                                        index=None)
                    hidden, h = module.encoder(batch, h)  # (N, W, H)
                    tgt = targets[:, start:stop]
                    mask = tgt != _data.IGNORE_INDEX
                    hidden, tgt = hidden[mask], tgt[mask]  # (S, H), (S,): real steps only
                    count += len(tgt)
                    for first in range(0, len(tgt), chunk):
                        logits = module.head(hidden[first:first + chunk]).float()  # (S', V)
                        logits[:, banned] = float("-inf")  # as in predict_proba
                        # cross_entropy's fused log-softmax: 1.4x gather - logsumexp
                        # on one CPU thread for (4000, 10000) logits.
                        total -= float(torch.nn.functional.cross_entropy(
                            logits, tgt[first:first + chunk], reduction="sum"))
        return total, count

    def score(self, X, y=None):
        """Mean log-likelihood per token in nats, ``<eos>`` included (higher is better).

        This is what ``GridSearchCV`` and ``cross_val_score`` maximise by
        default. Unknown tokens are scored as ``<unk>``.

        Parameters
        ----------
        X : list of str or list of list of str
        y : None
            Ignored.

        Returns
        -------
        float
        """
        self._check_fitted()
        seqs = self._check_inputs(X)
        total, count = self._log_likelihood(self.module_, seqs, encoded=False)
        return total / count

    def perplexity(self, X):
        """``exp(-score(X))``: the effective number of equally likely next tokens."""
        return float(np.exp(-self.score(X)))

    # -- next-token prediction -----------------------------------------------------------

    def _banned_ids(self):
        v = self.vocabulary_
        return [v.pad_id, v.bos_id]

    def predict_proba(self, X):
        """Next-token distribution after each prefix.

        Parameters
        ----------
        X : list of str or list of list of str
            Prefixes; an empty prefix gives the distribution of first tokens.

        Returns
        -------
        ndarray of shape (n_prefixes, n_tokens)
            Columns in ``vocabulary_.itos`` order (``n_tokens`` of them); ``<pad>`` and ``<bos>``
            have probability 0, ``<eos>`` is "the sequence ends here".
        """
        self._check_fitted()
        seqs = check_sequences(X, kind=self.input_kind_, allowed_kinds=self._allowed_kinds,
                               allow_empty=True)[0]
        framed = self._framed(seqs, eos=False)
        lengths = np.fromiter((len(f) for f in framed), dtype=np.int64, count=len(framed))
        out = np.empty((len(seqs), len(self.vocabulary_)), dtype=np.float32)
        banned = self._banned_ids()
        module = self.module_  # in eval mode, as every fitted network
        with torch.inference_mode():
            for idx in self._inference_batches(lengths):
                padded = torch.from_numpy(_data._pad([framed[i] for i in idx], 0, np.int64))
                lens = torch.from_numpy(lengths[idx]).to(self.device_)
                batch = _data.Batch(inputs=padded.to(self.device_), lengths=lens, index=idx)
                hidden, _ = module.encoder(batch)  # (N, L, H)
                last = hidden[torch.arange(len(idx)), lens - 1]  # (N, H)
                logits = module.head(last).float()
                logits[:, banned] = float("-inf")
                out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
        return out

    def predict(self, X):
        """Most likely next token after each prefix (``"<eos>"`` when ending is likeliest).

        Returns
        -------
        ndarray of shape (n_prefixes,)
        """
        ids = self.predict_proba(X).argmax(axis=1)
        return np.array([self.vocabulary_.itos[i] for i in ids], dtype=object)

    # -- sampling ----------------------------------------------------------------------------

    def sample(self, n_samples=1, max_length=200, prefix=None, temperature=1.0, top_k=None,
               random_state=None, stop_at_eos=True):
        """Generate sequences.

        Parameters
        ----------
        n_samples : int, default=1
        max_length : int, default=200
            Most tokens generated after the prefix; generation also stops
            when ``<eos>`` is drawn (not included in the output).
        prefix : str, list of str or None, default=None
            Text every sample starts with (included in the output); a str at
            character level, a token list at word level. Unknown tokens in it
            are read as ``<unk>``.
        temperature : float, default=1.0
            Logits are divided by it: below 1 is more conservative, towards 0
            approaches greedy decoding, above 1 more surprising. Clamped to
            [1e-6, 1e6], beyond which sampling is greedy (uniform) anyway.
        top_k : int or None, default=None
            Draw only among the ``top_k`` most likely tokens.
        random_state : int, RandomState instance or None, default=None
            The same int gives the same samples.
        stop_at_eos : bool, default=True
            How a sample ends. True: when ``<eos>`` is drawn, or after
            ``max_length`` tokens. False: ``<eos>`` is never drawn and every
            sample gets exactly ``max_length`` tokens after the prefix (a
            fixed length, e.g. a paragraph of a given size).

        Returns
        -------
        list
            ``n_samples`` strings (character level) or token lists (word level).

        Raises
        ------
        ValueError
            If ``n_samples * max_length`` exceeds ``SAMPLE_TOKEN_BUDGET``
            (2**27 tokens): generate in several calls instead.

        Notes
        -----
        One call generates at most ``SAMPLE_TOKEN_BUDGET`` tokens
        (``skrnn.language_model.SAMPLE_TOKEN_BUDGET``, 2**27), which bounds
        the memory of the drawn ids and of the returned sequences. The rows
        are drawn in chunks of at most 2**22 / ``len(vocabulary_)`` samples,
        so the per-step logits stay bounded too; the chunks share one random
        stream, and a call whose samples fit in one chunk draws exactly what
        one batch of them would.

        What stepping needs from the weights (transposed and stacked weights,
        the first layer's input projection of every token) is built by the
        first call and reused by later ones until the weights change
        (:func:`skrnn.sampling.cached`): a short sample costs little more than
        its steps. Each draw inverts the cumulative distribution at a uniform
        number (:func:`skrnn.decoding.sample_steps`).
        """
        self._check_fitted()
        v = self.vocabulary_
        banned = self._banned_ids() + [v.unk_id]
        n_drawable = len(v) - len(banned)
        _check_int("n_samples", n_samples, 1)
        _check_int("max_length", max_length, 1)
        _check_sample_budget(n_samples, max_length)
        if (not isinstance(temperature, numbers.Real) or isinstance(temperature, bool)
                or not np.isfinite(temperature) or temperature <= 0):
            raise ValueError(
                f"temperature must be a positive finite number, got {temperature!r}. Use a small "
                "value such as 0.01 for (near-)greedy decoding."
            )
        if top_k is not None:
            _check_int("top_k", top_k, 1)
            if top_k > n_drawable:
                raise ValueError(
                    f"top_k={top_k} exceeds the {n_drawable} tokens the model can draw; use "
                    f"1 <= top_k <= {n_drawable} or None."
                )
        prefix_tokens = self._check_prefix(prefix)
        try:
            seed = _sample_seed(random_state)
        except ValueError:
            raise ValueError(
                "random_state must be None, an int in [0, 2**32 - 1] or a "
                f"numpy.random.RandomState instance; got {random_state!r}."
            ) from None
        # Dividing float32 logits by a tiny (huge) temperature overflows to inf
        # (or turns -inf / inf into NaN) and breaks the draw; beyond these bounds
        # sampling is already greedy (uniform), so clamping changes nothing else.
        temperature = min(max(float(temperature), _MIN_TEMPERATURE), 1 / _MIN_TEMPERATURE)
        generator = torch.Generator(device=self.device_).manual_seed(seed)

        module = self.module_  # in eval mode, as every fitted network (thread safety)
        enc = module.encoder
        # Chunks of rows keep the per-step logits (rows x vocabulary) bounded; one
        # generator runs through all of them, so a single chunk draws exactly what
        # an unchunked call would.
        chunk = max(1, _SAMPLE_LOGITS_BUDGET // len(v))
        out = []
        # inference_mode: ~10% less per-op overhead than no_grad; what it makes
        # (the drawn ids) does not outlive the call.
        with torch.inference_mode():
            stepper = _stepper(module)
            ids = v.encode(prefix_tokens)
            for start in range(0, n_samples, chunk):
                n_rows = min(chunk, n_samples - start)
                state = None
                last = torch.full((n_rows,), v.bos_id, dtype=torch.long, device=self.device_)
                if len(ids):
                    context = np.concatenate([[v.bos_id], ids[:-1]]).astype(np.int64)
                    inputs = torch.from_numpy(context).to(self.device_).expand(n_rows, -1)
                    span = torch.full((n_rows,), len(context), device=self.device_)
                    _, state = enc(_data.Batch(inputs=inputs.contiguous(), lengths=span,
                                               index=None))
                    last = torch.full_like(last, int(ids[-1]))
                state = stepper.initial_state(state, n_rows, self.device_)
                drawn = sample_steps(stepper.step, state, last, max_steps=max_length,
                                     stop_at_eos=bool(stop_at_eos),
                                     eos_id=v.eos_id, temperature=float(temperature),
                                     top_k=top_k, banned=banned,
                                     generator=generator).cpu().numpy()
                for row in drawn:
                    end = np.flatnonzero(row == v.eos_id)
                    row = row[: end[0]] if end.size else row
                    tokens = list(prefix_tokens) + v.decode(row)
                    out.append("".join(tokens) if self.input_kind_ == "chars" else tokens)
        return out

    def _check_prefix(self, prefix):
        """The prefix as a list of builtin str tokens (characters at character level)."""
        if prefix is None:
            return []
        if self.input_kind_ == "chars":
            if not isinstance(prefix, str):
                raise TypeError(
                    f"prefix must be a str for a character-level model, got "
                    f"{type(prefix).__name__}."
                )
            return list(_builtin_str(prefix))
        # A generator would be used up by the check: only real sequences are read.
        if (not isinstance(prefix, (list, tuple, np.ndarray))
                or not all(isinstance(t, str) for t in prefix)):
            raise TypeError(
                "prefix must be a list of str tokens for a word-level model, e.g. "
                "['the', 'king']; got " + (repr(prefix)[:40]) + "."
            )
        # numpy.str_ tokens (e.g. from an array) come back as builtin str, as in fit.
        return [t if type(t) is str else _builtin_str(t) for t in prefix]


#: One RandomState per thread, reseeded for an int ``random_state``: seeding an
#: existing one costs ~4 us, building one (check_random_state(int)) ~100 us, a
#: tenth of a short sample.
_SEEDERS = threading.local()
_INT32_MAX = int(np.iinfo(np.int32).max)


def _sample_seed(random_state):
    """The torch seed of a sample call: ``check_random_state(random_state).randint(2**31 - 1)``."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        rs = getattr(_SEEDERS, "rs", None)
        if rs is None:
            rs = _SEEDERS.rs = np.random.RandomState()
        rs.seed(random_state)  # ValueError outside [0, 2**32 - 1], as RandomState(int)
    else:
        rs = check_random_state(random_state)
    return int(rs.randint(_INT32_MAX))


def _stepper(module):
    """The sampling stepper of a language-model network, built once per version of its weights."""
    enc = module.encoder
    return cached(module, "sample", lambda: RecurrentStepper(enc.embedding, enc.stack.step_layer(),
                                                             module.head))


def _check_sample_budget(n_samples, max_length):
    """Refuse a sample call that could generate more than SAMPLE_TOKEN_BUDGET tokens."""
    total = n_samples * max_length
    if total <= SAMPLE_TOKEN_BUDGET:
        return
    if max_length > SAMPLE_TOKEN_BUDGET:
        how = f"lower max_length to at most {SAMPLE_TOKEN_BUDGET}"
    else:
        how = (f"sample in several calls of at most n_samples="
               f"{SAMPLE_TOKEN_BUDGET // max_length} each (with max_length={max_length}), "
               "or lower max_length")
    raise ValueError(
        f"sample could generate n_samples * max_length = {total} tokens, more than the "
        f"{SAMPLE_TOKEN_BUDGET} (2**27) one call may generate, which bounds its memory; "
        f"{how}."
    )


def _check_int(name, value, low):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")


def _detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


__all__ = ["LanguageModel"]
