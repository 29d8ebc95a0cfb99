"""Loader for the bundled list of dinosaur names."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["load_dinosaurs"]

_DATA_FILE = "dinosaurs.txt"


@functools.lru_cache(maxsize=1)
def _read_names():
    """Read the data file once; return a tuple of names."""
    ref = resources.files(__package__).joinpath("data", _DATA_FILE)
    names = tuple(ref.read_text(encoding="ascii").splitlines())
    for lineno, name in enumerate(names, start=1):
        if not name:
            raise ValueError(f"{_DATA_FILE}:{lineno}: empty line")
    return names


def load_dinosaurs():
    """Load 1,318 dinosaur genus names, a small character-level data set.

    Returns
    -------
    names : list of str
        Lower-case names (``"aachenosaurus"``, ..., ``"zupaysaurus"``), in
        alphabetical order, each unique and non-empty. They use only the 26
        letters ``a``-``z``; lengths 3 (``"kol"``, ``"mei"``, ``"zby"``) to 23
        characters, 15,547 characters in all.

    Notes
    -----
    **Source.** ``dinosaurs.csv`` of the npm package ``dinosaurs@1.2.1`` by
    jden (https://github.com/jden/dinosaurs), scraped from the A-Z index of
    dinodictionary.com. Converted by ``tools/make_dinosaurs.py`` in the
    source tree: of the 1,325 shipped lines, 7 duplicated names were removed
    and the rest sorted; the names themselves are unchanged (spellings are
    as shipped and not checked against a taxonomy).

    **Licence.** The package is released under the WTFPL ("Do What The Fuck
    You Want To Public License", version 2). The text and notes ship as
    ``skrnn/datasets/data/DINOSAURS_LICENSE.txt``.

    There is no fixed split; use ``sklearn.model_selection.train_test_split``
    on the list if one is needed.

    The data are read once per process and cached; every call returns a new
    list, which the caller may modify freely.

    Examples
    --------
    >>> from skrnn.datasets import load_dinosaurs
    >>> names = load_dinosaurs()
    >>> len(names), names[:3]
    (1318, ['aachenosaurus', 'aardonyx', 'abelisaurus'])
    """
    return list(_read_names())
