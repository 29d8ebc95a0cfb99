"""Training curves: loss, validation score, best epoch and gradient norms
======================================================================

Every fitted skrnn estimator keeps one record per epoch in ``history_``: the
training loss, the validation loss and score when early stopping holds data
out, whether the epoch was the best so far, and the gradient diagnostics
(``grad_norm_mean``, ``grad_norm_max``: the global gradient L2 norm before
clipping, averaged and maximised over the epoch's steps).
:class:`skrnn.inspection.TrainingCurveDisplay` draws them, scikit-learn style:
``from_estimator(est)`` returns a display whose ``figure_`` and ``ax_`` hold
the plot, and ``ax=`` draws into axes of your own.

Run::

    python examples/plot_training_curves.py                 # ~2 minutes on 2 CPU cores
    SKRNN_QUICK=1 python examples/plot_training_curves.py   # ~20-40 s (the docs' build)

Measured 2026-12-02 on a shared 2-core machine (131 s): validation accuracy 0.957 at
the best epoch (8) on 4,000 sentences; the plain RNN's largest gradient norm 3.5e11 at
learning rate 0.3 (training accuracy 0.264, chance ~0.25) and 0.95 at 0.03 (0.997).
With ``SKRNN_QUICK=1`` (600 sentences): 0.858.
"""

import os

# Let idle OpenMP threads sleep instead of spinning (see examples/quickstart.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos
from skrnn.inspection import TrainingCurveDisplay

QUICK = os.environ.get("SKRNN_QUICK") == "1"
# The epoch limits below are this example's time budget: no need to warn that they are reached.
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# A part-of-speech tagger with early stopping
# -------------------------------------------
# ``early_stopping=True`` holds out ``validation_fraction`` (10%) of the
# sentences, scores them after every epoch and keeps the weights of the best
# epoch, which the display marks with a dotted line. The validation score
# (token accuracy) is on the right-hand axis.

X_train, y_train = load_brown_pos("train")
n = 600 if QUICK else 4000
tagger = SequenceTagger(hidden_size=32 if QUICK else 64, max_epochs=8, early_stopping=True,
                        n_iter_no_change=3, random_state=0, device="cpu")
tagger.fit(X_train[:n], y_train[:n])
display = TrainingCurveDisplay.from_estimator(tagger)
print(f"best epoch {display.best_epoch}: validation accuracy "
      f"{tagger.best_validation_score_:.3f}")

# %%
# Exploding gradients, seen in the gradient panel
# -----------------------------------------------
# A plain RNN (``cell="rnn"``) tags each letter of long random sequences with
# the letter three steps earlier. At a learning rate that is too large the
# gradient norms explode by many orders of magnitude within the first epochs,
# and the loss stays at chance level; at a moderate one they stay below 1 and
# fall with the loss. Two axes per run (``ax=(loss_ax, grad_ax)``) put the
# runs side by side. ``examples/exploding_gradients.py`` tells the whole
# story, with clipping.


def delayed_copy(n_sequences, length, seed):
    """Sequences of letters; each tag is the letter three steps before ("-" at first)."""
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n_sequences):
        letters = list(rng.choice(list("abcd"), size=length))
        X.append(letters)
        y.append(["-"] * 3 + letters[:-3])
    return X, y


X, y = delayed_copy(60 if QUICK else 100, 400 if QUICK else 1000, seed=0)
fig, axes = plt.subplots(2, 2, sharex=True, figsize=(10, 6), height_ratios=(3, 2),
                         layout="constrained")
for column, learning_rate in enumerate((0.3, 0.03)):
    rnn = SequenceTagger(cell="rnn", hidden_size=64, bidirectional=False, embedding_dim=8,
                         char_embedding_dim=None, dropout=0.0, early_stopping=False,
                         learning_rate=learning_rate, max_epochs=5 if QUICK else 6,
                         random_state=0, device="cpu")
    rnn.fit(X, y)
    TrainingCurveDisplay.from_estimator(rnn, ax=axes[:, column],
                                        title=f"plain RNN, learning_rate={learning_rate}")
    print(f"learning_rate={learning_rate}: largest gradient norm "
          f"{max(h['grad_norm_max'] for h in rnn.history_):.3g}, "
          f"training accuracy {rnn.score(X, y):.3f}")

# %%
# Without early stopping there is no validation curve: the best epoch is then
# the one with the lowest training loss, and
# ``TrainingCurveDisplay.from_estimator(est, validation=True)`` raises a
# ``ValueError`` that says to refit with ``early_stopping=True``.

plt.show()
