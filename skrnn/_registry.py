"""The estimator classes defined so far, filled as each class is defined.

:func:`skrnn.load` finds the class a file names here, and ``save`` checks
that it is given one of them, without importing the estimator base class
(the services layer never imports the estimators).
"""

from __future__ import annotations

#: Every subclass of ``BaseSequenceEstimator`` (abstract ones too), in definition order.
ESTIMATOR_CLASSES: list = []


def register(cls):
    """Record an estimator class (called by ``BaseSequenceEstimator.__init_subclass__``)."""
    if cls not in ESTIMATOR_CLASSES:
        ESTIMATOR_CLASSES.append(cls)
    return cls


def is_estimator(obj):
    """Whether ``obj`` is an instance of a registered estimator class."""
    return isinstance(obj, tuple(ESTIMATOR_CLASSES))
