"""What each fitted attribute may hold: the schema that loading checks a file against.

Every estimator class lists its fitted attributes in ``_fitted_attributes``
(name -> :class:`Attr`). :mod:`skrnn.persistence` saves exactly these and
refuses a file that sets any other attribute, lacks a required one or holds a
value of another type, so a tampered file fails at ``load`` with a clear
message instead of later inside ``predict`` with a numpy error.

A check is a function ``check(value, attrs) -> None`` that raises
``ValueError`` naming what is wrong; ``attrs`` holds every decoded attribute,
for checks across attributes (one class weight per class).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Attr:
    """One fitted attribute: how to check its value, and whether every fit sets it.

    ``required`` may also be a function of the other attributes (e.g. only
    for numeric input).
    """

    check: Callable
    required: bool | Callable = True

    def is_required(self, attrs):
        return self.required(attrs) if callable(self.required) else self.required


def _fail(what):
    raise ValueError(what)


def instance_of(*types):
    names = " or ".join(t.__name__ if t is not type(None) else "None" for t in types)

    def check(value, attrs):
        if type(value) not in types:
            _fail(f"is a {type(value).__name__}, expected {names}")
    return check


def optional(check):
    def optional_check(value, attrs):
        if value is not None:
            check(value, attrs)
    return optional_check


def one_of(*values):
    def check(value, attrs):
        if type(value) is not str or value not in values:
            _fail(f"is {value!r}, expected one of {list(values)}")
    return check


def int_at_least(low):
    def check(value, attrs):
        if type(value) is not int or value < low:
            _fail(f"is {value!r}, expected an int >= {low}")
    return check


def finite_float(value, attrs):
    if type(value) not in (float, int) or not math.isfinite(value):
        _fail(f"is {value!r}, expected a finite float")


def list_of(check):
    def list_check(value, attrs):
        if type(value) is not list:
            _fail(f"is a {type(value).__name__}, expected a list")
        for i, item in enumerate(value):
            try:
                check(item, attrs)
            except ValueError as exc:
                _fail(f"item {i} {exc}")
    return list_check


def vocabulary(cls, *, for_kinds, optional=False):
    """A ``cls`` instance for input of ``for_kinds`` (None allowed if ``optional``), else None."""
    def check(value, attrs):
        if attrs.get("input_kind_") not in for_kinds:
            if value is not None:
                _fail(f"is set, but {attrs.get('input_kind_')!r} input has no such vocabulary")
        elif type(value) is not cls and not (optional and value is None):
            _fail(f"is a {type(value).__name__}, expected a {cls.__name__}")
    return check


def history_record(value, attrs):
    """One epoch of ``history_``: str keys, plain numbers or flags as values."""
    if type(value) is not dict or not all(type(k) is str for k in value):
        _fail("is not a dict with str keys")
    for key, item in value.items():
        if type(item) not in (int, float, bool):
            _fail(f"holds {key!r} = {type(item).__name__}, expected a number")


def float_array(*, positive=False, length_of=None):
    """A 1-D float64 array of finite values (optionally > 0, as long as another one)."""
    def check(value, attrs):
        if type(value) is not np.ndarray or value.ndim != 1 or value.dtype != np.float64:
            _fail(f"is {_describe(value)}, expected a 1-D float64 array")
        if not np.isfinite(value).all() or (positive and not (value > 0).all()):
            _fail(f"holds values that are not finite{' and positive' if positive else ''}")
        if length_of is not None and len(value) != len(attrs.get(length_of, ())):
            _fail(f"has {len(value)} values, expected one per entry of {length_of}")
    return check


def class_labels(value, attrs):
    """``classes_``: sorted unique labels, all str or all numbers, as numpy keeps them."""
    if type(value) is not np.ndarray or value.ndim != 1 or len(value) == 0:
        _fail(f"is {_describe(value)}, expected a non-empty 1-D array of labels")
    kind = value.dtype.kind
    if kind == "O":
        types = {type(v) for v in value.tolist()}
        if not (types <= {str} or types <= {int, float, bool}):
            _fail(f"holds labels of types {sorted(t.__name__ for t in types)}, expected all str "
                  "or all numbers")
    elif kind not in "Uiubf":
        _fail(f"has dtype {value.dtype}, expected str or numeric labels")
    if kind == "f" and not np.isfinite(value).all():
        _fail("holds non-finite labels")
    if len(value) > 1 and not all(a < b for a, b in zip(value.tolist(), value.tolist()[1:])):
        _fail("is not sorted and unique (it must be np.unique of the training labels)")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def check_attributes(schema, attrs, owner):
    """Check decoded ``attrs`` against ``schema``; raise ``ValueError`` naming the first problem."""
    unknown = sorted(set(attrs) - set(schema))
    if unknown:
        _fail(f"it sets the attribute(s) {', '.join(map(repr, unknown[:5]))}, which {owner} "
              "does not have.")
    for name, spec in schema.items():
        if name not in attrs:
            if spec.is_required(attrs):
                _fail(f"it lacks the fitted attribute {name!r}.")
            continue
        try:
            spec.check(attrs[name], attrs)
        except ValueError as exc:
            raise ValueError(f"its attribute {name!r} {exc}.") from None
