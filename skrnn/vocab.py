"""Token <-> id mapping with reserved special tokens."""

from __future__ import annotations

from collections import Counter
from itertools import repeat

import numpy as np

PAD = "<pad>"
UNK = "<unk>"
BOS = "<bos>"
EOS = "<eos>"


class Vocabulary:
    """An ordered set of tokens with fixed ids for special tokens.

    Ids: ``0`` is padding, ``1`` the unknown token; with ``bos_eos=True``
    ``2`` and ``3`` are the begin- and end-of-sequence tokens. Real tokens
    follow, most frequent first (ties in sorted order), so a vocabulary built
    from the same data is always the same.

    Parameters
    ----------
    tokens : iterable of str
        The real tokens, in id order (specials are added in front).
    bos_eos : bool, default=False
        Reserve ids for ``<bos>`` and ``<eos>`` (language models need them).
    counts : sequence of int, optional
        Training frequency of each real token (same order as ``tokens``);
        used to replace rare words by ``<unk>`` during training.
    lowercase_fallback : bool, default=False
        A str token that is not in the vocabulary is looked up again in
        lower case before it becomes ``<unk>`` (``"Paris"`` reads as
        ``"paris"`` if only that is known), as Lample et al. (2016) matched
        words to lower-cased pretrained vectors. Tokens in the vocabulary
        always read as themselves. Estimators turn it on with
        ``word_vectors`` (GloVe's vectors are lower-case).

    Notes
    -----
    Data tokens spelled like a special: a literal ``"<unk>"`` (as in the
    Penn Treebank) is read as ``<unk>``. A literal ``"<pad>"`` is read as
    ``<unk>`` too: padding must never be a real step. With ``bos_eos=True``
    so are literal ``"<bos>"`` and ``"<eos>"``: the sequence markers come
    only from framing a sequence, never from its data (a language model
    scores a ``<bos>`` target as impossible, and would read ``"<eos>"`` as
    the end of the text). Without ``bos_eos`` they are ordinary tokens.

    None of these literals is ever a real token of ``itos`` (:meth:`build`
    and the constructor leave them out, :meth:`from_state` refuses them), so
    a vocabulary saved with :meth:`to_state` and loaded with
    :meth:`from_state` reads them exactly as the original does. ``stoi``
    keeps mapping ``"<bos>"`` and ``"<eos>"`` to their ids (the columns of
    a language model's ``predict_proba``); :meth:`encode` and ``in`` apply
    the rule above.
    """

    def __init__(self, tokens, *, bos_eos=False, counts=None, lowercase_fallback=False):
        specials = [PAD, UNK] + ([BOS, EOS] if bos_eos else [])
        self.bos_eos = bos_eos
        self.lowercase_fallback = bool(lowercase_fallback)
        self.itos = specials + [t for t in tokens if t not in specials]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.stoi[PAD] = self.unk_id
        n_special = len(specials)
        freq = np.zeros(len(self.itos), dtype=np.int64)
        if counts is not None:
            kept = [c for t, c in zip(tokens, counts) if t not in specials]
            freq[n_special:] = kept
        self.counts = freq

    pad_id = 0
    unk_id = 1

    @property
    def bos_id(self):
        return 2 if self.bos_eos else None

    @property
    def eos_id(self):
        return 3 if self.bos_eos else None

    @classmethod
    def build(cls, sequences, *, min_freq=1, max_size=None, bos_eos=False,
              lowercase_fallback=False):
        """Count tokens in ``sequences`` and keep the frequent ones.

        Parameters
        ----------
        sequences : iterable of iterables of str
            Token sequences (a str counts as a sequence of characters).
        min_freq : int, default=1
            Tokens seen fewer times are left out (they map to ``<unk>``).
        max_size : int or None, default=None
            Keep at most this many real tokens, the most frequent ones.
        bos_eos : bool, default=False
            Reserve ``<bos>`` / ``<eos>``.
        lowercase_fallback : bool, default=False
            See :class:`Vocabulary`.

        Returns
        -------
        Vocabulary
        """
        counter = Counter()
        for seq in sequences:
            counter.update(seq)
        items = sorted(
            ((t, c) for t, c in counter.items() if c >= min_freq), key=lambda tc: (-tc[1], tc[0])
        )
        if max_size is not None:
            items = items[:max_size]
        return cls([t for t, _ in items], bos_eos=bos_eos, counts=[c for _, c in items],
                   lowercase_fallback=lowercase_fallback)

    def to_state(self):
        """Everything that defines the vocabulary, as plain values.

        Returns
        -------
        dict
            ``{"itos": list of str, "bos_eos": bool, "counts": int64 ndarray,
            "lowercase_fallback": bool}``: every token in id order (specials
            first) and its training count. :meth:`from_state` turns it back
            into an equal vocabulary.
        """
        return {"itos": list(self.itos), "bos_eos": bool(self.bos_eos),
                "counts": self.counts.copy(),
                "lowercase_fallback": bool(self.lowercase_fallback)}

    @classmethod
    def from_state(cls, state):
        """The vocabulary described by ``state``, as returned by :meth:`to_state`.

        Parameters
        ----------
        state : dict
            With ``"itos"`` (list of str, specials first), ``"bos_eos"``
            (bool) and ``"counts"`` (1-D integer array, one count per token),
            and optionally ``"lowercase_fallback"`` (bool; absent, as in
            states written before it existed: False).

        Returns
        -------
        Vocabulary

        Raises
        ------
        ValueError
            If ``state`` is not such a dict, or its tokens are not a valid
            vocabulary (misplaced specials, duplicate tokens, a count per
            token missing).
        """
        required = {"itos", "bos_eos", "counts"}
        if not isinstance(state, dict) or not (
                required <= set(state) <= required | {"lowercase_fallback"}):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                "A Vocabulary state must be a dict with the keys 'itos', 'bos_eos' and "
                "'counts' (and optionally 'lowercase_fallback'), as Vocabulary.to_state() "
                f"returns; got {got}."
            )
        itos, bos_eos, counts = state["itos"], state["bos_eos"], state["counts"]
        fallback = state.get("lowercase_fallback", False)
        if type(fallback) is not bool:
            raise ValueError("A Vocabulary state's 'lowercase_fallback' must be a bool, got "
                             f"{type(fallback).__name__}.")
        if type(itos) is not list or not all(type(t) is str for t in itos):
            raise ValueError("A Vocabulary state's 'itos' must be a list of str (the tokens).")
        if type(bos_eos) is not bool:
            raise ValueError(
                f"A Vocabulary state's 'bos_eos' must be a bool, got {type(bos_eos).__name__}."
            )
        counts = np.asarray(counts)
        if counts.ndim != 1 or counts.dtype.kind not in "iu" or len(counts) != len(itos):
            raise ValueError(
                "A Vocabulary state's 'counts' must be a 1-D integer array with one count per "
                f"token ({len(itos)}); got dtype {counts.dtype} and shape {counts.shape}."
            )
        specials = [PAD, UNK] + ([BOS, EOS] if bos_eos else [])
        n_special = len(specials)
        if itos[:n_special] != specials or any(t in specials for t in itos[n_special:]):
            raise ValueError(
                f"A Vocabulary state's 'itos' must start with the special tokens {specials} "
                f"(bos_eos={bos_eos}) and hold no other special token; got "
                f"{itos[:n_special + 2]}..."
            )
        if len(set(itos)) != len(itos):
            seen, dups = set(), []
            for t in itos:
                if t in seen:
                    dups.append(t)
                seen.add(t)
            raise ValueError(
                f"A Vocabulary state's 'itos' holds duplicate tokens: {sorted(set(dups))[:5]}."
            )
        vocab = cls(itos[n_special:], bos_eos=bos_eos, counts=counts[n_special:],
                    lowercase_fallback=fallback)
        vocab.counts = counts.astype(np.int64)  # the specials' counts too, as given
        return vocab

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        """Whether :meth:`encode` reads ``token`` as a real token (not as ``<unk>``).

        With ``lowercase_fallback``, a token whose lower-case form is known
        is in the vocabulary.
        """
        if self._special_literal(token):
            return False
        if token in self.stoi:
            return True
        if self.lowercase_fallback and isinstance(token, str):
            lower = token.lower()
            return lower in self.stoi and not self._special_literal(lower)
        return False

    def _special_literal(self, token):
        return token == PAD or (self.bos_eos and token in (BOS, EOS))

    def __eq__(self, other):
        return (isinstance(other, Vocabulary) and self.itos == other.itos
                and self.lowercase_fallback == other.lowercase_fallback)

    __hash__ = None

    def __repr__(self):
        fallback = ", lowercase_fallback=True" if self.lowercase_fallback else ""
        return f"Vocabulary(size={len(self)}, bos_eos={self.bos_eos}{fallback})"

    def encode(self, seq):
        """Map a sequence of tokens to a 1-D int64 array; unknown tokens -> ``<unk>``.

        Literal ``"<pad>"`` (and, with ``bos_eos``, ``"<bos>"`` / ``"<eos>"``)
        read as ``<unk>`` too: see the Notes of :class:`Vocabulary`. With
        ``lowercase_fallback``, an unknown str token is looked up in lower
        case first.
        """
        get, unk = self.stoi.get, self.unk_id
        if self.lowercase_fallback:
            def lookup(t):
                i = get(t)
                if i is None:
                    i = get(t.lower(), unk) if isinstance(t, str) else unk
                return i

            ids = np.fromiter(map(lookup, seq), dtype=np.int64, count=len(seq))
        else:
            # map() with a repeated default runs the lookups in C: 1.2-1.7x the genexpr
            # over the Brown test split.
            ids = np.fromiter(map(get, seq, repeat(unk)), dtype=np.int64, count=len(seq))
        if self.bos_eos:
            # After the lookup, one vectorised pass: stoi keeps the markers' own
            # ids for users who look columns up by name.
            ids[(ids == self.bos_id) | (ids == self.eos_id)] = unk
        return ids

    def decode(self, ids):
        """Map ids back to tokens."""
        itos = self.itos
        return [itos[int(i)] for i in ids]
