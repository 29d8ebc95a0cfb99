#!/usr/bin/env python
"""Inference throughput: skrnn's ``predict`` / ``score`` vs a plain PyTorch loop, and ONNX Runtime.

What is compared
----------------
In one process, on one CPU thread (``torch.set_num_threads(1)``; ONNX Runtime with one
intra-op and one inter-op thread), each estimator is fitted once (briefly: the weights'
quality does not change the work of a forward pass) and then timed on held-out data:

* ``skrnn`` -- the public method, from raw Python inputs to the returned result:
  :meth:`SequenceTagger.predict` (token lists -> label arrays), :meth:`LanguageModel.score`
  (token lists -> mean log-likelihood), :meth:`SequenceClassifier.predict` and
  :meth:`SequenceRegressor.predict` (lists of ``(T_i, F)`` arrays -> labels / floats),
  :meth:`Seq2Seq.predict` (greedy; strings -> token lists).
* ``plain`` -- a hand-written loop doing the same work with the *same network weights* (it
  calls the fitted ``nn.Embedding`` / ``nn.LSTM`` / ``nn.Linear`` modules of ``module_``
  directly, not skrnn's forward) over *the same length-bucketed batches* skrnn runs (taken
  from the estimator, untimed): ids looked up in the fitted vocabulary's dict, each batch
  padded to its longest sequence, ``model.eval()`` (a fitted network is in eval mode) and
  ``torch.no_grad()``, the backward direction reading each sequence reversed within its
  length (``gather``), argmax / a batched torch Viterbi (CRF) / log-softmax and ``gather``
  of the next tokens (language model) / masked mean pooling (many-to-one), results cut to
  each sequence's length row by row and mapped to labels. Its outputs are checked equal to
  skrnn's (``same`` in the JSON).
* ``plain@bs`` -- the same loop over batches of the estimator's training ``batch_size``
  (32), the batch size a hand-written loop would most likely reuse.
* Seq2Seq has no plain row (its decoding is being optimised elsewhere): its ``predict``
  throughput is reported as it is.
* ``onnx`` -- for each exported model (``est.to_onnx(path)``), ONNX Runtime's
  ``InferenceSession.run`` on ``est.export_inputs(X)`` vs PyTorch running the same serving
  network (``skrnn.export.inference_network(est)``: the network ``predict`` runs plus the
  final softmax / scores, under ``torch.inference_mode()``) on the same arrays, batches of 1
  and of 32 sequences taken in data order (as requests would come; not length-sorted).
  Network outputs only: the CRF tagger's Viterbi runs outside the exported graph and is
  not timed in either.

Tasks (``--tasks``): ``tagger`` / ``tagger-crf`` -- Brown POS (``skrnn.datasets``), word
embedding 100 + BiLSTM 128, no character CNN, softmax or ``crf=True``; ``lm`` -- Penn
Treebank words if ``benchmarks/setup_data.sh`` installed it (else Shakespeare lines,
characters), skrnn's default 2-layer LSTM 256; ``classifier`` / ``regressor`` --
JapaneseVowels (the test split repeated to 8 x 370 utterances), BiLSTM 128, mean pooling;
the regressor predicts a synthetic target (the utterance's mean of coefficient 0);
``seq2seq`` -- CMUdict grapheme-to-phoneme, skrnn's defaults.

Timing: every system of a task runs ``--repeats`` times in rounds (skrnn, plain, plain@bs,
skrnn, ...) so drifts in the machine's load hit all; the fastest wall time and the
smallest process CPU time (``time.process_time``, much less inflated by other load on a
shared machine) are kept, and the ratios are of throughputs: ``skrnn/plain`` > 1 means
skrnn is faster.

How to run
----------
From the repository root::

    python benchmarks/inference.py            # full run, ~4 min on 2 cores
    python benchmarks/inference.py --quick    # smoke run, small data, 2 repeats, < 1 min
    python benchmarks/inference.py --tasks tagger,tagger-crf --repeats 7

The table is printed and the JSON written to ``benchmarks/results/inference.json``
(``--out`` to change).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "inference.json"

if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import Clock, cpu_name, load, source_revision, versions, write_report  # noqa: E402

TASKS = ("tagger", "tagger-crf", "lm", "classifier", "regressor", "seq2seq")
FULL = dict(repeats=5, tagger_train=3000, tagger_test=None, lm_train=3000, lm_test=2000,
            m2o_copies=8, s2s_train=3000, s2s_test=2000, onnx_batches=48)
QUICK = dict(repeats=2, tagger_train=600, tagger_test=800, lm_train=400, lm_test=300,
             m2o_copies=2, s2s_train=400, s2s_test=300, onnx_batches=8)
TREEBANK = HERE / ".data" / "treebank"


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

def interleaved(systems, repeats):
    """Run ``systems`` ({name: fn}) ``repeats`` times in rounds; best wall / CPU per system."""
    out = {name: {"wall": [], "cpu": []} for name in systems}
    results = {}
    for _ in range(repeats):
        for name, fn in systems.items():
            with Clock() as c:
                results[name] = fn()
            out[name]["wall"].append(c.wall)
            out[name]["cpu"].append(c.cpu)
    for rec in out.values():
        rec["best_wall"], rec["best_cpu"] = min(rec["wall"]), min(rec["cpu"])
    return out, results


def fitted(est, X, y=None):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


# --------------------------------------------------------------------------------------------
# Plain building blocks (hand-written; only the fitted nn modules come from skrnn)
# --------------------------------------------------------------------------------------------

def pad(arrays, fill, dtype):
    out = np.full((len(arrays), max(len(a) for a in arrays)) + arrays[0].shape[1:], fill, dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def reverse_padded(x, lengths):
    """Reverse each sequence of a right-padded (N, L, ...) tensor within its own length."""
    n, steps = x.shape[:2]
    pos = torch.arange(steps).unsqueeze(0)
    rev = lengths.unsqueeze(1) - 1 - pos
    rev = torch.where(rev >= 0, rev, pos)
    return x.gather(1, rev.view(n, steps, *([1] * (x.dim() - 2))).expand_as(x))


def recurrent(stack, x, lengths):
    """skrnn's RecurrentStack computed by hand from its nn.LSTM layers (eval mode)."""
    if not stack.bidirectional:
        return stack.rnn(x)[0]
    for fwd, bwd in zip(stack.forward_layers, stack.backward_layers):
        out_f, _ = fwd(x)
        out_b, _ = bwd(reverse_padded(x, lengths))
        x = torch.cat([out_f, reverse_padded(out_b, lengths)], dim=-1)
    return x


def viterbi(em, lengths, trans, start, end):
    """Batched max-plus Viterbi with a batched backtrace; (N, L) tag ids."""
    n, steps, _ = em.shape
    real = torch.arange(steps) < lengths.unsqueeze(1)
    score, pointers = start + em[:, 0], []
    for t in range(1, steps):
        best, arg = (score.unsqueeze(2) + trans).max(dim=1)
        score = torch.where(real[:, t : t + 1], best + em[:, t], score)
        pointers.append(arg)
    tag = (score + end).argmax(dim=1)
    path = [tag]
    for t in range(steps - 1, 0, -1):
        prev = pointers[t - 1].gather(1, tag.unsqueeze(1)).squeeze(1)
        tag = torch.where(real[:, t], prev, tag)
        path.append(tag)
    return torch.stack(path[::-1], dim=1)


def lookup(vocab, seqs):
    stoi, unk = vocab.stoi, vocab.unk_id
    return [np.fromiter((stoi.get(t, unk) for t in s), np.int64, len(s)) for s in seqs]


def plain_tagger(est, X, batches):
    net = est.module_
    chain = net.transition_scores()
    ids, out = lookup(est.vocabulary_, X), [None] * len(X)
    with torch.no_grad():
        for idx in batches:
            seqs = [ids[i] for i in idx]
            lengths = torch.tensor([len(s) for s in seqs])
            x = net.encoder.embedding(torch.from_numpy(pad(seqs, 0, np.int64)))
            logits = net.head(recurrent(net.encoder.stack, x, lengths))  # (N, L, C)
            if chain is None:
                pred = logits.argmax(-1)
            else:
                pred = viterbi(net.chain_emissions(logits), lengths, *chain)
            pred = pred.numpy()
            for row, i in enumerate(idx):
                out[i] = est.classes_[pred[row, : len(seqs[row])]]
    return out


def plain_lm_score(est, X, batches):
    net, v = est.module_, est.vocabulary_
    banned = [v.pad_id, v.bos_id]
    rows = [np.concatenate([[v.bos_id], s, [v.eos_id]]) for s in lookup(v, X)]
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in batches:
            padded = torch.from_numpy(pad([rows[i] for i in idx], -100, np.int64))
            inputs, targets = padded[:, :-1].clamp(min=0), padded[:, 1:]
            logits = net.head(recurrent(net.encoder.stack, net.encoder.embedding(inputs), None))
            logits[..., banned] = float("-inf")
            logp = torch.log_softmax(logits, dim=-1)
            mask = targets != -100
            total += float(logp.gather(2, targets.clamp(min=0).unsqueeze(2)).squeeze(2)[mask].sum())
            count += int(mask.sum())
    return total / count


def plain_m2o(est, X, batches):
    """Pooled network outputs (n, n_outputs) float32 in the order of X."""
    net = est.module_
    enc = net.encoder
    assert net.pooling == "mean"
    out = np.empty((len(X), net.head.out_features), dtype=np.float32)
    with torch.no_grad():
        for idx in batches:
            seqs = [X[i] for i in idx]
            lengths = torch.tensor([len(s) for s in seqs])
            x = torch.from_numpy(pad(seqs, 0.0, np.float32))
            if enc.standardize:
                x = (x - enc.input_mean) / enc.input_scale
            h = recurrent(enc.stack, x, lengths)  # (N, L, D*H)
            mask = torch.arange(h.shape[1]) < lengths.unsqueeze(1)
            pooled = (h * mask.unsqueeze(2)).sum(1) / lengths.unsqueeze(1).to(h.dtype)
            out[idx] = net.head(pooled).numpy()
    return out


def plain_classifier(est, X, batches):
    return est.classes_[plain_m2o(est, X, batches).argmax(axis=1)]


def plain_regressor(est, X, batches):
    out = plain_m2o(est, X, batches).astype(np.float64) * est.y_scale_ + est.y_mean_
    return out.ravel() if est._y_1d else out


def same(a, b):
    if isinstance(a, float):
        return bool(abs(a - b) <= 1e-5 * max(1.0, abs(a)))
    if isinstance(a, list):
        return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))
    return bool(np.array_equal(a, b))


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------

def brown(cfg):
    from skrnn.datasets import load_brown_pos

    X, y = load_brown_pos("train")
    Xt, _ = load_brown_pos("test")
    return (X[: cfg["tagger_train"]], y[: cfg["tagger_train"]]), Xt[: cfg["tagger_test"]]


def japanese_vowels(cfg):
    from skrnn.datasets import load_japanese_vowels

    X, y = load_japanese_vowels("train")
    Xt, _ = load_japanese_vowels("test")
    X = [x.astype(np.float32) for x in X]
    Xt = [x.astype(np.float32) for x in Xt] * cfg["m2o_copies"]
    return (X, y), Xt


def language_data(cfg):
    """PTB sentences (token lists) if installed, else Shakespeare lines (strings)."""
    if (TREEBANK / "treebank" / "__init__.py").exists():
        if str(TREEBANK) not in sys.path:
            sys.path.insert(0, str(TREEBANK))
        import treebank

        def split(name):
            return [line.split() for line in treebank.penn[name].split("\n") if line.strip()]

        return "ptb-words", split("train")[: cfg["lm_train"]], split("test")[: cfg["lm_test"]]
    from skrnn.datasets import load_shakespeare

    lines = load_shakespeare("train", by="line")
    test = load_shakespeare("test", by="line")
    return "shakespeare-chars", lines[: cfg["lm_train"]], test[: cfg["lm_test"]]


def make_task(name, cfg):
    """``(estimator, X_test, n_items, unit, method, plain_fn, data_name)`` for one task."""
    from skrnn import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

    if name in ("tagger", "tagger-crf"):
        (X, y), Xt = brown(cfg)
        est = fitted(SequenceTagger(hidden_size=128, char_embedding_dim=None, max_epochs=1,
                                    crf=name == "tagger-crf", early_stopping=False,
                                    random_state=0), X, y)
        assert not est.vocabulary_.lowercase_fallback
        return est, Xt, sum(map(len, Xt)), "tok", est.predict, plain_tagger, "brown-pos"
    if name == "lm":
        data, X, Xt = language_data(cfg)
        est = fitted(LanguageModel(max_epochs=1, early_stopping=False, random_state=0), X)
        assert not est.vocabulary_.lowercase_fallback
        return est, Xt, sum(len(s) + 1 for s in Xt), "tok", est.score, plain_lm_score, data
    if name in ("classifier", "regressor"):
        (X, y), Xt = japanese_vowels(cfg)
        params = dict(cell="lstm", hidden_size=128, bidirectional=True, pooling="mean",
                      max_epochs=2, batch_size=32, early_stopping=False, random_state=0)
        if name == "classifier":
            est = fitted(SequenceClassifier(**params), X, y)
            plain = plain_classifier
        else:
            est = fitted(SequenceRegressor(**params), X, np.array([x[:, 0].mean() for x in X]))
            plain = plain_regressor
        return est, Xt, len(Xt), "seq", est.predict, plain, "japanese-vowels"
    if name == "seq2seq":
        from skrnn.datasets import load_cmudict

        X, y = load_cmudict("train")
        Xt, _ = load_cmudict("test")
        est = fitted(Seq2Seq(max_epochs=1, early_stopping=False, random_state=0),
                     X[: cfg["s2s_train"]], y[: cfg["s2s_train"]])
        Xt = Xt[: cfg["s2s_test"]]
        return est, Xt, len(Xt), "seq", est.predict, None, "cmudict"
    raise ValueError(name)


def skrnn_batches(est, name, X):
    """The batches skrnn's method runs X in (positions into X)."""
    lengths = np.array([len(s) + (name == "lm") for s in X])  # the LM reads <bos> first
    return est._inference_batches(lengths)


def run_task(name, cfg):
    from skrnn import data as _data

    est, Xt, n_items, unit, method, plain_fn, data = make_task(name, cfg)
    method(Xt[:64])  # untimed: first-call costs (oneDNN primitives, lazy imports)
    systems = {"skrnn": lambda: method(Xt)}
    batches = fixed = None
    if plain_fn is not None:
        batches = skrnn_batches(est, name, Xt)
        lengths = np.array([len(s) + (name == "lm") for s in Xt])
        fixed = _data.bucket_batches(lengths, est.batch_size)
        plain_fn(est, Xt[:64], [np.arange(min(64, len(Xt)))])
        systems["plain"] = lambda: plain_fn(est, Xt, batches)
        systems["plain@bs"] = lambda: plain_fn(est, Xt, fixed)
    load0 = load()
    times, results = interleaved(systems, cfg["repeats"])
    rec = {"data": data, "n_sequences": len(Xt), "n_items": int(n_items), "unit": unit,
           "batches": None if batches is None else len(batches),
           "padded_over_real": None if batches is None else padding(batches, Xt, name),
           "load": [load0, load()], "times": times}
    for t in times.values():
        t["items_per_s"] = n_items / t["best_wall"]
        t["items_per_cpu_s"] = n_items / t["best_cpu"]
    if plain_fn is not None:
        rec["same"] = same(results["skrnn"], results["plain"])
        for other in ("plain", "plain@bs"):
            rec[f"skrnn/{other}"] = times["skrnn"]["items_per_s"] / times[other]["items_per_s"]
            rec[f"skrnn/{other} cpu"] = (times["skrnn"]["items_per_cpu_s"]
                                         / times[other]["items_per_cpu_s"])
    return est, Xt, rec


def padding(batches, X, name):
    lengths = np.array([len(s) + (name == "lm") for s in X])
    return float(sum(len(b) * lengths[b].max() for b in batches) / lengths.sum())


# --------------------------------------------------------------------------------------------
# ONNX Runtime vs PyTorch
# --------------------------------------------------------------------------------------------

def run_onnx(name, est, Xt, cfg, folder):
    try:
        import onnxruntime as ort
    except ImportError:
        return {"skipped": "onnxruntime is not installed"}
    from skrnn.export import inference_network

    path = est.to_onnx(Path(folder) / f"{name}.onnx")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    net = inference_network(est)
    out = {}
    for bs in (1, 32):
        chunks = [Xt[i : i + bs] for i in range(0, len(Xt), bs)][: cfg["onnx_batches"] * (
            8 if bs == 1 else 1)]
        arrays = [est.export_inputs(c) for c in chunks]
        tensors = [tuple(torch.from_numpy(a) for a in arr.values()) for arr in arrays]
        n_seq = sum(len(c) for c in chunks)
        n_steps = int(sum(arr["lengths"].sum() for arr in arrays))

        def ort_run(arrays=arrays):
            return [sess.run(None, arr) for arr in arrays]

        def torch_run(tensors=tensors):
            with torch.inference_mode():
                return [net(*t) for t in tensors]

        ort_run(), torch_run()  # untimed first calls
        times, results = interleaved({"onnxruntime": ort_run, "torch": torch_run},
                                     cfg["repeats"])
        first = results["torch"][0]
        first = (first[0] if isinstance(first, tuple) else first).numpy()
        ort_first = results["onnxruntime"][0][0]
        finite = np.isfinite(first)  # the LM's banned ids are -inf in both
        assert np.array_equal(finite, np.isfinite(ort_first))
        agree = float(np.abs(ort_first[finite] - first[finite]).max())
        out[f"batch {bs}"] = {
            "n_sequences": n_seq, "n_steps": n_steps, "times": times,
            "max_abs_diff_first_batch": agree,
            "onnxruntime_seq_per_s": n_seq / times["onnxruntime"]["best_wall"],
            "torch_seq_per_s": n_seq / times["torch"]["best_wall"],
            "onnxruntime/torch": times["torch"]["best_wall"] / times["onnxruntime"]["best_wall"],
            "onnxruntime/torch cpu": times["torch"]["best_cpu"] / times["onnxruntime"]["best_cpu"],
        }
    return out


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, 2 repeats (a smoke run)")
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated of {TASKS}")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime vs PyTorch")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return p.parse_args(argv)


def print_table(report):
    print(f"\n{'task':<12}{'data':<18}{'unit':>5}{'skrnn/s':>10}{'plain/s':>10}"
          f"{'plain@bs/s':>11}{'s/plain':>8}{'cpu':>6}{'s/p@bs':>8}{'cpu':>6}{'pad':>6}"
          f"{'same':>6}")
    for name, rec in report["tasks"].items():
        t = rec["times"]

        def rate(s, t=t):
            return f"{t[s]['items_per_s']:10.0f}" if s in t else f"{'-':>10}"

        def ratio(key, rec=rec):
            return f"{rec[key]:.2f}x" if key in rec else "-"

        pad = f"{rec['padded_over_real']:.2f}" if rec["padded_over_real"] else "-"
        print(f"{name:<12}{rec['data']:<18}{rec['unit']:>5}{rate('skrnn')}{rate('plain')}"
              f"{rate('plain@bs'):>11}{ratio('skrnn/plain'):>8}{ratio('skrnn/plain cpu'):>6}"
              f"{ratio('skrnn/plain@bs'):>8}{ratio('skrnn/plain@bs cpu'):>6}{pad:>6}"
              f"{str(rec.get('same', '-')):>6}")
    if report.get("onnx"):
        print(f"\n{'ONNX Runtime vs PyTorch':<24}{'batch':>6}{'ort seq/s':>11}{'torch seq/s':>12}"
              f"{'ort/torch':>10}{'cpu':>7}{'max|diff|':>11}")
        for name, rec in report["onnx"].items():
            if "skipped" in rec or "error" in rec:
                print(f"{name:<24}  {rec.get('skipped') or rec.get('error')}")
                continue
            for key, r in rec.items():
                print(f"{name:<24}{key.split()[1]:>6}{r['onnxruntime_seq_per_s']:11.0f}"
                      f"{r['torch_seq_per_s']:12.0f}{r['onnxruntime/torch']:9.2f}x"
                      f"{r['onnxruntime/torch cpu']:6.2f}x{r['max_abs_diff_first_batch']:11.1e}")


def main(argv=None):
    args = parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats:
        cfg["repeats"] = args.repeats
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise SystemExit(f"unknown task(s) {sorted(unknown)}; choose from {TASKS}")
    torch.set_num_threads(1)
    for name in ("onnxscript", "onnx_ir"):  # export chatter ("Skipped deduplication ...")
        logging.getLogger(name).setLevel(logging.ERROR)
    report = {"benchmark": "inference", "quick": args.quick, "config": cfg, "cpu": cpu_name(),
              "versions": versions("onnxruntime", "onnx"), "revision": source_revision(),
              "tasks": {}, "onnx": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name in tasks:
            print(f"{name} ...", flush=True)
            est, Xt, rec = run_task(name, cfg)
            report["tasks"][name] = rec
            if not args.no_onnx and name != "seq2seq":
                try:
                    report["onnx"][name] = run_onnx(name, est, Xt, cfg, folder)
                except Exception as exc:  # noqa: BLE001 -- report, keep the other tasks
                    report["onnx"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    print_table(report)
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
