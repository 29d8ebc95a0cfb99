"""A character-level language model of Shakespeare: train, score, sample.
======================================================================

Trains a 2-layer LSTM on six plays bundled with skrnn (whole plays are long
sequences, read in windows with the hidden state carried), reports the
validation loss in nats per character and the perplexity on an unseen play
(Twelfth Night), and samples text at two temperatures from a prefix.

Run::

    python examples/char_language_model.py              # ~8 minutes on 2 CPU cores
    python examples/char_language_model.py --epochs 20  # better text, ~20 minutes

Times as measured on a shared 2-core machine: the 8 epochs trained in 475 s there (an epoch
of the six plays is ~52 s on one idle thread, benchmarks/language_model.py).
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import math
import time

from skrnn import LanguageModel
from skrnn.datasets import load_shakespeare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    train = load_shakespeare("train")  # one string per play
    valid = load_shakespeare("valid")
    print(f"training on {len(train)} plays, {sum(map(len, train))} characters\n")

    lm = LanguageModel(max_epochs=args.epochs, random_state=0, verbose=1)
    tic = time.perf_counter()
    lm.fit(train)
    print(f"\n{lm.n_iter_} epochs in {time.perf_counter() - tic:.0f} s; "
          f"{len(lm.vocabulary_)} symbols in the vocabulary")

    nats = -lm.score(valid)
    uniform = math.log(len(lm.vocabulary_) - 2)  # every symbol but <pad> and <bos>
    print(f"validation (Twelfth Night): {nats:.3f} nats/char, perplexity {math.exp(nats):.2f}")
    print(f"(a uniform guess over the vocabulary: {uniform:.2f} nats/char)\n")

    for temperature in (0.5, 1.0):
        text = lm.sample(prefix="ROMEO.\n", max_length=400, temperature=temperature,
                         random_state=1)[0]
        print(f"--- temperature {temperature} ---\n{text}\n")


if __name__ == "__main__":
    main()
