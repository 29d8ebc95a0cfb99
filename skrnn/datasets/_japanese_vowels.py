"""Loader for the bundled JapaneseVowels speaker-recognition data set."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

__all__ = ["load_japanese_vowels"]

_DATA_FILE = "japanese_vowels.txt.gz"
_SUBSETS = ("train", "test", "all")
_N_COEFS = 12


@functools.lru_cache(maxsize=1)
def _read_utterances():
    """Parse the data file once; return a tuple of ``(split, label, frames)``.

    ``frames`` is a read-only float32 array of shape ``(T, 12)``.
    """
    ref = resources.files(__package__).joinpath("data", _DATA_FILE)
    text = gzip.decompress(ref.read_bytes()).decode("ascii")
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] not in ("train", "test"):
            raise ValueError(f"{_DATA_FILE}:{lineno}: malformed line")
        split, label, frames = fields
        values = [[float(v) for v in frame.split(",")] for frame in frames.split(";")]
        if any(len(frame) != _N_COEFS for frame in values):
            raise ValueError(f"{_DATA_FILE}:{lineno}: a frame without {_N_COEFS} values")
        arr = np.array(values, dtype=np.float32)
        arr.setflags(write=False)
        rows.append((split, label, arr))
    return tuple(rows)


def load_japanese_vowels(subset="train"):
    """Load JapaneseVowels, a small variable-length multivariate series classification set.

    Each sample is one utterance of the two Japanese vowels /ae/ (said in
    succession) by one of nine male speakers, as a sequence of 7 to 29
    frames of 12 LPC cepstrum coefficients. The task is to recognise the
    speaker.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which utterances to return: the original training or test set, or
        ``"all"``, train followed by test.

    Returns
    -------
    X : list of ndarray of shape (T_i, 12), dtype float32
        One array per utterance, frames in time order; ``X[i][t, k]`` is the
        ``k``-th (0-based) LPC cepstrum coefficient of frame ``t``. Lengths
        ``T_i`` vary from utterance to utterance.
    y : ndarray of shape (n_utterances,), dtype str
        The speaker, as the strings ``"1"`` .. ``"9"`` used in the source
        files (not integers).

    Raises
    ------
    ValueError
        If ``subset`` is not one of ``"train"``, ``"test"``, ``"all"``.

    Notes
    -----
    **Source.** The "Japanese Vowels" data set of the UCI Machine Learning
    Repository (donated in 2000 by M. Kudo, J. Toyama and M. Shimbo,
    Hokkaido University), as shipped in the sktime 1.2.0 wheel
    (``sktime/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts`` and
    ``_TEST.ts``). Speech was sampled at 10 kHz and analysed in frames of
    25.6 ms with a shift of 6.4 ms by 12-degree linear prediction analysis.
    Converted by ``tools/make_japanese_vowels.py`` in the source tree: the
    format changed (one utterance per line, frame-major), the values did not
    (each value string is copied from the source file and parsed here).

    **Licence.** sktime is distributed under the BSD 3-Clause licence; the
    data originate from the UCI repository and should be cited as below.
    The licence text, citation and our changes ship as
    ``skrnn/datasets/data/JAPANESE_VOWELS_LICENSE.txt``.

    **Split.** The original one: the 270 training utterances are 30 per
    speaker; the 370 test utterances were recorded on other occasions, with
    31, 35, 88, 44, 29, 24, 40, 50 and 29 utterances for speakers 1 to 9.
    Utterances are ordered by speaker within each set, so shuffle before
    any ordered use (e.g. taking a validation slice).

    ==========  ==========  ======  =======
    subset      utterances  frames  lengths
    ==========  ==========  ======  =======
    ``train``   270         4,274   7-26
    ``test``    370         5,687   7-29
    ``all``     640         9,961   7-29
    ==========  ==========  ======  =======

    Coefficients are not standardised: the first one lies between about
    -0.8 and 2.2, the other eleven between about -1.9 and 1.4.

    The data are parsed once per process and cached; every call returns
    new arrays, which the caller may modify freely.

    References
    ----------
    M. Kudo, J. Toyama and M. Shimbo. "Multidimensional curve classification
    using passing-through regions". *Pattern Recognition Letters* 20(11-13),
    1103-1111, 1999.

    Examples
    --------
    >>> from skrnn.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels("train")
    >>> len(X), X[0].shape, str(X[0].dtype), str(y[0])
    (270, (20, 12), 'float32', '1')
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}")
    X, labels = [], []
    for split, label, frames in _read_utterances():
        if subset == "all" or split == subset:
            X.append(frames.copy())
            labels.append(label)
    return X, np.array(labels, dtype=str)
