"""Quickstart: a part-of-speech tagger trained on the bundled Brown corpus.
========================================================================

Trains a bidirectional LSTM tagger (word embeddings plus a character CNN
that reads every word from its spelling) on the Brown corpus shipped with
skrnn, and compares its test accuracy with the classic baseline that gives
each word its most frequent training tag.

Run::

    python examples/quickstart.py            # full training set, ~3-5 minutes on 2 CPU cores
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time
from collections import Counter

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos
from skrnn.metrics import token_accuracy


def most_frequent_tag_baseline(X_train, y_train, X_test):
    """Tag every word with its most frequent training tag (unknown words: the overall one)."""
    by_word = {}
    for words, tags in zip(X_train, y_train):
        for word, tag in zip(words, tags):
            by_word.setdefault(word, Counter())[tag] += 1
    fallback = Counter(t for tags in y_train for t in tags).most_common(1)[0][0]
    best = {w: c.most_common(1)[0][0] for w, c in by_word.items()}
    return [[best.get(w, fallback) for w in words] for words in X_test]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=None, help="use the first N sentences")
    args = parser.parse_args()

    X_train, y_train = load_brown_pos("train")
    X_test, y_test = load_brown_pos("test")
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    n_tokens = sum(map(len, X_train))
    print(f"Brown corpus: {len(X_train)} training sentences ({n_tokens} tokens), "
          f"{len(X_test)} test sentences, {len({t for s in y_train for t in s})} tags\n")

    tagger = SequenceTagger(max_epochs=args.epochs, random_state=0, verbose=1)
    tic = time.perf_counter()
    tagger.fit(X_train, y_train)
    seconds = time.perf_counter() - tic

    baseline = token_accuracy(y_test, most_frequent_tag_baseline(X_train, y_train, X_test))
    accuracy = tagger.score(X_test, y_test)
    print(f"\ntrained {tagger.n_iter_} epochs in {seconds:.0f} s on {tagger.device_}")
    print(f"test token accuracy   most-frequent-tag baseline: {baseline:.4f}")
    print(f"                      skrnn BiLSTM tagger:        {accuracy:.4f}")

    sentence = "The committee rejected the unpronounceable proposal yesterday .".split()
    tags = tagger.predict([sentence])[0]
    print("\n" + " ".join(f"{w}/{t}" for w, t in zip(sentence, tags)))


if __name__ == "__main__":
    main()
