"""Stateless preprocessing of token sequences, for use in front of an estimator.

The transformers here take the X that skrnn's estimators take (a list of token sequences,
or a list of strings for character-level models) and return the same shape, so they can
stand first in a :class:`~sklearn.pipeline.Pipeline`::

    make_pipeline(TokenNormalizer(digits="zero"), SequenceTagger())

:class:`StepwiseTransformer` does the same for numeric sequences: it applies any
scikit-learn transformer to every step of every sequence.

This module depends on numpy and scikit-learn only.
"""

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted

__all__ = ["StepwiseTransformer", "TokenNormalizer"]

# Python's \d on str matches every Unicode decimal digit (category Nd), e.g. "٣" too.
_DIGIT = re.compile(r"\d")

_STRIP_ACCENTS = {"unicode": strip_accents_unicode, "ascii": strip_accents_ascii}

_EXPECTED_X = (
    "X must be a list of token sequences (e.g. [['Harry', 'Potter'], ['He', 'left']]) "
    "or a list of str (e.g. ['some text', 'more text'])"
)


def _check_X(X):
    """Return X as a list of sequences, raising a TypeError for anything else.

    Each returned element is either a str (kept as text) or a list of str tokens.
    """
    if isinstance(X, str):
        raise TypeError(f"{_EXPECTED_X}; got a single str. To transform one text, pass [X].")
    is_scalar_array = isinstance(X, np.ndarray) and X.ndim == 0
    if isinstance(X, bytes) or not isinstance(X, (Sequence, np.ndarray)) or is_scalar_array:
        raise TypeError(f"{_EXPECTED_X}; got {type(X).__name__}.")
    sequences = []
    for i, seq in enumerate(X):
        if isinstance(seq, str):
            sequences.append(seq)
            continue
        if isinstance(seq, np.ndarray):
            if seq.ndim != 1:
                raise TypeError(
                    f"{_EXPECTED_X}; X[{i}] is an array of shape {seq.shape}, not a 1-D "
                    "sequence of tokens."
                )
            seq = seq.tolist()
        elif not isinstance(seq, Sequence) or isinstance(seq, bytes):
            raise TypeError(f"{_EXPECTED_X}; X[{i}] is of type {type(seq).__name__}.")
        for j, token in enumerate(seq):
            if not isinstance(token, str):
                raise TypeError(
                    f"{_EXPECTED_X}; token X[{i}][{j}] is of type {type(token).__name__}, not str."
                )
        sequences.append(list(seq))
    return sequences


class TokenNormalizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Normalise the text of every token: Unicode form, accents, case and digits.

    A stateless transformer: ``fit`` only checks the parameters and X, and
    ``transform`` may be called without fitting. Each token is normalised on its own, so
    every sequence keeps its number of tokens (labels stay aligned); a token's own
    length may change (``"ﬁ"`` becomes ``"fi"`` under NFKC).

    The steps run in this order: ``unicode_normalize``, ``strip_accents``,
    ``lowercase``, ``digits``.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase every token (``str.lower``).

    digits : {"keep", "zero"}, default="keep"
        ``"zero"`` replaces every decimal digit by ``"0"`` (``"1984"`` becomes
        ``"0000"``), a classic trick for named-entity recognition: numbers of the same
        shape share one vocabulary entry. Any Unicode decimal digit counts.

    strip_accents : {None, "unicode", "ascii"}, default=None
        Remove accents as scikit-learn's text vectorizers do: ``"unicode"`` decomposes
        (NFKD) and drops combining marks, and works for any language; ``"ascii"`` also
        drops every character that has no ASCII equivalent (a token may become
        ``""``). ``None`` leaves accents alone.

    unicode_normalize : {None, "NFC", "NFKC", "NFD", "NFKD"}, default=None
        Apply :func:`unicodedata.normalize` with this form first; ``None`` skips it.

    See Also
    --------
    sklearn.feature_extraction.text.CountVectorizer : The same ``lowercase`` and
        ``strip_accents`` options for bags of words.

    Notes
    -----
    X is a list of token sequences, each a list, tuple or 1-D array of str, or a
    list of str. A str element is a *text* (a character sequence, as for a
    character-level language model): it is normalised as a whole and stays a str,
    and its length may change (``"ﬁ"`` → ``"fi"``, NFC composing ``"e" + "\\u0301"``
    into one character). If characters carry labels, pass each text as a list of
    one-character str instead, so the number of items is kept.

    The output is a Python list, never a DataFrame: ``set_output`` accepts only
    ``transform="default"`` (or None), so that ``Pipeline.set_output`` keeps working.

    Examples
    --------
    >>> TokenNormalizer(digits="zero").transform([["Born", "in", "1984"]])
    [['born', 'in', '0000']]
    >>> TokenNormalizer(strip_accents="unicode").transform(["Café Noël"])
    ['cafe noel']
    """

    _parameter_constraints: dict = {
        "lowercase": ["boolean"],
        "digits": [StrOptions({"keep", "zero"})],
        "strip_accents": [None, StrOptions({"unicode", "ascii"})],
        "unicode_normalize": [None, StrOptions({"NFC", "NFKC", "NFD", "NFKD"})],
    }

    def __init__(
        self, *, lowercase=True, digits="keep", strip_accents=None, unicode_normalize=None
    ):
        self.lowercase = lowercase
        self.digits = digits
        self.strip_accents = strip_accents
        self.unicode_normalize = unicode_normalize

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and X; nothing is learned.

        Parameters
        ----------
        X : list of sequences of str, or list of str
            Token sequences (``[["Harry", "Potter"], ...]``) or texts.

        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : TokenNormalizer
            This transformer.
        """
        _check_X(X)
        return self

    def transform(self, X):
        """Return a normalised copy of X with the same number of tokens per sequence.

        Parameters
        ----------
        X : list of sequences of str, or list of str
            Token sequences (``[["Harry", "Potter"], ...]``) or texts.

        Returns
        -------
        X_new : list of lists of str, or list of str
            A new list; sequences become lists of str, texts stay str. X is not
            modified.
        """
        self._validate_params()
        sequences = _check_X(X)
        out = []
        for seq in sequences:
            if isinstance(seq, str):
                out.append(self._normalize(seq))
                continue
            new_seq = [self._normalize(token) for token in seq]
            if len(new_seq) != len(seq):  # pragma: no cover - a broken step would land here
                raise RuntimeError("TokenNormalizer changed the number of tokens.")
            out.append(new_seq)
        return out

    def _normalize(self, text):
        """Normalise one token (or one text)."""
        if self.unicode_normalize is not None:
            text = unicodedata.normalize(self.unicode_normalize, text)
        if self.strip_accents is not None:
            text = _STRIP_ACCENTS[self.strip_accents](text)
        if self.lowercase:
            text = text.lower()
        if self.digits == "zero":
            text = _DIGIT.sub("0", text)
        return text

    def set_output(self, *, transform=None):
        """Accept only the default output: the result is a list of sequences.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            ``"default"`` and None change nothing. ``"pandas"`` or ``"polars"`` raise a
            ValueError, since a list of variable-length sequences is not a table.

        Returns
        -------
        self : TokenNormalizer
            This transformer.
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"TokenNormalizer returns a list of token sequences, which cannot become "
                f"a {transform!r} container; use set_output(transform='default') or "
                "leave it out of set_output."
            )
        return self

    def __sklearn_is_fitted__(self):
        """Stateless: always ready to transform, with or without ``fit``."""
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags


class StepwiseTransformer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Apply a scikit-learn transformer to every step of every numeric sequence.

    ``fit`` stacks all steps of all sequences into one ``(sum(T_i),
    n_features)`` table and fits a clone of ``transformer`` on it (so a
    ``StandardScaler`` learns each feature's mean and scale over all
    steps); ``transform`` transforms each sequence's steps and keeps the
    sequences apart and their lengths unchanged::

        make_pipeline(StepwiseTransformer(StandardScaler()), SequenceClassifier())

    Parameters
    ----------
    transformer : estimator with ``fit`` and ``transform``
        Any scikit-learn transformer whose output has one row per input row
        (scalers, imputers, PCA, ...).

    Attributes
    ----------
    transformer_ : estimator
        The fitted clone.
    n_features_in_ : int
        Features per step.

    Notes
    -----
    X is a list of 2-D float arrays ``(T_i, n_features)``, a 2-D array
    ``(n_samples, n_steps)`` read as univariate series, or a 3-D array.
    The output is a list of float32 arrays ``(T_i, n_features_out)``.
    """

    _parameter_constraints: dict = {"transformer": [HasMethods(["fit", "transform"])]}

    def __init__(self, transformer):
        self.transformer = transformer

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the transformer on all steps of all sequences."""
        seqs = self._check(X, reset=True)
        self.transformer_ = clone(self.transformer).fit(np.concatenate(seqs))
        return self

    def transform(self, X):
        """Transform every step; returns a list of ``(T_i, n_features_out)`` arrays."""
        check_is_fitted(self, "transformer_")
        seqs = self._check(X, reset=False)
        lengths = [len(s) for s in seqs]
        out = np.asarray(self.transformer_.transform(np.concatenate(seqs)), dtype=np.float32)
        if len(out) != sum(lengths):
            raise ValueError(
                f"{type(self.transformer_).__name__} returned {len(out)} rows for "
                f"{sum(lengths)} steps; StepwiseTransformer needs one output row per step."
            )
        return np.split(out, np.cumsum(lengths)[:-1])

    def _check(self, X, *, reset):
        from ._validation import check_sequences

        seqs, _ = check_sequences(
            X, allowed_kinds=("numeric",),
            n_features=None if reset else self.n_features_in_,
        )
        if reset:
            self.n_features_in_ = seqs[0].shape[1]
        return seqs

    def set_output(self, *, transform=None):
        """Only ``"default"`` output (a list of arrays) is possible."""
        if transform not in (None, "default"):
            raise ValueError(
                "StepwiseTransformer returns a list of arrays and cannot produce "
                f"{transform!r} output."
            )
        return self
