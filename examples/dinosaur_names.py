"""Invent dinosaur names with a character-level language model.
============================================================

Every name is one short sequence: the model learns how names start, go on
and end (``<eos>``), and sampling stops when it decides a name is complete.
Names it invents are checked against the training list.

Run::

    python examples/dinosaur_names.py     # ~1 minute on 2 CPU cores
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from skrnn import LanguageModel
from skrnn.datasets import load_dinosaurs


def main():
    names = load_dinosaurs()
    print(f"{len(names)} dinosaur names, e.g. {', '.join(names[:3])}\n")

    lm = LanguageModel(hidden_size=128, num_layers=1, embedding_dim=32, max_epochs=60,
                       random_state=0, verbose=1)
    lm.fit(names)  # 10% held out: early stopping on their likelihood
    print(f"\nheld-out names: {-lm.best_validation_score_:.3f} nats/char")

    known = set(names)
    for temperature in (0.6, 1.0):
        samples = lm.sample(n_samples=12, max_length=30, temperature=temperature,
                            random_state=0)
        new = sum(s not in known for s in samples)
        print(f"\ntemperature {temperature} ({new}/12 not in the training list):")
        print("  " + ", ".join(s.capitalize() for s in samples))
    print("\nstarting with 'tyranno':", ", ".join(
        lm.sample(n_samples=5, prefix="tyranno", temperature=0.8, random_state=0)))


if __name__ == "__main__":
    main()
