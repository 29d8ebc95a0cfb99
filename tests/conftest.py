"""Shared fixtures: small real data and tiny fitted taggers (module-scoped, never mutated)."""

import os

# OpenMP threads that spin while waiting make oneDNN's RNN kernels up to 100x
# slower when another process holds a core (measured: 8.3 s vs 0.08 s for the
# same LSTM steps on 2 busy cores). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
from _helpers import quiet_fit, toy_tagging_data

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos


@pytest.fixture(scope="session")
def brown_small():
    """A small slice of the bundled Brown POS corpus: (X_train, y_train, X_test, y_test)."""
    Xtr, ytr = load_brown_pos("train")
    Xte, yte = load_brown_pos("test")
    return Xtr[:1500], ytr[:1500], Xte[:300], yte[:300]


@pytest.fixture(scope="session")
def toy_factory():
    """The toy data generator, for tests that need fresh samples."""
    return toy_tagging_data


@pytest.fixture(scope="module")
def toy_data():
    return toy_tagging_data()


@pytest.fixture(scope="module")
def fitted_tagger(toy_data):
    """A small tagger fitted on the toy data; tests must not modify it."""
    X, y = toy_data
    return quiet_fit(SequenceTagger(hidden_size=16, embedding_dim=16, char_embedding_dim=8,
                                    char_filters=8, max_epochs=15, random_state=0, device="cpu"),
                     X, y)
