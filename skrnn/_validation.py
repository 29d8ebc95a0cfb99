"""Checks for ragged sequence data, shared by every estimator.

The estimators take plain Python containers (lists of token lists, lists of
strings, lists of 2-D arrays). Everything a user can get wrong about them is
caught here, before any tensor exists, and reported with a message that says
what was found and how to fix it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

#: The three kinds of sequence input. ``"tokens"``: each sequence is a list of
#: str tokens. ``"chars"``: each sequence is one str, every character a step.
#: ``"numeric"``: each sequence is a float array of shape ``(T_i, n_features)``.
SEQUENCE_KINDS = ("tokens", "chars", "numeric")

_KIND_WORDS = {
    "tokens": "a list of str tokens",
    "chars": "a str (one step per character)",
    "numeric": "a 2-D float array (T_i, n_features)",
}

_EXPECTED_X = (
    "a list of sequences: token lists (e.g. [['The', 'cat'], ['It', 'sat']]), "
    "strings (one step per character) or 2-D float arrays of shape (T_i, n_features)"
)


def _type_name(obj):
    return type(obj).__name__


def _as_outer_list(X, name, tables=True, kind=None):
    """Return the sequences of ``X`` as a list, or raise for non-containers.

    With ``tables``, a list of equal-length rows of numbers is read like a
    2-D array: univariate series (never for labels). ``kind`` (the kind seen
    at fit time, if any) chooses the hint for a single str passed as X.
    """
    if sp.issparse(X):  # before the dict check: scipy's DOK format is a dict
        raise TypeError(
            f"Sparse input is not supported: {name} must be dense. Convert it with "
            f"{name}.toarray() if it fits in memory."
        )
    if X is None or isinstance(X, (str, bytes, numbers.Number, dict, set)):
        hint = _one_string_hint(X, name, kind) if isinstance(X, str) else ""
        raise TypeError(f"{name} must be {_EXPECTED_X}; got {_type_name(X)}.{hint}")
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas Series / DataFrame
        X = X.to_numpy()
    if not isinstance(X, (np.ndarray, list, tuple)) and hasattr(X, "__array__"):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim > 1:
        # A numeric table stored as objects (e.g. from a DataFrame with mixed dtypes).
        try:
            X = np.asarray(X, dtype=np.float64)
        except OverflowError:  # a Python int beyond float64
            raise ValueError(_overflow_message(None, name, None)) from None
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} is a {X.ndim}-D object array of shape {X.shape} whose entries are not "
                "all numbers. Pass numeric series as a float array, or sequences of tokens as "
                "a list of lists of str."
            ) from None
    if isinstance(X, np.ndarray):
        if X.ndim >= 2 and X.shape[1] == 0 and X.shape[0] > 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                "required: every sequence needs at least one step."
            )
        if X.dtype.kind in "biuf":
            if X.ndim == 3:
                return list(X)
            if X.ndim == 2:
                # (n_samples, n_steps): each row is a univariate series.
                return [row.reshape(-1, 1) for row in X]
            raise ValueError(
                f"A numeric {name} array must be 2-D (n_samples, n_steps) or 3-D "
                f"(n_samples, n_steps, n_features); got an array of shape {X.shape}. "
                "Reshape your data: X.reshape(1, -1) if it is one series, or pass a list "
                "of sequences."
            )
        if X.ndim != 1:
            raise ValueError(
                f"An object array {name} must be 1-D (one sequence per element); "
                f"got shape {X.shape}."
            )
        return list(X)
    if tables and isinstance(X, (list, tuple)) and len(X) and _is_flat_numbers(X[0]):
        # A table of numbers as nested lists: like a 2-D array, univariate series.
        try:
            table = np.asarray(X, dtype=np.float64)
        except OverflowError:  # a Python int beyond float64
            raise ValueError(_overflow_message(None, name, None)) from None
        except (TypeError, ValueError):
            table = None
        if table is None or table.ndim != 2:
            raise ValueError(
                f"{name} looks like a ragged 2-D list of numbers. Pass univariate series of "
                "different lengths as arrays of shape (T_i, 1), e.g. "
                "[np.reshape(s, (-1, 1)) for s in X], or equal-length rows as a 2-D array."
            )
        return _as_outer_list(table, name)
    if not isinstance(X, Sequence):
        try:
            return list(X)
        except TypeError:
            raise TypeError(f"{name} must be {_EXPECTED_X}; got {_type_name(X)}.") from None
    return list(X)


def _shown(strings, limit=6):
    """``['The', 'dog', ...]``: the first few strings, each cut to 20 characters (for messages)."""
    cut = [str(t) if len(t) <= 20 else str(t[:17]) + "..." for t in strings[:limit]]
    return repr(cut)[:-1] + (", ...]" if len(strings) > limit else "]")


def _tokens_example(strings):
    """``[['The', 'dog', ...]]``: how the first string(s) look as token lists (for messages)."""
    rows = [_shown(s.split() or [s]) for s in strings[:2]]
    more = ", ..." if len(strings) > 2 else ""
    return f"[{', '.join(rows)}{more}]"


def _one_string_hint(s, name, kind):
    """What to pass instead of one str given where a list of sequences belongs."""
    as_chars = f"{name}=[{s[:20]!r}{'...' if len(s) > 20 else ''}]"
    as_tokens = f"{name}={_tokens_example([s])}"
    if kind == "chars":
        return f" To pass one sequence, wrap it in a list: {as_chars}."
    if kind == "tokens":
        return (
            " The estimator was fitted on token lists: pass a list of token lists, e.g. "
            f"{as_tokens} for one sentence ([sentence.split()])."
        )
    return (
        f" To pass one sequence, wrap it in a list: {as_tokens} for a sequence of tokens "
        f"(e.g. [sentence.split()]), or {as_chars} for one step per character."
    )


def _kind_mismatch_hint(seqs, found, kind, name):
    """How to turn input of kind ``found`` into the kind ``kind`` the estimator was fitted on."""
    if found == "chars" and kind == "tokens":
        if any(any(c.isspace() for c in s) for s in seqs):
            return (
                f" Split each string into tokens first, e.g. {name} = [s.split() for s in "
                f"{name}], which gives {_tokens_example(seqs)}."
            )
        # Single words: most likely one sentence's tokens without the outer list.
        return (
            f" Did you mean {name}=[{_shown(seqs)}]? A sentence is a list of its tokens, and "
            f"{name} is a list of sentences (tokenise untokenised text with "
            f"[s.split() for s in {name}])."
        )
    if found == "tokens" and kind == "chars":
        return (
            " Pass each sequence as one str, e.g. "
            f"{name} = [''.join(seq) for seq in {name}] (or ' '.join for words)."
        )
    return ""


def _is_flat_numbers(seq):
    """True for a 1-D list / tuple / array of numbers (one row of a numeric table)."""
    if isinstance(seq, np.ndarray):
        return seq.ndim == 1 and seq.dtype.kind in "biuf"
    return (isinstance(seq, (list, tuple)) and len(seq) > 0
            and isinstance(seq[0], (numbers.Number, np.number)) and not isinstance(seq[0], bool))


def _sequence_kind(seq, i, name):
    """Tell which kind one sequence is (without converting it)."""
    if isinstance(seq, str):
        return "chars"
    if isinstance(seq, np.ndarray):
        if seq.dtype.kind in "biuf":
            if seq.ndim == 2:
                return "numeric"
            if seq.ndim == 1:
                raise ValueError(_flat_numbers_message(i, name))
            raise ValueError(
                f"{name}[{i}] is a numeric array of shape {seq.shape}; a numeric sequence "
                "must be 2-D with shape (T_i, n_features)."
            )
        if seq.ndim == 1:
            return "tokens"
        if seq.dtype == object and seq.ndim == 2:
            # A numeric table stored as objects (e.g. one sequence sliced from a
            # mixed-dtype DataFrame): numbers read like a float array.
            if all(isinstance(v, _NUMBER_TYPES) and not isinstance(v, _COMPLEX)
                   for v in seq.flat):
                return "numeric"
            kinds = sorted({_type_name(v) for v in seq.flat[:1000]})
            raise ValueError(
                f"{name}[{i}] is a 2-D object array of shape {seq.shape} holding values of "
                f"types {kinds}; a numeric sequence must hold only numbers (shape (T_i, "
                "n_features)), and a token sequence must be a 1-D list of str."
            )
        raise ValueError(
            f"{name}[{i}] is a non-numeric array of shape {seq.shape}; a sequence must be a "
            "1-D list of str tokens or a 2-D numeric array (T_i, n_features)."
        )
    if isinstance(seq, (list, tuple)):
        if len(seq) == 0:
            return "empty"
        first = seq[0]
        if isinstance(first, str):
            return "tokens"
        if isinstance(first, (numbers.Number, np.number)) and not isinstance(first, bool):
            raise ValueError(_flat_numbers_message(i, name))
        if isinstance(first, (list, tuple, np.ndarray)):
            return "numeric"
        raise TypeError(
            f"{name}[{i}][0] is {_type_name(first)} ({first!r}); tokens must be str. "
            "Convert them, e.g. [str(t) for t in seq]."
        )
    raise TypeError(
        f"{name}[{i}] is {_type_name(seq)} ({seq!r:.40}); each element of {name} must be "
        f"one sequence: {_KIND_WORDS['tokens']}, {_KIND_WORDS['chars']} or "
        f"{_KIND_WORDS['numeric']}."
    )


def _flat_numbers_message(i, name):
    return (
        f"{name}[{i}] is a flat sequence of numbers. For numeric input pass a 2-D array "
        "of shape (T_i, n_features) per sequence, e.g. np.asarray(seq).reshape(-1, 1) "
        "for a univariate series; for token ids, convert them to str."
    )


_STR_ONLY = frozenset({str})


def check_sequences(X, *, name="X", kind=None, n_features=None, allowed_kinds=SEQUENCE_KINDS,
                    allow_empty=False):
    """Validate ragged sequence input and return it in canonical form.

    Parameters
    ----------
    X : list of sequences
        Token lists, strings, or 2-D float arrays ``(T_i, n_features)``; also
        a 2-D numeric array ``(n_samples, n_steps)`` (univariate series) or a
        3-D one ``(n_samples, n_steps, n_features)``, a 1-D object array or a
        pandas Series of sequences.
    name : str
        How the argument is called in error messages.
    kind : {"tokens", "chars", "numeric"} or None
        The kind seen at fit time; input of another kind is an error.
    n_features : int or None
        The number of features seen at fit time (numeric input only).
    allowed_kinds : tuple of str
        The kinds this estimator accepts.
    allow_empty : bool, default=False
        Accept empty sequences (a language model's empty prefix).

    Returns
    -------
    sequences : list
        ``list`` of ``list`` of str (tokens), ``list`` of str (chars) or
        ``list`` of float32 arrays ``(T_i, n_features)`` (numeric).
    kind : str
        The kind of the input.
    """
    seqs = _as_outer_list(X, name, kind=kind)
    if len(seqs) == 0:
        raise ValueError(f"{name} is empty: found 0 sequences, at least 1 is required.")
    kinds = {}
    for i, seq in enumerate(seqs):
        k = _sequence_kind(seq, i, name)
        if allow_empty and len(seq) == 0 and not isinstance(seq, np.ndarray):
            continue
        if k == "empty" or (k != "numeric" and len(seq) == 0):
            raise ValueError(
                f"{name}[{i}] is an empty sequence; every sequence needs at least one step. "
                "Drop empty sequences before calling the estimator."
            )
        kinds.setdefault(k, i)
    if not kinds:  # every sequence empty (allow_empty): any kind goes
        # Empty strings are empty character sequences, where characters are allowed.
        strings = "chars" in allowed_kinds and all(isinstance(s, str) for s in seqs)
        kinds = {kind or ("chars" if strings else allowed_kinds[0]): 0}
    if len(kinds) > 1:
        parts = ", ".join(f"{name}[{i}] is {_KIND_WORDS[k]}" for k, i in kinds.items())
        raise ValueError(
            f"{name} mixes kinds of sequences ({parts}); all sequences must be of one kind."
        )
    (found,) = kinds
    if found not in allowed_kinds:
        allowed = " or ".join(_KIND_WORDS[k] for k in allowed_kinds)
        raise ValueError(
            f"This estimator takes sequences that are {allowed}; got {_KIND_WORDS[found]}."
        )
    if kind is not None and found != kind:
        raise ValueError(
            f"{name} holds sequences that are {_KIND_WORDS[found]}, but the estimator was "
            f"fitted on sequences that are {_KIND_WORDS[kind]}."
            + _kind_mismatch_hint(seqs, found, kind, name)
        )
    if found == "tokens":
        out = []
        for i, seq in enumerate(seqs):
            if isinstance(seq, str):  # an empty prefix given as ""
                seq = []
            # tolist() gives builtin str; list() would give numpy.str_ elements.
            seq = seq.tolist() if isinstance(seq, np.ndarray) else list(seq)
            if set(map(type, seq)) <= _STR_ONLY:  # plain str (the common case): one C pass
                out.append(seq)
                continue
            for j, tok in enumerate(seq):
                if type(tok) is not str:
                    if not isinstance(tok, str):
                        raise TypeError(
                            f"{name}[{i}][{j}] is {_type_name(tok)} ({tok!r:.40}); tokens must "
                            "be str. Convert them, e.g. [str(t) for t in seq]."
                        )
                    seq[j] = _builtin_str(tok)
            out.append(seq)
        return out, found
    if found == "chars":
        # An empty prefix may come as [] (allow_empty); a numpy.str_ becomes a str.
        return [s if type(s) is str else _builtin_str(s) if isinstance(s, str) else ""
                for s in seqs], found
    return _check_numeric(seqs, name, n_features), found


def _builtin_str(s):
    """A str subclass (numpy.str_, ...) as a builtin str with the same characters.

    Tokens end up in ``Vocabulary.itos``, which is saved with the model and must
    hold builtin str to load again. ``str.__str__`` copies the characters and
    ignores any ``__str__`` a subclass overrides.
    """
    return str.__str__(s)


def _check_numeric(seqs, name, n_features):
    # A value beyond float32's range becomes inf in the conversion; it is reported
    # with its own message (see _check_finite), so numpy's overflow warning is silenced.
    with np.errstate(over="ignore", invalid="ignore"):
        out = _as_float_tables(seqs, name, n_features)
    _check_finite(out, seqs, name)
    return out


def _check_finite(arrays, seqs, name):
    """Raise on the first sequence with a NaN / inf, checked in one pass over all steps.

    One ``isfinite`` over the stacked steps instead of one per sequence: for
    thousands of short sequences the per-call overhead was most of the check.
    """
    steps = np.concatenate(arrays)  # every array has the same features by now
    finite_steps = np.isfinite(steps).all(axis=1)
    if finite_steps.all():
        return
    first = int(np.argmin(finite_steps))
    i = int(np.searchsorted(np.cumsum([len(a) for a in arrays]), first, side="right"))
    raise ValueError(_non_finite_message(seqs[i], i, name))


def _as_float_tables(seqs, name, n_features):
    """Each sequence as a float32 (T_i, n_features) array, shapes checked."""
    out = []
    for i, seq in enumerate(seqs):
        try:
            arr = np.asarray(seq, dtype=np.float32)
        except OverflowError:  # a Python int too large even for float64
            raise ValueError(_overflow_message(i, name, None)) from None
        except (TypeError, ValueError):
            raise ValueError(
                f"{name}[{i}] could not be read as a 2-D float array (T_i, n_features): "
                f"{_describe_steps(seq)}. Every step must be a list of the same number of "
                "numbers."
            ) from None
        if arr.ndim != 2:
            raise ValueError(
                f"{name}[{i}] has shape {arr.shape}; a numeric sequence must be 2-D with "
                "shape (T_i, n_features)."
            )
        if arr.shape[0] == 0:
            raise ValueError(
                f"{name}[{i}] is an empty sequence; every sequence needs at least one step. "
                "Drop empty sequences before calling the estimator."
            )
        if arr.shape[1] == 0:
            raise ValueError(
                f"{name}[{i}] has shape {arr.shape}: 0 features per step, while a minimum of "
                "1 is required."
            )
        expected = n_features if n_features is not None else (out[0].shape[1] if out else None)
        if expected is not None and arr.shape[1] != expected:
            where = "the estimator was fitted with" if n_features is not None else f"{name}[0] has"
            hint = ""
            if arr.shape[1] == 1 and n_features is not None:
                hint = (f" If {name} is one sequence of shape (T, {expected}), wrap it in a "
                        f"list: [{name}].")
            raise ValueError(
                f"{name}[{i}] has {arr.shape[1]} features per step, but {where} "
                f"{expected}; every step must have the same features.{hint}"
            )
        out.append(arr)
    return out


def _non_finite_message(seq, i, name):
    """Why a sequence has non-finite float32 values: NaN / inf in the data, or overflow."""
    # Only reached on error, so reading the original values again costs nothing
    # on valid input.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            original = np.asarray(seq, dtype=np.float64)
        except OverflowError:
            return _overflow_message(i, name, None)
    if np.isfinite(original).all():
        return _overflow_message(i, name, float(np.abs(original).max()))
    return (
        f"{name}[{i}] contains NaN or infinity. Impute or drop missing values before "
        "fitting (for example with sklearn.impute.SimpleImputer inside a "
        "StepwiseTransformer)."
    )


def _overflow_message(i, name, largest):
    where = name if i is None else f"{name}[{i}]"
    found = "" if largest is None else f"; found {largest:.3g}"
    return (
        f"{where} holds values too large for float32, the precision the network computes "
        f"in (the largest float32 magnitude is about 3.4e38{found}). Scale the features "
        "first, for example with sklearn.preprocessing.StandardScaler inside a "
        "StepwiseTransformer."
    )


def _describe_steps(seq):
    """What the steps of a sequence that is not a float array hold (for messages)."""
    try:
        steps = list(seq)[:20]
    except TypeError:
        return f"it is {_type_name(seq)}"
    sizes = sorted({len(s) for s in steps if hasattr(s, "__len__") and not isinstance(s, str)})
    types = sorted({_type_name(v) for s in steps
                    for v in (s if isinstance(s, (list, tuple, np.ndarray)) else [s])})
    return f"found steps of sizes {sizes} holding values of types {types}"


def check_label_sequences(y, X, X_kind, *, name="y"):
    """Validate per-step labels against the sequences they label.

    Parameters
    ----------
    y : list of sequences of labels
        One label per step of the matching sequence of ``X``; labels are str
        or int. For character input (``X`` a list of str) a label sequence
        may itself be a str, one single-character label per character.
    X : list
        The sequences as returned by :func:`check_sequences`.
    X_kind : str
        Their kind.

    Returns
    -------
    list of ndarray
        One 1-D label array per sequence.
    """
    if y is None:
        raise ValueError(
            f"{name} is required: pass one label sequence per sequence of X, "
            "e.g. y=[['DET', 'NOUN'], ...]."
        )
    numeric_array = isinstance(y, np.ndarray) and y.dtype != object
    ys = None if numeric_array else _as_outer_list(y, name, tables=False)
    if ys is None:
        what = "an array of str" if y.dtype.kind in "US" else "a numeric array"
        if y.ndim == 2:
            hint = f" If each row holds the labels of one sequence, pass {name}.tolist()."
        else:
            hint = (f" Did you pass a flat list of labels? Pass one label sequence per "
                    f"sequence, e.g. {name}=[['DET', 'NOUN'], ...].")
        raise ValueError(
            f"{name} must be a list of label sequences, one per sequence of X; got {what} of "
            f"shape {np.shape(y)}.{hint}"
        )
    if len(ys) != len(X):
        raise ValueError(
            f"X and {name} have different numbers of sequences: {len(X)} and {len(ys)}. "
            f"Pass exactly one label sequence per sequence of X."
        )
    out = []
    label_kind = None
    for i, (labels, seq) in enumerate(zip(ys, X)):
        if isinstance(labels, str):
            if X_kind != "chars":
                raise TypeError(
                    f"{name}[{i}] is the string {labels!r:.40}; {name} must be a list of label "
                    f"sequences, one label per step, e.g. [['DET', 'NOUN'], ...]. "
                    "Did you pass a flat list of labels?"
                )
            labels = list(labels)
        elif isinstance(labels, (numbers.Number, np.number)) or labels is None:
            raise TypeError(
                f"{name}[{i}] is {_type_name(labels)} ({labels!r}); {name} must be a list of "
                "label sequences, one label per step. Did you pass a flat list of labels?"
            )
        arr = _label_array(labels, i, name)
        if arr.ndim != 1:
            raise ValueError(
                f"{name}[{i}] must be a 1-D sequence of labels; got shape {arr.shape}."
            )
        if len(arr) != len(seq):
            raise ValueError(_length_mismatch_message(i, seq, arr, X_kind, name))
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError(
                    f"{name}[{i}] contains NaN or infinity; labels must be str or int."
                )
            if not np.all(arr == np.round(arr)):
                raise ValueError(
                    f"{name}[{i}] holds non-integer float labels; per-step labels must be "
                    "classes (str or int), not continuous values."
                )
            if np.abs(arr).max() >= 2.0 ** 63:
                raise ValueError(_int64_range_message(arr[np.abs(arr) >= 2.0 ** 63][0], i, name))
            arr = arr.astype(np.int64)
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            # One integer dtype for every sequence: concatenating uint64 with int64
            # labels would give float64 and merge distinct classes.
            if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
                raise ValueError(_int64_range_message(arr[arr > _INT64_MAX][0], i, name))
            arr = arr.astype(np.int64)
        lk = "str" if arr.dtype.kind in "US" else ("int" if arr.dtype.kind in "iub" else "other")
        if lk == "other":
            kinds = {_type_name(v) for v in arr.tolist()}
            raise TypeError(
                f"{name}[{i}] holds labels of types {sorted(kinds)}; labels must be all str or "
                "all int."
            )
        if label_kind is None:
            label_kind = lk
        elif lk != label_kind:
            raise TypeError(
                f"{name} mixes str and int labels ({name}[{i}] holds {lk} labels, earlier "
                f"sequences {label_kind}); use one label type."
            )
        out.append(arr)
    return out


def _label_array(labels, i, name):
    """One label sequence as an array; a label that is a container or None is a TypeError."""
    if isinstance(labels, np.ndarray) and labels.dtype != object:
        return labels
    try:
        labels = list(labels)
    except TypeError:
        raise TypeError(
            f"{name}[{i}] is {_type_name(labels)} ({labels!r:.40}); {name} must be a list of "
            "label sequences, one label per step."
        ) from None
    # Checked before numpy sees them: a nested list would become a ragged array
    # (or an error about inhomogeneous shapes) instead of a clear message. One
    # pass over the labels collects their types; the offender is looked up only
    # when there is one.
    types = set(map(type, labels))
    bad = {t for t in types if not issubclass(t, _LABEL_TYPES) or issubclass(t, _COMPLEX)}
    if bad:
        j, label = next((j, lab) for j, lab in enumerate(labels) if type(lab) in bad)
        raise TypeError(
            f"{name}[{i}][{j}] is {_type_name(label)} ({label!r:.40}); labels must be all "
            "str or all int."
        )
    is_str = {issubclass(t, str) for t in types}
    if len(is_str) > 1:
        # numpy would silently turn 1 into '1'.
        raise TypeError(
            f"{name}[{i}] mixes str and numeric labels; labels must be all str or all int."
        )
    arr = np.asarray(labels)
    if arr.dtype.kind in "fO" and all(issubclass(t, numbers.Integral) for t in types):
        # Integers numpy could not hold in one integer dtype (a label beyond int64,
        # or numpy.uint64 next to negative ints, which numpy turns into float64 and
        # so merges distinct labels): build int64 from the exact Python values.
        values = [int(v) for v in labels]
        for v in values:
            if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
                raise ValueError(_int64_range_message(v, i, name))
        arr = np.array(values, dtype=np.int64)
    return arr


_INT64_MAX = np.iinfo(np.int64).max


def _int64_range_message(value, i, name):
    if isinstance(value, (float, np.floating)):
        value = f"{float(value):.6g}"
    return (
        f"{name}[{i}] holds the integer label {value}, which does not fit in a signed 64-bit "
        "integer (-2**63 to 2**63 - 1), as integer labels must. Use str labels instead, "
        f"e.g. [[str(t) for t in seq] for seq in {name}]."
    )


_LABEL_TYPES = (str, numbers.Number, np.generic)
_COMPLEX = (complex, np.complexfloating)
#: Values a float array can hold (bool arrays are numeric input too).
_NUMBER_TYPES = (numbers.Number, np.bool_)


def _length_mismatch_message(i, seq, labels, X_kind, name):
    msg = (
        f"X[{i}] has {len(seq)} steps but {name}[{i}] has {len(labels)} labels; "
        "every sequence needs exactly one label per step."
    )
    if X_kind == "chars":
        msg += (
            f" X[{i}] is a string, so it is read as {len(seq)} characters. If the labels "
            "are per word, tokenize the sentences first, e.g. X = [s.split() for s in X]."
        )
    return msg
