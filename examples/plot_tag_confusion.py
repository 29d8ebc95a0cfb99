"""Tagging errors in pictures: a per-tag confusion matrix and an entity report
===========================================================================

Token accuracy is one number; a confusion matrix says which tags are mistaken
for which. :class:`skrnn.inspection.TagConfusionDisplay` predicts with a
fitted :class:`skrnn.SequenceTagger`, counts every token of every sentence
and hands the result to scikit-learn's
:class:`~sklearn.metrics.ConfusionMatrixDisplay` (so ``normalize``,
``labels``, ``cmap`` and ``ax`` work as there). For entity tags (IOB2),
:class:`skrnn.inspection.EntityReportDisplay` draws the entity-level
precision, recall and F1 per type that
:func:`skrnn.metrics.entity_classification_report` computes.

Run::

    python examples/plot_tag_confusion.py                 # ~2 minutes on 2 CPU cores
    SKRNN_QUICK=1 python examples/plot_tag_confusion.py   # ~45 s (the docs' build)

Measured 2026-12-02 on a shared 2-core machine: POS token accuracy 0.961 on 500 test
sentences (8,000 training sentences; 96 s in all) with the full settings, 0.900 with
``SKRNN_QUICK=1`` (1,500 sentences); entity micro F1 0.91 and 0.93.
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
from skrnn.inspection import EntityReportDisplay, TagConfusionDisplay
from skrnn.metrics import entity_classification_report

QUICK = os.environ.get("SKRNN_QUICK") == "1"
# The epoch limits are this example's time budget: no need to warn that they are reached.
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# Part-of-speech tags on the Brown corpus
# ---------------------------------------
# Rows are the true tags, columns the predicted ones; ``normalize="true"``
# divides each row by its count, so the diagonal is each tag's recall.

X_train, y_train = load_brown_pos("train")
X_test, y_test = load_brown_pos("test")
n = 1500 if QUICK else 8000
tagger = SequenceTagger(hidden_size=64, max_epochs=6 if QUICK else 5,
                        random_state=0, device="cpu")
tagger.fit(X_train[:n], y_train[:n])
print(f"token accuracy on 500 test sentences: {tagger.score(X_test[:500], y_test[:500]):.3f}")

fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
display = TagConfusionDisplay.from_estimator(
    tagger, X_test[:500], y_test[:500], normalize="true", values_format=".2f", cmap="Blues",
    ax=ax)
ax.set_title("Brown POS tags: recall per true tag (rows sum to 1)")

# %%
# Entities: names, places and organisations
# -----------------------------------------
# Generated sentences with person, location and organisation names, tagged
# IOB2; ``crf=True`` puts a linear-chain CRF on the tagger so that predicted
# tag sequences are valid. Some names occur only in the test sentences, so
# the tagger has to recognise them from their spelling and context.

rng = np.random.RandomState(0)
PEOPLE = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Claude Shannon", "Emmy Noether",
          "John von Neumann", "Barbara Liskov", "Edsger Dijkstra", "Donald Knuth",
          "Margaret Hamilton", "Tim Berners-Lee", "Frances Allen"]
PLACES = ["London", "Paris", "New York", "Princeton", "Cambridge", "Zurich", "Delft",
          "Palo Alto", "Boston", "Amsterdam"]
ORGS = ["IBM", "Bell Labs", "the Royal Society", "MIT", "Xerox PARC", "NASA", "CERN",
        "Stanford University"]
TEMPLATES = ["{PER} moved to {LOC} .", "{PER} joined {ORG} in {LOC} .",
             "In {LOC} , {PER} met {PER} .", "{ORG} hired {PER} .",
             "{PER} gave a talk at {ORG} .", "The paper by {PER} reached {LOC} ."]


def sentence(names):
    """One generated sentence and its IOB2 tags, names drawn from ``names``."""
    tokens, tags = [], []
    for part in rng.choice(TEMPLATES).split():
        if part.startswith("{"):
            kind = part[1:4]
            words = rng.choice(names[kind]).split()
            tokens += words
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
        else:
            tokens.append(part)
            tags.append("O")
    return tokens, tags


train_names = {"PER": PEOPLE[:9], "LOC": PLACES[:7], "ORG": ORGS[:6]}
test_names = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
train = [sentence(train_names) for _ in range(300 if QUICK else 1000)]
test = [sentence(test_names) for _ in range(200)]
ner = SequenceTagger(crf=True, hidden_size=32, max_epochs=8 if QUICK else 15, random_state=0,
                     device="cpu")
ner.fit([t for t, _ in train], [g for _, g in train])
X_ner, y_ner = [t for t, _ in test], [g for _, g in test]
print(entity_classification_report(y_ner, ner.predict(X_ner)))

EntityReportDisplay.from_estimator(ner, X_ner, y_ner, averages=("micro avg", "macro avg"))

plt.show()
