"""Grapheme to phoneme: learn to pronounce English words from the CMU Pronouncing Dictionary.
==========================================================================================

Trains an encoder-decoder with attention (``skrnn.Seq2Seq``: a bidirectional LSTM reads the
word letter by letter, an LSTM decoder writes its ARPAbet phonemes one at a time, looking
back at the letters through Luong attention) on CMUdict training words, and reports on the
6,481 test words it never saw:

* WER, the word error rate: a word is wrong unless its predicted pronunciation equals one
  of the pronunciations the dictionary lists for it (``1 - exact_match_accuracy(...,
  multi_reference=True)``);
* PER, the phoneme error rate: phoneme insertions, deletions and substitutions against the
  closest listed pronunciation, over its length (``token_error_rate(...,
  multi_reference=True)``).

It then pronounces a few words and draws where the decoder looked while pronouncing one
of them (an attention heat-map, saved with matplotlib when it is installed).

Run::

    python examples/grapheme_to_phoneme.py            # 40,000 words: ~6 minutes on 2 cores
    python examples/grapheme_to_phoneme.py --quick    # 6,000 words: < 1 minute
    python examples/grapheme_to_phoneme.py --words 0 --epochs 20   # all 112,109 words

More words and epochs help most: ``benchmarks/seq2seq.py`` trains on every word.
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import Seq2Seq
from skrnn.datasets import load_cmudict
from skrnn.metrics import exact_match_accuracy, token_error_rate


def training_pairs(n_words, seed=0):
    """All (word, pronunciation) pairs of ``n_words`` random train words (0: every word)."""
    words, prons = load_cmudict("train")  # one pair per listed pronunciation
    distinct = sorted(set(words))
    if n_words:
        rng = np.random.RandomState(seed)
        keep = {distinct[i] for i in rng.permutation(len(distinct))[:n_words]}
    else:
        keep = set(distinct)
    pairs = [(w, p) for w, p in zip(words, prons) if w in keep]
    return [w for w, _ in pairs], [p for _, p in pairs], len(keep)


def save_attention(model, word, path):
    """Draw the attention of ``model`` pronouncing ``word``; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    phonemes = model.predict([word])[0]
    weights = model.attention_weights([word])[0]  # (len(phonemes), len(word)), rows sum to 1
    fig, ax = plt.subplots(figsize=(0.5 * len(word) + 2, 0.4 * len(phonemes) + 1.5))
    image = ax.imshow(weights, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(word)), list(word))
    ax.set_yticks(range(len(phonemes)), phonemes)
    ax.set_xlabel("letter read")
    ax.set_ylabel("phoneme written")
    ax.set_title(f"{word} -> {' '.join(phonemes)}")
    fig.colorbar(image, ax=ax, label="attention")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 words, 6 epochs: < 1 min")
    parser.add_argument("--words", type=int, default=None,
                        help="random train words to learn from, 0 for all (default 40,000)")
    parser.add_argument("--epochs", type=int, default=None, help="default 10 (6 with --quick)")
    parser.add_argument("--hidden-size", type=int, default=None,
                        help="default 192 (128 with --quick)")
    parser.add_argument("--beam", type=int, default=5, help="beam size for the test words")
    parser.add_argument("--word", default="pronunciation", help="the word of the heat-map")
    parser.add_argument("--out", default="g2p_attention.png", help="heat-map file")
    args = parser.parse_args()
    n_words = args.words if args.words is not None else (6000 if args.quick else 40000)
    epochs = args.epochs or (6 if args.quick else 10)
    hidden = args.hidden_size or (128 if args.quick else 192)

    X, y, n_distinct = training_pairs(n_words)
    X_test, y_test = load_cmudict("test", variants="all")  # every listed pronunciation
    print(f"CMUdict: training on {n_distinct} words ({len(X)} pronunciations), testing on "
          f"{len(X_test)} unseen words\n")

    model = Seq2Seq(hidden_size=hidden, max_epochs=epochs, random_state=0, verbose=1)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        # The epoch limit is this example's time budget: no need to warn that it was reached.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)  # holds out 10% of the pairs and keeps the best epoch's weights
    print(f"\ntrained {model.n_iter_} epochs in {time.perf_counter() - tic:.0f} s "
          f"(best validation epoch kept)")

    for beam in (1, args.beam):
        model.set_params(beam_size=beam)
        tic = time.perf_counter()
        predicted = model.predict(X_test)
        seconds = time.perf_counter() - tic
        wer = 1 - exact_match_accuracy(y_test, predicted, multi_reference=True)
        per = token_error_rate(y_test, predicted, multi_reference=True)
        name = "greedy" if beam == 1 else f"beam {beam}"
        print(f"test words, {name:7s}  WER {wer:6.2%}  PER {per:6.2%}  "
              f"({len(X_test) / seconds:.0f} words/s)")

    print(f"\n{'word':21s} {'predicted (beam)':29s} dictionary")
    rng = np.random.RandomState(1)
    for i in rng.choice(len(X_test), 6, replace=False):
        refs = " / ".join(" ".join(r) for r in y_test[i])
        print(f"{X_test[i]:21s} {' '.join(predicted[i]):29s} {refs}")
    for word in ("skrnn", "tensorflow", "hyperparameter", "supercalifragilistic"):
        print(f"{word:21s} {' '.join(model.predict([word])[0])}")

    if save_attention(model, args.word, args.out):
        print(f"\nattention of {args.word!r} saved to {args.out}")
    else:
        print("\nmatplotlib is not installed: no heat-map (pip install matplotlib)")


if __name__ == "__main__":
    main()
