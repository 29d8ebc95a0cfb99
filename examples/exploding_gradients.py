"""Exploding gradients in a plain RNN, read from ``history_``, and what clipping does about them.
==============================================================================================

The task is clearly structured and easy for a recurrent tagger: sequences of
1,000 letters from {a, b, c, d}; the tag of every position is the letter
three positions earlier ("-" for the first three). A plain RNN
(``cell="rnn"``) learns it to ~99% token accuracy in a few epochs with a
moderate learning rate. The script trains the same network five times:

1. learning rate 0.3, no clipping;
2. learning rate 0.3, ``clip_norm=1.0``;
3. learning rate 0.03, no clipping;
4. learning rate 0.03, ``clip_norm=0.5`` (about the first epoch's mean norm);
5. learning rate 1.0, no clipping,

and prints, per epoch, what skrnn records in ``history_``: the training loss,
the mean and the largest global gradient norm over the epoch's optimiser
steps (taken *before* clipping) and the fraction of steps that clipping
changed, then the test accuracy and how the fit ended. A run whose loss
becomes NaN is stopped by skrnn's guard: from the second epoch on it keeps
the weights of the last finite epoch and records ``"diverged": True``; in the
first epoch it raises a ``ValueError`` (there are no weights to keep).

What to look at: at learning rate 0.3 ``grad_norm_max`` jumps by many
orders of magnitude (1e11, then ``inf``: the float32 norm overflows) and
``grad_norm_max`` is far above ``grad_norm_mean`` - gradients that explode
through 1,000 time steps. With clipping, ``clipped_fraction`` goes to 1.0:
every step is clipped, and the run still fails. skrnn trains with Adam, which
divides each step by the running size of the gradient, so clipping the
gradient does not make the step smaller; it only keeps a single spike from
dominating Adam's statistics. The cure for a learning rate that is too large
is a smaller one: at 0.03 the norms stay below 1 and fall with the loss,
and clipping at 0.5 acts in the first two epochs only. At 1.0 the backward pass
itself overflows to NaN in the first epoch - no clipping could help, since it
acts on the gradient after the backward pass - and skrnn's guard stops the fit.
With ``--random-state 1`` and ``2`` the picture is the same (0.3: largest norm
1e12 to inf, accuracy 0.24-0.30 clipped or not; 0.03: 0.997), except that at
1.0 seed 2 stays finite (at chance) instead of diverging.

Run::

    python examples/exploding_gradients.py          # ~25 seconds on 2 CPU cores
"""

import os

# Let idle OpenMP threads sleep instead of spinning (see examples/quickstart.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time
import warnings

import numpy as np

from skrnn import SequenceTagger

LETTERS = "abcd"
DELAY = 3


def delayed_copy(n, length, seed):
    """``n`` sequences of ``length`` letters; each tag is the letter ``DELAY`` steps before."""
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        letters = [LETTERS[i] for i in rng.randint(len(LETTERS), size=length)]
        X.append(letters)
        y.append(["-"] * DELAY + letters[:-DELAY])
    return X, y


def fmt(value):
    """A number that may be huge or non-finite, in 10 characters."""
    if value is None:
        return f"{'':>10}"
    if not np.isfinite(value) or abs(value) >= 1e4:
        return f"{value:>10.2g}"
    return f"{value:>10.3f}"


def run(label, data, *, learning_rate, clip_norm, args):
    X_train, y_train, X_test, y_test = data
    tagger = SequenceTagger(
        cell="rnn", hidden_size=64, bidirectional=False, embedding_dim=8,
        char_embedding_dim=None, dropout=0.0, early_stopping=False,
        learning_rate=learning_rate, clip_value=None, clip_norm=clip_norm,
        max_epochs=args.epochs, random_state=args.random_state, device="cpu",
    )
    print(f"\n== {label}: learning_rate={learning_rate}, clip_norm={clip_norm}")
    tic = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            tagger.fit(X_train, y_train)
        except ValueError as exc:  # diverged in the first epoch: nothing to keep
            print(f"   fit raised ValueError: {exc}")
            return {"label": label, "accuracy": None, "max_norm": None, "diverged": True}
    print(f"{'epoch':>6}{'loss':>10}{'norm mean':>10}{'norm max':>10}{'clipped':>10}")
    for h in tagger.history_:
        print(f"{h['epoch']:>6}{fmt(h['train_loss'])}{fmt(h.get('grad_norm_mean'))}"
              f"{fmt(h.get('grad_norm_max'))}{fmt(h.get('clipped_fraction'))}"
              + ("   diverged: NaN guard kept the previous epoch" if h.get("diverged") else ""))
    accuracy = tagger.score(X_test, y_test)
    print(f"   test token accuracy {accuracy:.3f} ({time.perf_counter() - tic:.1f} s)")
    for w in caught:
        print(f"   {w.category.__name__}: {str(w.message)[:90]}...")
    norms = [h["grad_norm_max"] for h in tagger.history_ if "grad_norm_max" in h]
    return {"label": label, "accuracy": accuracy, "max_norm": max(norms, default=None),
            "diverged": any(h.get("diverged") for h in tagger.history_)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--length", type=int, default=1000, help="letters per sequence")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args()

    X_train, y_train = delayed_copy(100, args.length, seed=0)
    X_test, y_test = delayed_copy(100, args.length, seed=1)
    data = (X_train, y_train, X_test, y_test)
    print(f"delayed copy: tag = letter {DELAY} steps earlier; {len(X_train)} training and "
          f"{len(X_test)} test sequences of {args.length} letters; chance accuracy ~0.25")

    runs = [
        run("too large, unclipped", data, learning_rate=0.3, clip_norm=None, args=args),
        run("too large, clipped", data, learning_rate=0.3, clip_norm=1.0, args=args),
        run("moderate, unclipped", data, learning_rate=0.03, clip_norm=None, args=args),
        run("moderate, clipped", data, learning_rate=0.03, clip_norm=0.5, args=args),
        run("far too large", data, learning_rate=1.0, clip_norm=None, args=args),
    ]

    print("\nsummary")
    print(f"{'run':<22}{'largest norm':>14}{'accuracy':>10}{'diverged':>10}")
    for r in runs:
        accuracy = "-" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        largest = "-" if r["max_norm"] is None else f"{r['max_norm']:.3g}"
        print(f"{r['label']:<22}{largest:>14}{accuracy:>10}{'yes' if r['diverged'] else 'no':>10}")

    too_large, clipped, unclipped_ok, clipped_ok, far = runs
    print(f"\nfinding: at learning rate 0.3 the plain RNN's gradient norms explode (largest "
          f"{too_large['max_norm']:.3g}; accuracy {too_large['accuracy']:.3f}, chance ~0.25). "
          "Clipping to norm 1.0 (nearly every step clipped) gives "
          f"{clipped['accuracy']:.3f}: under Adam a clipped gradient still makes a full-size "
          "step, so clipping is no cure for a "
          f"learning rate that is too large. At 0.03 it learns ({unclipped_ok['accuracy']:.3f} "
          f"unclipped, {clipped_ok['accuracy']:.3f} clipped at 0.5). At 1.0 it "
          + ("diverged (NaN loss) and skrnn's guard stopped it." if far["diverged"] else
             f"reached {far['accuracy']:.3f}."))


if __name__ == "__main__":
    main()
