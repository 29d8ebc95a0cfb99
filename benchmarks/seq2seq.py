#!/usr/bin/env python
"""CMUdict grapheme to phoneme: Seq2Seq error rates and speed vs plain PyTorch and Sequitur.

What is measured, in one process, on one torch thread (``torch.set_num_threads(1)``):

* ``accuracy`` -- :class:`skrnn.Seq2Seq` (bidirectional LSTM encoder, LSTM decoder, Luong
  attention) trained on the CMUdict train words (``skrnn.datasets.load_cmudict``, every
  listed pronunciation a pair) and scored on all 6,481 test words, greedy and beam search
  (``--beam``, 5): WER (a word is wrong unless its predicted pronunciation equals *one of*
  its listed pronunciations: ``1 - exact_match_accuracy(..., multi_reference=True)``) and
  PER (``token_error_rate(..., multi_reference=True)``, phoneme edits over the closest
  reference's length). Stress is stripped (39 phonemes), as in the G2P literature.
  Training is a loop of ``partial_fit`` epochs under a time budget: after each epoch the
  greedy WER of ``--valid-words`` CMUdict *valid* words is measured; the best epoch's model
  is kept; the learning rate is halved after an epoch that did not improve it and before
  each of the last ``--anneal-epochs`` (2) epochs that fit in the budget; training stops
  after 3 epochs in a row without improvement, after ``--epochs`` or when the next epoch
  would not fit in ``--time-budget`` minutes of CPU time (validation counted; with one
  thread and an idle core CPU time is wall time, and other work on the machine inflates it
  least).
* ``decoding`` -- test words per second of ``predict``, greedy and beam.
* ``decode_speed`` -- ``predict`` with ``beam_size=1`` and ``--beam`` against a plain
  PyTorch loop over the same weights written the usual way (the textbook packed encoder,
  then per step: target embedding -> the decoder ``nn.LSTM`` called once with the carried
  ``(h, c)`` -> Luong attention -> combine -> head; greedy by argmax, beam search batched as
  skrnn's), the same output-length bound; ``same output`` is the fraction of words on which
  the two agree. Two cases: ``batch`` -- ``--decode-speed-words`` (1,000) test words in one
  call, predict's length-sorted batches for both; ``single`` -- ``--decode-speed-single``
  (200) words, each its own call. ``--decode-speed-repeats`` (3) interleaved runs each, the
  best counting; ratios of wall-clock rates (and of CPU-time rates). skrnn builds its
  decoder stepper once per fitted model (``skrnn.sampling.cached``; the warm-up call
  builds it). ``--decode-speed-only`` runs just this part on a model trained for
  ``--decode-speed-epochs`` (3) epochs of 3,000 words (~150 optimizer steps, ~40 s).
* ``throughput`` -- training pairs per CPU second of ``Seq2Seq.partial_fit`` against two
  plain PyTorch loops training the same network (checked: given skrnn's weights, each
  computes skrnn's logits) on
  the very same batches (skrnn's length buckets, drawn from a mirror of its random state),
  with dropout 0.2, norm clipping 1.0 and the same loss:
  ``plain`` -- the textbook loop: ``pack_padded_sequence`` into one bidirectional
  ``nn.LSTM``, ``nn.Dropout``, ``torch.optim.Adam``; ``plain_padded`` -- the loop with
  skrnn's tricks: right padding and no packing (the backward direction reads each word
  reversed within its length, by ``gather``), ``torch.rand_like`` dropout masks
  (``x * (rand >= p) * scale``), ``Adam(fused=True)``; skrnn itself now reverses by
  ``index_select`` of whole rows and builds the scaled mask in place (same values, less
  work).
  Each is run ``--repeats`` times in rotated order and its best time kept. Target:
  skrnn / plain >= 1.0.
* ``train speed`` (``--train-speed-only``: this part alone) -- the same comparison at
  :class:`skrnn.Seq2Seq`'s *default* sizes (BiLSTM 128, embedding 64, batch 64) against the
  padded plain loop with fused Adam, plus skrnn with ``precision="bfloat16"``; wall and CPU
  time and the fraction of the float32 matmul peak (the higher of MKL and oneDNN, measured in
  the same run). Target (issue 15): skrnn / plain >= 1.1.
* ``sequitur`` -- Sequitur G2P (joint-sequence n-grams; PyPI ``sequitur-g2p``, run as its
  ``g2p.py`` in a subprocess) trained on the first ``--sequitur-words`` of skrnn's training
  words (5% held out by Sequitur for its discounts), ramped up order by order while the
  next order is predicted to fit in ``--sequitur-budget`` CPU minutes, scored on the same test
  words. It runs on the second core while skrnn trains (``--sequential`` to run it after);
  without a working Sequitur the report says why. Known problem: the PyPI wheel 1.0.1668.30
  fails in training (``'SwigPyObject' object has no attribute 'thisown'``, fixed upstream
  after that release) and calls ``numpy.sometrue``, which NumPy 2 removed; a build from the
  upstream source with SWIG 4.2, the ``thisown`` assignments dropped (``%newobject`` in
  ``sequitur.i`` instead) and ``num.sometrue`` -> ``num.any`` works.

Published results, for context only (other splits and settings): encoder-decoder LSTM
28.6% WER (Yao & Zweig 2015), Sequitur 24.5% (Bisani & Ney 2008), alignment-based
bidirectional LSTM 23.6% (Yao & Zweig 2015). The project's target: <= 25% WER after at most
30 minutes of training on 2 cores.

How to run (from the repository root, skrnn importable)::

    python benchmarks/seq2seq.py --quick             # 3,000 words, 1 minute of training: < 2 min
    python benchmarks/seq2seq.py                     # all 112,109 words, 15 minutes: ~25 min
    python benchmarks/seq2seq.py --train-words 30000 --time-budget 5 --hidden-size 256
    python benchmarks/seq2seq.py --skip-sequitur --skip-throughput
    python benchmarks/seq2seq.py --decode-speed-only  # decoding speed only: ~3 min

Writes the tables and ``benchmarks/results/seq2seq.json`` (``--out``).
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on a machine where other programs
# hold the cores, spinning threads slow the recurrent kernels down many times over.
# Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import HERE, Clock, cpu_name, load, source_revision, versions, write_report

DEFAULT_OUT = HERE / "results" / "seq2seq.json"

#: Published word error rates (%), other splits and settings: printed for context.
ANCHORS = [
    ("encoder-decoder LSTM (Yao & Zweig 2015)", 28.6),
    ("Sequitur joint-sequence model (Bisani & Ney 2008)", 24.5),
    ("alignment-based bidirectional LSTM (Yao & Zweig 2015)", 23.6),
]
TARGET_WER = 0.25


# -- data ----------------------------------------------------------------------------


def cmudict_data(n_train_words, n_valid_words, n_test_words, seed=0):
    """Training pairs of ``n_train_words`` random train words; valid / test words with all
    their pronunciations. Returns ``(train_words, (X, y), (Xv, yv), (Xt, yt))``."""
    import numpy as np

    from skrnn.datasets import load_cmudict

    X, y = load_cmudict("train")  # one pair per pronunciation
    words = sorted(set(X))
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(words))
    if n_train_words:
        order = order[:n_train_words]
    chosen = [words[i] for i in order]  # random order: a prefix is a random subset
    keep = set(chosen)
    pairs = [(w, p) for w, p in zip(X, y) if w in keep]
    # Shuffled pairs (skrnn buckets by length anyway; Sequitur reads them in this order).
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    Xv, yv = load_cmudict("valid", variants="all")
    Xt, yt = load_cmudict("test", variants="all")
    pick = rng.permutation(len(Xv))[:n_valid_words]
    Xv, yv = [Xv[i] for i in pick], [yv[i] for i in pick]
    if n_test_words:
        pick = np.sort(rng.permutation(len(Xt))[:n_test_words])
        Xt, yt = [Xt[i] for i in pick], [yt[i] for i in pick]
    return chosen, ([w for w, _ in pairs], [p for _, p in pairs]), (Xv, yv), (Xt, yt)


def error_rates(references, predicted):
    """``(WER, PER)`` against every listed pronunciation."""
    from skrnn.metrics import exact_match_accuracy, token_error_rate

    wer = 1.0 - exact_match_accuracy(references, predicted, multi_reference=True)
    return wer, token_error_rate(references, predicted, multi_reference=True)


# -- skrnn: training under a time budget, decoding ------------------------------------


def make_model(args, **extra):
    from skrnn import Seq2Seq

    params = dict(hidden_size=args.hidden_size, num_layers=args.num_layers,
                  embedding_dim=args.embedding_dim, batch_size=args.batch_size,
                  learning_rate=args.learning_rate, dropout=args.dropout,
                  attention="luong", random_state=0, device="cpu")
    params.update(extra)
    return Seq2Seq(**params)


def train_skrnn(args, X, y, Xv, yv, budget_s):
    """``partial_fit`` epochs under ``budget_s`` CPU seconds, the learning rate halved after an
    epoch without improvement and before each of the last ``args.anneal_epochs``.

    Returns ``(best model, per-epoch records, training Clock)``.
    """
    model = make_model(args)
    lr = args.learning_rate
    best, best_wer, stale, records = None, float("inf"), 0, []
    clock = Clock().start()
    for epoch in range(1, args.epochs + 1):
        tic, cpu = time.perf_counter(), time.process_time()
        model.partial_fit(X, y)
        wer, per = error_rates(yv, model.predict(Xv))
        dur, cpu = time.perf_counter() - tic, time.process_time() - cpu
        improved = wer < best_wer - 1e-4
        records.append(dict(epoch=epoch, train_loss=model.history_[-1]["train_loss"],
                            valid_wer=wer, valid_per=per, learning_rate=lr, wall_s=dur,
                            cpu_s=cpu, best=improved))
        print(f"  epoch {epoch:2d}  loss {records[-1]['train_loss']:.4f}  valid WER {wer:6.2%}"
              f"  PER {per:6.2%}  lr {lr:.2g}  {cpu:5.1f} s CPU{'  *' if improved else ''}",
              flush=True)
        if improved:
            best, best_wer, stale = copy.deepcopy(model), wer, 0
        else:
            stale += 1
            if stale >= 3:
                break
        # The epochs still to come in the budget (CPU seconds: what other work on the
        # machine inflates least; the slowest epoch so far is the estimate).
        left = int((budget_s - (time.process_time() - clock.cpu0))
                   // max(r["cpu_s"] for r in records))
        if left < 1 or epoch == args.epochs:
            break
        if not improved or left <= args.anneal_epochs or args.epochs - epoch <= args.anneal_epochs:
            lr /= 2
            model.set_params(learning_rate=lr)
    clock.stop()
    return best, records, clock


def decode_rate(model, X, beam):
    """``(predictions, Clock)`` of ``predict`` with ``beam_size=beam``."""
    model.set_params(beam_size=beam)
    with Clock() as clock:
        predicted = model.predict(X)
    model.set_params(beam_size=1)
    return predicted, clock


# -- plain PyTorch: the same network, the same batches ----------------------------------


def plain_network(n_inputs, n_outputs, embedding_dim, hidden_size, num_layers, dropout,
                  packed):
    """The network of ``Seq2Seq(attention="luong")`` written directly in torch.

    ``packed``: the textbook encoder (``pack_padded_sequence`` into one bidirectional
    ``nn.LSTM``, ``nn.Dropout``); otherwise right padding, each direction its own
    ``nn.LSTM`` per layer with the backward one reading each word reversed within its
    length (``gather``), and ``rand_like`` dropout masks (skrnn's way until it moved to
    ``index_select`` and an in-place mask).
    """
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class RandDropout(nn.Dropout):
        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            return x * (torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p))

    def flip(x, lengths):  # reverse each row within its length, padding stays at the end
        steps = torch.arange(x.shape[1]).expand(x.shape[0], -1)  # (N, S)
        idx = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
        return x.gather(1, idx.unsqueeze(2).expand_as(x))

    H, L = hidden_size, num_layers

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(n_inputs, embedding_dim, padding_idx=0)
            self.drop = (nn.Dropout if packed else RandDropout)(dropout)
            if packed:
                self.encoder = nn.LSTM(embedding_dim, H, L, batch_first=True,
                                       bidirectional=True, dropout=dropout if L > 1 else 0.0)
            else:
                sizes = [embedding_dim] + [2 * H] * (L - 1)
                self.fwd = nn.ModuleList(nn.LSTM(s, H, batch_first=True) for s in sizes)
                self.bwd = nn.ModuleList(nn.LSTM(s, H, batch_first=True) for s in sizes)
            self.bridge = nn.Linear(2 * H, L * 2 * H)  # -> every layer's (h0, c0)
            self.tgt_embedding = nn.Embedding(n_outputs, embedding_dim, padding_idx=0)
            self.decoder = nn.LSTM(embedding_dim, H, L, batch_first=True,
                                   dropout=dropout if L > 1 else 0.0)
            self.score = nn.Linear(H, 2 * H, bias=False)  # Luong "general": h W m_j
            self.combine = nn.Linear(3 * H, H)
            self.head = nn.Linear(H, n_outputs)

        def encode(self, src, lengths):
            x = self.drop(self.src_embedding(src))  # (N, S, emb)
            if packed:
                out, (h, _) = self.encoder(pack_padded_sequence(
                    x, lengths, batch_first=True, enforce_sorted=False))
                memory, _ = pad_packed_sequence(out, batch_first=True)  # (N, S, 2H)
                return memory, torch.cat([h[-2], h[-1]], dim=-1)  # last layer's final states
            for k, (f, b) in enumerate(zip(self.fwd, self.bwd)):
                if k:
                    x = self.drop(x)
                x = torch.cat([f(x)[0], flip(b(flip(x, lengths))[0], lengths)], dim=-1)
            rows = torch.arange(len(lengths))
            return x, torch.cat([x[rows, lengths - 1, :H], x[:, 0, H:]], dim=-1)

        def forward(self, src, lengths, tgt_in):
            memory, summary = self.encode(src, lengths)
            n = src.shape[0]
            init = torch.tanh(self.bridge(summary)).view(n, L, 2, H)
            h0 = init[:, :, 0].transpose(0, 1).contiguous()  # (L, N, H)
            c0 = init[:, :, 1].transpose(0, 1).contiguous()
            h, _ = self.decoder(self.drop(self.tgt_embedding(tgt_in)), (h0, c0))  # (N, T, H)
            mask = torch.arange(memory.shape[1]) < lengths[:, None]  # (N, S)
            scores = torch.bmm(self.score(h), memory.transpose(1, 2))  # (N, T, S)
            weights = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), dim=2)
            context = torch.bmm(weights, memory)  # (N, T, 2H)
            out = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))
            return self.head(self.drop(out))  # (N, T, V)

    return Plain()


def skrnn_weights(state, packed):
    """skrnn's ``Seq2SeqNetwork`` state dict under the names of :func:`plain_network`'s."""
    out = {}
    for key, value in state.items():
        if key.startswith("encoder.stack."):
            direction, layer, name = key.split(".")[2:]  # forward_layers, 0, weight_ih_l0
            backward = direction == "backward_layers"
            if packed:  # one bidirectional nn.LSTM: weight_ih_l{layer}[_reverse]
                out[f"encoder.{name[:-1]}{layer}{'_reverse' if backward else ''}"] = value
            else:
                out[f"{'bwd' if backward else 'fwd'}.{layer}.{name}"] = value
        else:
            out[{"encoder.embedding.weight": "src_embedding.weight",
                 "embedding.weight": "tgt_embedding.weight"}.get(key, key)] = value
    return out


def largest_difference(model, net, packed, inputs, targets, idx):
    """Largest |logit difference| between skrnn's network and ``net`` given its weights."""
    import numpy as np
    import torch

    from skrnn import data as skrnn_data

    twin = copy.deepcopy(net)
    twin.load_state_dict(skrnn_weights(model.module_.state_dict(), packed))  # strict
    twin.eval()
    batch = skrnn_data.collate(skrnn_data.EncodedData(inputs=inputs, targets=targets), idx,
                               torch.device("cpu"))
    tgt_in = batch.targets[:, :-1].clamp(min=0)
    with torch.no_grad():
        ours = model.module_(batch, tgt_in)
        theirs = twin(batch.inputs, batch.lengths, tgt_in)
    labels = batch.targets[:, 1:]
    real = (labels != -100).unsqueeze(2)  # outputs past a row's <eos> are padding
    return float(((ours - theirs).abs() * real).max()) if np.all(ours.shape == theirs.shape) \
        else float("inf")


def pad(arrays, fill):
    import numpy as np
    import torch

    out = np.full((len(arrays), max(len(a) for a in arrays)), fill, dtype=np.int64)
    for row, a in enumerate(arrays):
        out[row, : len(a)] = a
    return torch.from_numpy(out)


def plain_epoch(net, optimizer, inputs, targets, batches):
    """One epoch of the plain loop over ``batches`` (lists of pair positions)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    net.train()
    total = 0.0
    params = list(net.parameters())
    for idx in batches:
        src = pad([inputs[i] for i in idx], 0)  # (N, S)
        lengths = torch.from_numpy(np.array([len(inputs[i]) for i in idx]))
        tgt = pad([targets[i] for i in idx], -100)  # (N, T + 2): <bos> ids <eos>
        logits = net(src, lengths, tgt[:, :-1].clamp(min=0))  # (N, T + 1, V)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        total += loss.item()
    return total / len(batches)


def throughput(args, X, y):
    """Training pairs per CPU second: skrnn's ``partial_fit`` vs the two plain loops."""
    import numpy as np
    import torch

    from skrnn.data import bucket_batches

    n = len(X)
    model = make_model(args)
    model.partial_fit(X, y)  # builds the vocabularies and the network; warm-up, untimed
    # skrnn draws, per fit call, one seed and then the epoch's buckets from its random
    # state; the mirror repeats those draws, so the plain loops get the same batches.
    mirror = np.random.RandomState(0)
    lengths = np.array([len(w) for w in X])

    def mirrored_batches():
        mirror.randint(np.iinfo(np.int32).max)
        return bucket_batches(lengths, args.batch_size, mirror)

    mirrored_batches()  # the warm-up call's
    v, tv = model.vocabulary_, model.target_vocabulary_
    inputs = [v.encode(w) for w in X]
    targets = [np.concatenate([[tv.bos_id], tv.encode(p), [tv.eos_id]]) for p in y]
    skrnn_params = sum(p.numel() for p in model.module_.parameters())
    runs = {"skrnn": [], "plain": [], "plain_padded": []}
    nets = {}
    for name in ("plain", "plain_padded"):
        torch.manual_seed(0)
        net = plain_network(len(v), len(tv), args.embedding_dim, args.hidden_size,
                            args.num_layers, args.dropout, packed=name == "plain")
        opt = (torch.optim.Adam(net.parameters(), lr=args.learning_rate) if name == "plain"
               else torch.optim.Adam(net.parameters(), lr=args.learning_rate, fused=True))
        plain_epoch(net, opt, inputs, targets, bucket_batches(lengths, args.batch_size)[:4])
        nets[name] = (net, opt)
    n_params = {name: sum(p.numel() for p in net.parameters()) for name, (net, _) in nets.items()}
    # The same function: with skrnn's weights, each plain network gives skrnn's logits.
    probe = bucket_batches(lengths, args.batch_size)[-1]  # the longest words
    differences = {name: largest_difference(model, net, name == "plain", inputs, targets, probe)
                   for name, (net, _) in nets.items()}
    same_network = all(count == skrnn_params for count in n_params.values()) and all(
        d < 1e-4 for d in differences.values())
    names = list(runs)
    for r in range(args.repeats):
        batches = mirrored_batches()  # what skrnn's partial_fit of this round will draw
        for name in names[r % 3:] + names[: r % 3]:
            if name == "skrnn":
                with Clock() as clock:
                    model.partial_fit(X, y)
            else:
                net, opt = nets[name]
                with Clock() as clock:
                    plain_epoch(net, opt, inputs, targets, batches)
            runs[name].append({"cpu_s": clock.cpu, "wall_s": clock.wall})
            print(f"  repeat {r + 1}/{args.repeats} {name:13s} {n / clock.cpu:7.0f} pairs/s "
                  f"(CPU {clock.cpu:5.2f} s, wall {clock.wall:5.2f} s)", flush=True)
    same_batches = None
    state = getattr(model, "_random_state", None)
    if state is not None:
        a, b = state.get_state(), mirror.get_state()
        same_batches = bool(a[2] == b[2] and (a[1] == b[1]).all())
    best = {name: min(x["cpu_s"] for x in rs) for name, rs in runs.items()}
    rates = {name: n / s for name, s in best.items()}
    return dict(pairs=n, repeats=args.repeats, runs=runs, best_cpu_s=best, pairs_per_s=rates,
                ratio_vs_plain=rates["skrnn"] / rates["plain"],
                ratio_vs_plain_padded=rates["skrnn"] / rates["plain_padded"],
                parameters={"skrnn": skrnn_params, **n_params},
                largest_logit_difference=differences, same_network=same_network,
                same_batches=same_batches)


# -- decoding speed: predict vs a plain per-step loop over the same weights --------------


def plain_decode(net, tv, inputs, lengths, bounds, beam, num_layers, hidden_size):
    """Greedy (``beam == 1``) or batched beam search written the usual way in plain PyTorch.

    ``net`` is :func:`plain_network`'s (textbook packed encoder) holding skrnn's weights. Per
    step: target embedding -> the decoder ``nn.LSTM`` called once with the carried ``(h, c)``
    -> Luong attention -> combine -> head; ``<pad>``/``<bos>``/``<unk>`` banned, a row (a
    hypothesis) ends at ``<eos>`` or at its bound (``bounds``: skrnn's rule, ``<eos>``
    included); beam search as skrnn's: beams flattened into the batch, top-k over K x V,
    finished hypotheses kept at their score, the best by log-probability per token.
    Returns the output token lists.
    """
    import torch

    L, H, eos = num_layers, hidden_size, tv.eos_id
    banned = [tv.pad_id, tv.bos_id, tv.unk_id]

    def logits_of(tok, h, c, memory, mask):
        out, (h, c) = net.decoder(net.tgt_embedding(tok), (h, c))  # (N, 1, H)
        att = torch.bmm(net.score(out), memory.transpose(1, 2))  # (N, 1, S)
        att = torch.softmax(att.masked_fill(~mask[:, None], float("-inf")), dim=2)
        ctx = torch.bmm(att, memory)  # (N, 1, 2H)
        logits = net.head(torch.tanh(net.combine(torch.cat([ctx, out], -1))))[:, 0]
        logits[:, banned] = float("-inf")
        return logits, h, c  # (N, V)

    with torch.no_grad():
        memory, summary = net.encode(inputs, lengths)  # (N, S, 2H)
        n, k = inputs.shape[0], beam
        init = torch.tanh(net.bridge(summary)).view(n, L, 2, H)
        h = init[:, :, 0].transpose(0, 1).contiguous()  # (L, N, H)
        c = init[:, :, 1].transpose(0, 1).contiguous()
        mask = torch.arange(memory.shape[1]) < lengths[:, None]  # (N, S)
        if beam == 1:
            tok, done, steps = torch.full((n, 1), tv.bos_id), torch.zeros(n, dtype=torch.bool), []
            for t in range(int(bounds.max())):
                logits, h, c = logits_of(tok, h, c, memory, mask)
                nxt = logits.argmax(dim=1).masked_fill(done | (bounds <= t + 1), eos)
                done |= nxt == eos
                steps.append(nxt)
                tok = nxt[:, None]
                if bool(done.all()):
                    break
            return _token_lists(torch.stack(steps, dim=1).numpy(), tv)
        rows = torch.arange(n).repeat_interleave(k)  # (N*K,)
        memory, mask, h, c = memory[rows], mask[rows], h[:, rows], c[:, rows]
        bound = bounds[rows]
        tok = torch.full((n * k, 1), tv.bos_id)
        scores = torch.full((n, k), float("-inf"))
        scores[:, 0] = 0.0
        finished = torch.zeros(n * k, dtype=torch.bool)
        length = torch.zeros(n * k, dtype=torch.long)
        history = torch.zeros(n * k, 0, dtype=torch.long)
        offsets = (torch.arange(n) * k)[:, None]
        for t in range(int(bounds.max())):
            logits, h, c = logits_of(tok, h, c, memory, mask)
            logp = torch.log_softmax(logits, dim=1)  # (N*K, V)
            stop = finished | (bound <= t + 1)
            logp[stop] = float("-inf")
            logp[stop, eos] = 0.0
            vocab = logp.shape[1]
            scores, flat = (scores.view(-1, 1) + logp).view(n, k * vocab).topk(k, dim=1)
            origin = (flat // vocab + offsets).view(-1)
            nxt = (flat % vocab).view(-1)
            h, c = h[:, origin], c[:, origin]
            was = finished[origin]
            length = length[origin] + (~was).long()
            finished = was | (nxt == eos)
            history = torch.cat([history[origin], nxt[:, None]], dim=1)
            tok = nxt[:, None]
            if bool(finished.all()):
                break
        final = scores.view(-1) / length.clamp(min=1)
        best = final.view(n, k).argmax(dim=1) + offsets.view(-1)
        return _token_lists(history[best].numpy(), tv)


def _token_lists(ids, tv):
    """Rows of output ids -> token lists, each cut at its first ``<eos>``."""
    import numpy as np

    outputs = []
    for row in ids:
        end = np.flatnonzero(row == tv.eos_id)
        outputs.append(tv.decode(row[: end[0]] if end.size else row))
    return outputs


def decode_speed(model, X, beams, repeats, n_single=200):
    """Words per second of ``predict`` (greedy and beam) vs :func:`plain_decode`, the same
    weights and the same bound on the output length, in two cases: ``batch`` -- all of ``X``
    in one call, in predict's length-sorted batches (the plain loop gets the same batches);
    ``single`` -- the first ``n_single`` words, each its own call (a service answering one
    word at a time: per-call and per-step overheads count).

    The repeats are interleaved (the order of the systems alternates every round); the best
    run of each counts. Also the fraction of words on which the two agree.
    """
    import numpy as np
    import torch

    net = plain_network(len(model.vocabulary_), len(model.target_vocabulary_),
                        model.embedding_dim, model.hidden_size, model.num_layers, 0.0,
                        packed=True)
    net.load_state_dict(skrnn_weights(model.module_.state_dict(), packed=True))  # strict
    net.eval()
    v, tv = model.vocabulary_, model.target_vocabulary_

    def naive(words, beam):
        lengths = np.array([len(w) for w in words])
        out = [None] * len(words)
        for idx in model._inference_batches(lengths):  # predict's batches
            inputs = pad([v.encode(words[i]) for i in idx], 0)
            lens = torch.from_numpy(lengths[idx])
            bounds = torch.from_numpy(model._bounds(lengths[idx]) + 1)  # + 1: <eos>
            for i, o in zip(idx, plain_decode(net, tv, inputs, lens, bounds, beam,
                                              model.num_layers, model.hidden_size)):
                out[i] = o
        return out

    def skrnn(words, beam):
        model.set_params(beam_size=beam)
        try:
            return model.predict(words)
        finally:
            model.set_params(beam_size=1)

    def one_by_one(fn):
        return lambda words, beam: [fn([w], beam)[0] for w in words]

    cases = {"batch": (X, {"skrnn": skrnn, "naive": naive}),
             "single": (X[:n_single], {"skrnn": one_by_one(skrnn), "naive": one_by_one(naive)})}
    results = {}
    for case, (words, systems) in cases.items():
        for beam in beams:
            for fn in systems.values():  # warm-up: builds skrnn's stepper once per model
                fn(words[:20], beam)
            best, outputs, before = {}, {}, load()
            names = list(systems)
            for r in range(repeats):
                for name in names[r % 2:] + names[: r % 2]:
                    with Clock() as clock:
                        outputs[name] = systems[name](words, beam)
                    rate = len(words) / clock.wall
                    if name not in best or rate > best[name]["words_per_s"]:
                        best[name] = dict(words_per_s=rate, wall_s=clock.wall, cpu_s=clock.cpu,
                                          words_per_cpu_s=len(words) / clock.cpu)
            agree = np.mean([list(a) == list(b)
                             for a, b in zip(outputs["skrnn"], outputs["naive"])])
            r = results[f"{case} beam{beam}"] = dict(
                case=case, beam=beam, words=len(words), repeats=repeats,
                **{name: best[name] for name in names},
                ratio_vs_naive=best["skrnn"]["words_per_s"] / best["naive"]["words_per_s"],
                ratio_vs_naive_cpu=(best["skrnn"]["words_per_cpu_s"]
                                    / best["naive"]["words_per_cpu_s"]),
                same_output_fraction=float(agree), loadavg_1min=[before, load()])
            print(f"  {case} beam {beam}: skrnn {r['skrnn']['words_per_s']:.0f} words/s, naive "
                  f"{r['naive']['words_per_s']:.0f}: {r['ratio_vs_naive']:.2f}x (CPU "
                  f"{r['ratio_vs_naive_cpu']:.2f}x), same output on {agree:.1%}", flush=True)
    return results


def train_speed(X, y, repeats):
    """Training throughput at ``Seq2Seq``'s default sizes: skrnn (float32 and ``precision=
    "bfloat16"``) vs the padded plain loop (fused Adam), the same batches, wall and CPU time.

    Each round draws the batches skrnn's next ``partial_fit`` will draw (both skrnn models
    have ``random_state=0`` and are called equally often, so they draw alike), then runs the
    three systems in rotated order; the best of ``repeats`` rounds counts. FLOPs: matrix
    products of the plain network per pair (encoder BiLSTM gates per input step; decoder
    LSTM gates, Luong score, the two attention products, combine and output layer per output
    step), x3 for forward + backward.
    """
    import numpy as np
    import torch
    from _common import linear_flops, matmul_peak_gflops, recurrent_flops, train_flops

    from skrnn import Seq2Seq
    from skrnn.data import bucket_batches

    peak, rates = matmul_peak_gflops()
    models = {"skrnn": Seq2Seq(random_state=0, device="cpu"),
              "skrnn-bf16": Seq2Seq(random_state=0, device="cpu", precision="bfloat16")}
    for model in models.values():
        quiet_partial_fit(model, X, y)  # vocabularies, network; a warm-up, untimed
    ref = models["skrnn"]
    hp = ref.get_params()
    mirror = np.random.RandomState(0)
    lengths = np.array([len(w) for w in X])

    def mirrored_batches():
        mirror.randint(np.iinfo(np.int32).max)
        return bucket_batches(lengths, hp["batch_size"], mirror)

    mirrored_batches()  # the warm-up call's
    v, tv = ref.vocabulary_, ref.target_vocabulary_
    inputs = [v.encode(w) for w in X]
    targets = [np.concatenate([[tv.bos_id], tv.encode(p), [tv.eos_id]]) for p in y]
    torch.manual_seed(0)
    net = plain_network(len(v), len(tv), hp["embedding_dim"], hp["hidden_size"],
                        hp["num_layers"], hp["dropout"], packed=False)
    opt = torch.optim.Adam(net.parameters(), lr=hp["learning_rate"], fused=True)
    plain_epoch(net, opt, inputs, targets, bucket_batches(lengths, hp["batch_size"])[:4])
    probe = bucket_batches(lengths, hp["batch_size"])[-1]
    difference = largest_difference(ref, net, False, inputs, targets, probe)

    E, H, V = hp["embedding_dim"], hp["hidden_size"], len(tv)
    memory = 2 * H if hp["bidirectional"] else H
    per_in = recurrent_flops(hp["cell"], E, H, hp["num_layers"], hp["bidirectional"])
    per_out = (recurrent_flops(hp["cell"], E, H, hp["num_layers"]) + linear_flops(H, memory)
               + linear_flops(memory + H, H) + linear_flops(H, V))
    n_in, n_out = int(lengths.sum()), sum(len(t) - 1 for t in targets)
    flops_per_pair = train_flops(n_in * per_in + n_out * per_out
                                 + 2 * 2 * memory * sum(
                                     len(a) * (len(t) - 1) for a, t in zip(inputs, targets))
                                 + len(X) * linear_flops(memory, 2 * H * hp["num_layers"])
                                 ) / len(X)
    names = ["skrnn", "plain_padded", "skrnn-bf16"]
    runs = {name: [] for name in names}
    for r in range(repeats):
        batches = mirrored_batches()
        for name in names[r % 3:] + names[: r % 3]:
            with Clock() as clock:
                if name == "plain_padded":
                    plain_epoch(net, opt, inputs, targets, batches)
                else:
                    quiet_partial_fit(models[name], X, y)
            runs[name].append({"cpu_s": clock.cpu, "wall_s": clock.wall})
            print(f"  round {r + 1}/{repeats} {name:13s} {len(X) / clock.wall:7.0f} pairs/s "
                  f"(wall {clock.wall:5.2f} s, CPU {clock.cpu:5.2f} s)", flush=True)
    same_batches = all(
        (m._random_state.get_state()[1] == mirror.get_state()[1]).all() for m in models.values())
    out = dict(pairs=len(X), repeats=repeats, hyperparameters={
        k: hp[k] for k in ("cell", "hidden_size", "num_layers", "bidirectional", "embedding_dim",
                           "attention", "dropout", "clip_norm", "batch_size", "learning_rate")},
        runs=runs, matmul_peak_gflops=peak, matmul_peak_rates=rates,
        flops_per_pair=flops_per_pair, largest_logit_difference=difference,
        same_network=difference < 1e-4, same_batches=bool(same_batches), systems={})
    for name, rs in runs.items():
        wall, cpu = min(x["wall_s"] for x in rs), min(x["cpu_s"] for x in rs)
        rate = len(X) / wall
        out["systems"][name] = dict(pairs_per_s=rate, pairs_per_cpu_s=len(X) / cpu,
                                    achieved_gflops=rate * flops_per_pair / 1e9,
                                    peak_fraction=rate * flops_per_pair / 1e9 / peak)
    base = out["systems"]["plain_padded"]
    out["ratios"] = {f"{name}/plain_padded{suffix}": out["systems"][name][key] / base[key]
                     for name in ("skrnn", "skrnn-bf16")
                     for key, suffix in (("pairs_per_s", ""), ("pairs_per_cpu_s", " (CPU)"))}
    return out


def print_train_speed(t):
    """The table of :func:`train_speed`."""
    print(f"\ntraining speed at Seq2Seq's defaults, {t['pairs']} pairs, best of {t['repeats']} "
          f"rounds; matmul peak {t['matmul_peak_gflops']:.1f} GFLOP/s")
    print(f"{'system':14s} {'pairs/s':>8s} {'pairs/cpu-s':>11s} {'GFLOP/s':>8s} {'%peak':>6s}")
    for name, r in t["systems"].items():
        print(f"{name:14s} {r['pairs_per_s']:8.0f} {r['pairs_per_cpu_s']:11.0f} "
              f"{r['achieved_gflops']:8.1f} {100 * r['peak_fraction']:5.1f}%")
    for k, v in t["ratios"].items():
        print(f"{k}: {v:.2f}x (target >= 1.1x)")
    print(f"same network (logits): {t['same_network']}, same batches: {t['same_batches']}")


# -- Sequitur G2P -----------------------------------------------------------------------


#: Recorded with Sequitur's results: how to get a Sequitur that trains (see the docstring).
SEQUITUR_NOTE = (
    "PyPI sequitur-g2p 1.0.1668.30 (wheel) fails in training with AttributeError: "
    "'SwigPyObject' object has no attribute 'thisown' (fixed upstream after that release) and "
    "calls numpy.sometrue (removed in NumPy 2). Working build: the upstream source with SWIG "
    "4.2.1 (pip install swig==4.2.1), the '.thisown = True' assignments of sequitur.py removed, "
    "%newobject for EstimationGraphBuilder::create, EvidenceStore::makeSequenceModelEstimator "
    "and Translator::nBestInit in sequitur.i, num.sometrue -> num.any; "
    "pip install --no-build-isolation .")

#: Sequitur processes running now (killed if the benchmark is interrupted).
CHILDREN = []


def sequitur_script():
    """The path of Sequitur's ``g2p.py`` and the reason when there is none."""
    import importlib.util

    if importlib.util.find_spec("sequitur") is None:
        return None, "sequitur-g2p is not installed (pip install sequitur-g2p)"
    path = shutil.which("g2p.py") or str(Path(sys.executable).parent / "g2p.py")
    if not Path(path).exists():
        return None, "sequitur-g2p is installed but its g2p.py script was not found"
    return path, None


def run_sequitur(train_pairs, test_words, budget_s, max_order, workdir):
    """Train Sequitur order by order within ``budget_s``, then apply it to ``test_words``.

    Returns a dict: ``available``, per-order CPU seconds, the order reached, the
    predictions (``predicted``, one list of phonemes per test word) or ``error``.
    """
    import resource

    script, reason = sequitur_script()
    result = {"available": script is not None, "train_words": len({w for w, _ in train_pairs}),
              "train_pairs": len(train_pairs), "orders": [], "note": SEQUITUR_NOTE}
    if script is None:
        result["error"] = reason
        return result
    workdir = Path(workdir)
    lexicon, words = workdir / "train.lex", workdir / "test.words"
    lexicon.write_text("".join(f"{w}\t{' '.join(p)}\n" for w, p in train_pairs))
    words.write_text("".join(f"{w}\n" for w in test_words))

    def child_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def g2p(*cmd, timeout, stdout=subprocess.DEVNULL):
        cpu0, tic = child_cpu(), time.perf_counter()
        with subprocess.Popen([sys.executable, script, *cmd], cwd=workdir, stdout=stdout,
                              stderr=subprocess.PIPE, text=True) as proc:
            CHILDREN.append(proc)
            try:
                _, proc.stderr_text = proc.communicate(timeout=timeout)
            finally:  # a timeout, or the benchmark interrupted: no Sequitur left behind
                if proc.poll() is None:
                    proc.kill()
                CHILDREN.remove(proc)
        return proc, child_cpu() - cpu0, time.perf_counter() - tic

    used, last = 0.0, None
    for order in range(1, max_order + 1):
        left = budget_s - used
        # Each order has taken 1.5-2.5x the previous one's time (measured).
        if last is not None and 2 * last > left:
            break
        cmd = ["--train", "train.lex", "--devel", "5%", "--write-model", f"model-{order}"]
        if order > 1:
            cmd = ["--model", f"model-{order - 1}", "--ramp-up", *cmd]
        try:  # the budget is CPU time; the wall-clock limit only guards against a hang
            proc, cpu, wall = g2p(*cmd, timeout=max(5 * left, 60))
        except subprocess.TimeoutExpired:
            break
        if proc.returncode != 0 or not (workdir / f"model-{order}").exists():
            tail = [line for line in proc.stderr_text.splitlines() if line.strip()][-3:]
            result["error"] = (f"training order {order} failed (exit {proc.returncode}): "
                               + " | ".join(tail))
            break
        result["orders"].append({"order": order, "cpu_s": cpu, "wall_s": wall})
        print(f"  sequitur order {order}: {cpu:6.1f} s CPU ({wall:.0f} s wall)", flush=True)
        used, last = used + cpu, cpu
    if not result["orders"]:
        result.setdefault("error", "no model order finished within the budget")
        return result
    order = result["orders"][-1]["order"]
    result["order"] = order
    result["train_cpu_s"] = sum(o["cpu_s"] for o in result["orders"])
    result["train_wall_s"] = sum(o["wall_s"] for o in result["orders"])
    with open(workdir / "applied.txt", "w") as out:
        proc, cpu, wall = g2p("--model", f"model-{order}", "--apply", "test.words",
                              timeout=3600, stdout=out)
    predicted = {}
    for line in (workdir / "applied.txt").read_text().splitlines():
        word, _, phonemes = line.partition("\t")
        predicted[word] = phonemes.split()
    result["failed_words"] = sum(w not in predicted for w in test_words)
    result["predicted"] = [predicted.get(w, []) for w in test_words]
    result["decode_cpu_s"], result["decode_wall_s"] = cpu, wall
    return result


# -- the run ------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="3,000 train words, 1 minute of training, 1,000 test words")
    p.add_argument("--train-words", type=int, default=None,
                   help="random train words (all their pronunciations); default all 112,109")
    p.add_argument("--epochs", type=int, default=None, help="most epochs (default 30; 4 quick)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="CPU minutes of skrnn training, validation included (default 15; 1 "
                        "quick)")
    p.add_argument("--valid-words", type=int, default=None,
                   help="valid words scored after each epoch (default 2,000; 300 quick)")
    p.add_argument("--test-words", type=int, default=None,
                   help="random test words (default all 6,481; 1,000 quick)")
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--anneal-epochs", type=int, default=2,
                   help="halve the learning rate before each of the last N epochs that fit in "
                        "the budget (default 2), besides after every epoch that did not improve")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--throughput-pairs", type=int, default=None,
                   help="training pairs of the throughput comparison (default 6,400; 1,280 "
                        "quick)")
    p.add_argument("--repeats", type=int, default=None, help="throughput rounds (3; 1 quick)")
    p.add_argument("--sequitur-words", type=int, default=None,
                   help="train words for Sequitur (default 30,000; 1,000 quick)")
    p.add_argument("--sequitur-budget", type=float, default=None,
                   help="CPU minutes of Sequitur training (default: --time-budget)")
    p.add_argument("--sequitur-max-order", type=int, default=6)
    p.add_argument("--sequential", action="store_true",
                   help="run Sequitur after skrnn instead of beside it on the other core")
    p.add_argument("--skip-sequitur", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--train-speed-only", action="store_true",
                   help="only the training-speed comparison at Seq2Seq's default sizes "
                        "(--throughput-pairs pairs, --repeats rounds)")
    p.add_argument("--skip-decode-speed", action="store_true")
    p.add_argument("--decode-speed-only", action="store_true",
                   help="only the decoding-speed comparison, on a model trained for "
                        "--decode-speed-epochs epochs of --train-words (default 3,000) words")
    p.add_argument("--decode-speed-epochs", type=int, default=3,
                   help="epochs of the --decode-speed-only model (default 3: ~150 steps)")
    p.add_argument("--decode-speed-words", type=int, default=1000,
                   help="test words decoded by each system (default 1,000)")
    p.add_argument("--decode-speed-repeats", type=int, default=3,
                   help="interleaved timed runs of each system (default 3)")
    p.add_argument("--decode-speed-single", type=int, default=200,
                   help="words decoded one call each by each system (default 200)")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    quick = args.quick
    args.train_words = args.train_words or (3000 if quick or args.decode_speed_only else None)
    args.epochs = args.epochs or (4 if quick else 30)
    args.time_budget = args.time_budget or (1.0 if quick else 15.0)
    args.valid_words = args.valid_words or (300 if quick else 2000)
    args.test_words = args.test_words or (1000 if quick else None)
    args.throughput_pairs = args.throughput_pairs or (1280 if quick else 6400)
    args.repeats = args.repeats or (1 if quick else 3)
    args.sequitur_words = args.sequitur_words or (1000 if quick else 30000)
    args.sequitur_budget = args.sequitur_budget or args.time_budget

    import torch

    torch.set_num_threads(args.threads)
    words, (X, y), (Xv, yv), (Xt, yt) = cmudict_data(args.train_words, args.valid_words,
                                                     args.test_words)
    print(f"CMUdict: {len(words)} train words ({len(X)} pairs), {len(Xv)} valid words for "
          f"model selection, {len(Xt)} test words; {args.threads} torch thread(s), "
          f"load {load():.1f}", flush=True)
    settings = {k: getattr(args, k) for k in (
        "train_words", "epochs", "time_budget", "valid_words", "test_words", "hidden_size",
        "num_layers", "embedding_dim", "batch_size", "learning_rate", "dropout",
        "anneal_epochs", "beam", "threads", "throughput_pairs", "repeats", "sequitur_words",
        "sequitur_budget", "sequitur_max_order", "sequential")}
    report = dict(benchmark="seq2seq", quick=quick, settings=settings,
                  data=dict(train_words=len(words), train_pairs=len(X), valid_words=len(Xv),
                            test_words=len(Xt)))
    speed_words = Xt[: args.decode_speed_words]
    beams = sorted({1, args.beam})
    if args.train_speed_only:
        n = min(args.throughput_pairs, len(X))
        print(f"\ntraining speed: {n} pairs, {args.repeats} round(s)", flush=True)
        report["train_speed"] = train_speed(X[:n], y[:n], args.repeats)
        print_train_speed(report["train_speed"])
        report.update(cpu=cpu_name(), load_1min=load(), versions=versions(),
                      source=source_revision())
        write_report(report, args.out)
        return 0
    if args.decode_speed_only:
        model = make_model(args)
        with Clock() as clock:
            for _ in range(args.decode_speed_epochs):
                quiet_partial_fit(model, X, y)
        print(f"\nmodel for decoding speed: {args.decode_speed_epochs} epochs "
              f"({model.n_iter_} epochs, {clock.wall:.0f} s)", flush=True)
        print(f"decoding speed: {len(speed_words)} test words", flush=True)
        report["decode_speed"] = decode_speed(model, speed_words, beams,
                                              args.decode_speed_repeats,
                                              args.decode_speed_single)
        report["decode_speed_model"] = dict(epochs=args.decode_speed_epochs, fit_s=clock.wall)
        print_decode_speed(report["decode_speed"])
        report.update(cpu=cpu_name(), load_1min=load(), versions=versions(),
                      source=source_revision())
        write_report(report, args.out)
        return 0

    # Sequitur on the other core meanwhile (a subprocess: it does not share our GIL).
    sequitur, seq_thread, tmp = None, None, tempfile.TemporaryDirectory(prefix="sequitur-")
    if not args.skip_sequitur:
        keep = set(words[: args.sequitur_words])
        seq_pairs = [(w, p) for w, p in zip(X, y) if w in keep]
        box = {}

        def work():
            box["result"] = run_sequitur(seq_pairs, Xt, args.sequitur_budget * 60,
                                         args.sequitur_max_order, tmp.name)

        seq_thread = threading.Thread(target=work, daemon=True)
        if not args.sequential:
            print(f"Sequitur: {len(keep)} words, training beside skrnn", flush=True)
            seq_thread.start()

    print(f"\nskrnn Seq2Seq: hidden {args.hidden_size}, {args.num_layers} layer(s), embedding "
          f"{args.embedding_dim}, batch {args.batch_size}, budget {args.time_budget:g} min",
          flush=True)
    model, epochs, clock = train_skrnn(args, X, y, Xv, yv, args.time_budget * 60)
    best_epoch = min(epochs, key=lambda r: r["valid_wer"])["epoch"]
    skrnn = dict(params={k: v for k, v in model.get_params().items() if k != "device"},
                 epochs=epochs, best_epoch=best_epoch, train_wall_s=clock.wall,
                 train_cpu_s=clock.cpu, decoding={})
    for beam in sorted({1, args.beam}):
        predicted, dclock = decode_rate(model, Xt, beam)
        wer, per = error_rates(yt, predicted)
        skrnn["decoding"][f"beam{beam}"] = dict(wer=wer, per=per, words_per_s=len(Xt) / dclock.cpu,
                                                wall_s=dclock.wall, cpu_s=dclock.cpu)
        if beam == 1:
            examples = list(zip(Xt[:8], predicted[:8], yt[:8]))
    report["skrnn"] = skrnn

    if not args.skip_decode_speed:
        print(f"\ndecoding speed: {len(speed_words)} test words", flush=True)
        report["decode_speed"] = decode_speed(model, speed_words, beams,
                                              args.decode_speed_repeats,
                                              args.decode_speed_single)

    if not args.skip_throughput:
        n = min(args.throughput_pairs, len(X))
        print(f"\nthroughput: {n} pairs, {args.repeats} round(s)", flush=True)
        report["throughput"] = throughput(args, X[:n], y[:n])

    if seq_thread is not None:
        if args.sequential:
            print(f"\nSequitur: {args.sequitur_words} words", flush=True)
            seq_thread.start()
        seq_thread.join()
        sequitur = box["result"]
        predicted = sequitur.pop("predicted", None)
        if predicted is not None:
            sequitur["wer"], sequitur["per"] = error_rates(yt, predicted)
            sequitur["words_per_s"] = len(Xt) / sequitur["decode_cpu_s"]
        report["sequitur"] = sequitur
    tmp.cleanup()

    print_report(report, examples)
    report.update(cpu=cpu_name(), load_1min=load(), versions=versions("sequitur-g2p"),
                  source=source_revision(), anchors_wer_percent=dict(ANCHORS),
                  target_wer=TARGET_WER)
    write_report(report, args.out)
    return 0


def print_report(report, examples):
    d, s = report["data"], report["skrnn"]
    cfg = s["params"]
    print(f"\nCMUdict test, {d['test_words']} words (multi-reference); trained on "
          f"{d['train_words']} words ({d['train_pairs']} pairs)")
    print(f"skrnn: BiLSTM {cfg['hidden_size']} x {cfg['num_layers']} + LSTM decoder, Luong "
          f"attention, embedding {cfg['embedding_dim']}, batch {cfg['batch_size']}; "
          f"{len(s['epochs'])} epochs (best {s['best_epoch']}) in {s['train_wall_s'] / 60:.1f} "
          f"min wall ({s['train_cpu_s'] / 60:.1f} min CPU)")
    w = 54
    print(f"\n{'system':{w}s} {'WER':>7s} {'PER':>7s} {'words/s':>8s} {'train CPU min':>13s}")
    for name, r in s["decoding"].items():
        label = "skrnn greedy" if name == "beam1" else f"skrnn beam {name[4:]}"
        print(f"{label:{w}s} {r['wer']:7.2%} {r['per']:7.2%} {r['words_per_s']:8.0f} "
              f"{s['train_cpu_s'] / 60:13.1f}")
    q = report.get("sequitur")
    if q is not None and "wer" in q:
        label = f"Sequitur order {q['order']} ({q['train_words']} words)"
        print(f"{label:{w}s} {q['wer']:7.2%} {q['per']:7.2%} {q['words_per_s']:8.0f} "
              f"{q['train_cpu_s'] / 60:13.1f}")
    elif q is not None:
        print(f"{'Sequitur':{w}s} not run: {q.get('error')}")
    for label, wer in ANCHORS:
        print(f"{label:{w}s} {wer / 100:7.1%}   (published, other split)")
    best = min(r["wer"] for r in s["decoding"].values())
    print(f"\ntarget WER <= {TARGET_WER:.0%}: {'met' if best <= TARGET_WER else 'NOT met'} "
          f"(best {best:.2%})")
    t = report.get("throughput")
    if t is not None:
        rates = t["pairs_per_s"]
        print(f"\ntraining throughput, {t['pairs']} pairs, best of {t['repeats']} (CPU): skrnn "
              f"{rates['skrnn']:.0f} pairs/s, plain {rates['plain']:.0f}, plain padded "
              f"{rates['plain_padded']:.0f}; skrnn/plain {t['ratio_vs_plain']:.2f} (target >= "
              f"1.0: {'met' if t['ratio_vs_plain'] >= 1.0 else 'NOT met'}), skrnn/plain padded "
              f"{t['ratio_vs_plain_padded']:.2f}; same network (parameters, logits): "
              f"{t['same_network']}, "
              f"same batches: {t['same_batches']}")
    if report.get("decode_speed"):
        print_decode_speed(report["decode_speed"])
    print("\nword            greedy                          reference(s)")
    for word, pred, refs in examples:
        print(f"{word:15s} {' '.join(pred):31s} {' / '.join(' '.join(r) for r in refs)}")


def print_decode_speed(results):
    print(f"\n{'decoding (predict vs a plain per-step loop)':44s} {'skrnn w/s':>9s} "
          f"{'naive w/s':>9s} {'ratio':>6s} {'CPU ratio':>9s} {'same out':>8s} {'load':>9s}")
    for r in results.values():
        label = (f"{r['case']}: " + ("greedy" if r["beam"] == 1 else f"beam {r['beam']}")
                 + f" ({r['words']} words)")
        print(f"{label:44s} "
              f"{r['skrnn']['words_per_s']:9.0f} {r['naive']['words_per_s']:9.0f} "
              f"{r['ratio_vs_naive']:5.2f}x {r['ratio_vs_naive_cpu']:8.2f}x "
              f"{r['same_output_fraction']:8.1%} "
              + "{:.1f}->{:.1f}".format(*r["loadavg_1min"]))


def quiet_partial_fit(model, X, y):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.partial_fit(X, y)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for child in list(CHILDREN):
            child.kill()
