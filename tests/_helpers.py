"""Helpers shared by the test modules: quiet fitting, weight comparison and tiny data.

A plain module, imported as ``import _helpers``: pytest (default import mode, no
``__init__.py`` in tests/) puts tests/ on ``sys.path``, and so does Python when
test_distributed_training.py runs as torchrun's worker script.
"""

import warnings

import numpy as np
import torch


def quiet_fit(est, X, y=None, *, category=Warning):
    """``est.fit(X, y)`` with warnings of ``category`` silenced (tiny models rarely converge)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        return est.fit(X, y)


def quiet_partial_fit(est, X, y=None):
    """``est.partial_fit(X, y)`` with all warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.partial_fit(X, y)


def weights(est):
    """A copy of the fitted network's state dict (parameters and buffers), on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in est.module_.state_dict().items()}


def same_weights(a, b):
    """Whether two state dicts hold the same names and bit-identical tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def toy_tagging_data(n=60, seed=0):
    """Clearly structured token data: a tag depends on the word and its left neighbour."""
    rng = np.random.RandomState(seed)
    dets, nouns, verbs = ["the", "a", "every"], ["dog", "cat", "bird", "fish"], ["runs", "eats"]
    X, y = [], []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.randint(1, 4)):
            words += [dets[rng.randint(3)], nouns[rng.randint(4)], verbs[rng.randint(2)]]
            tags += ["DET", "NOUN", "VERB"]
        X.append(words)
        y.append(tags)
    return X, y


def random_series(n, seed=0, *, min_length=3, max_length=11, n_features=2):
    """``n`` float32 Gaussian series of ``min_length`` to ``max_length`` steps each."""
    rng = np.random.RandomState(seed)
    return [rng.randn(rng.randint(min_length, max_length + 1), n_features).astype(np.float32)
            for _ in range(n)]
