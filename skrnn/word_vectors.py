"""Reading pretrained word vectors: word2vec, GloVe and fastText files, or a mapping.

:func:`load_word_vectors` turns what a user passes as ``word_vectors`` into a
list of words and a float32 matrix, one row per word. numpy only: nothing
here knows torch or scikit-learn, and nothing is ever downloaded.

Formats
-------
Read by content (the file name's extension decides nothing):

- **text**, one word per line followed by its values, separated by spaces
  (or tabs): word2vec's text format and fastText's ``.vec`` start with a
  header line ``"<n_words> <dim>"``, GloVe has none. A first line of exactly
  two integers is read as that header. Blank lines are skipped, a UTF-8
  byte-order mark is ignored, trailing spaces (fastText) are fine. A word
  cannot contain a space or a tab in these formats: such a line has more
  fields than the others and is an error.
- **word2vec binary**: the header line, then for each word the word (UTF-8),
  a space and ``dim`` little-endian float32 values, optionally followed by a
  newline. Told apart from the text format by the bytes that follow the
  first word (text: ``dim`` numbers up to the end of the line).
- either of them **gzip-compressed** (recognised by gzip's magic bytes, so a
  ``.gz`` name is not needed).

Reading streams: a text file is read twice (once to count its lines, once to
parse them) and never held in memory whole, so the memory used is that of the
float32 matrix plus the words (400,000 GloVe vectors of 300 values: 480 MB).

Checks
------
Every problem is a ``ValueError`` that says where it is (line numbers are
1-based and count the header and blank lines): an empty file or one without
vectors, a line whose number of values differs from the first's (or from the
header's), a value that is not a number or not finite (``nan``, ``inf`` or
too large for float32), a word that is not valid UTF-8, a binary file cut
short. A missing path is a ``FileNotFoundError``.

- A header whose word count disagrees with the vectors the file holds is
  **not** an error: some tools write stale counts after filtering a file.
  Every vector is read and a ``UserWarning`` says so. (Its dimension must
  match the vectors: that one is an error.)
- A word listed twice keeps its **first** vector; later ones are skipped
  (their values are still checked).
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import os
import sys
import warnings
from collections.abc import Mapping

import numpy as np

#: Bytes read at a time from a binary file.
_BINARY_CHUNK = 1 << 22
#: Longest line (text) or word (binary) accepted, in bytes: beyond it the file
#: is not a vectors file, and reading on would only fill memory.
_MAX_LINE = 1 << 26
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


def load_word_vectors(source):
    """Read word vectors from a file or a mapping.

    Parameters
    ----------
    source : str, path-like or mapping
        The path of a word2vec (text or binary), GloVe or fastText ``.vec``
        file, optionally gzip-compressed (see the module docstring for the
        formats, detected from the content); or a mapping word (str) ->
        1-D array-like of numbers, all of one length.

    Returns
    -------
    words : list of str
        The words, in file (or mapping) order, each once.
    vectors : ndarray of shape (len(words), dim), float32
        ``vectors[i]`` is the vector of ``words[i]``.

    Raises
    ------
    FileNotFoundError
        If the path does not exist (nothing is ever downloaded).
    IsADirectoryError
        If the path is a directory.
    ValueError
        If the file or mapping holds no vectors, vectors of different
        lengths, values that are not finite numbers, a word that is not a
        str (mapping) or not UTF-8 (file), or a binary file that ends in the
        middle of a vector. The message says which line, record or word.
    TypeError
        If ``source`` is neither a path nor a mapping.

    Warns
    -----
    UserWarning
        If a file's header gives another number of words than it holds (all
        are read).

    Examples
    --------
    >>> from skrnn.word_vectors import load_word_vectors
    >>> words, vectors = load_word_vectors({"cat": [0.5, 1.0], "dog": [0.25, 2.0]})
    >>> words, vectors.dtype, vectors.shape
    (['cat', 'dog'], dtype('float32'), (2, 2))
    """
    if isinstance(source, Mapping):
        return _from_mapping(source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "word vectors must be given as the path of a word2vec / GloVe / fastText file or "
            f"as a mapping word -> vector, got {type(source).__name__}."
        )
    path = os.fspath(source)
    name = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            errno.ENOENT,
            f"The word vectors file {name!r} does not exist. word_vectors must be the path "
            "of a local word2vec, GloVe or fastText file (skrnn never downloads vectors) or a "
            "mapping word -> vector",
            name,
        )
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "word_vectors must be a file, not a directory",
                                name)
    where = f"The word vectors file {name!r}"
    with _open(path) as f:
        first, sample = _sniff(f, where)
    header = _parse_header(first)
    if header is not None and _is_binary(sample, header[1]):
        with _open(path) as f:
            f.readline(_MAX_LINE)
            return _read_binary(f, where, *header)
    with _open(path) as f:
        n_lines = sum(1 for line in f if not line.isspace())
    with _open(path) as f:
        return _read_text(f, where, n_lines, header)


# -- files ---------------------------------------------------------------------------


def _open(path):
    """``path`` opened for reading bytes, through gzip when its content is gzip's."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


def _readline(f, where, number):
    line = f.readline(_MAX_LINE)
    if len(line) == _MAX_LINE and not line.endswith(b"\n"):
        raise ValueError(f"{where} has a line {number} longer than {_MAX_LINE} bytes: it is "
                         "not a word vectors file.")
    return line


def _sniff(f, where):
    """The first non-blank line (no BOM) and up to a few MiB that follow it."""
    number = 0
    while True:
        number += 1
        line = _readline(f, where, number)
        if number == 1:
            if not line:
                raise ValueError(f"{where} is empty: it holds no word vectors.")
            if line.startswith(_BOM):
                line = line[len(_BOM):]
        if not line:
            raise ValueError(f"{where} holds only blank lines: it holds no word vectors.")
        if not line.isspace():
            break
    header = _parse_header(line)
    size = 1 << 20 if header is None else min(max(1 << 20, 32 * header[1] + 4096), _MAX_LINE)
    return line, f.read(size)


def _parse_header(line):
    """``(n_words, dim)`` if ``line`` is a word2vec / fastText header, else None."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    n, dim = int(parts[0]), int(parts[1])
    if dim < 1:
        raise ValueError(f"The word vectors file's header says the vectors have {dim} "
                         "dimensions; they must have at least 1.")
    return n, dim


def _is_binary(sample, dim):
    """Whether the bytes after a header are word2vec's binary records, not text lines.

    Text: after the first word and its space come ``dim`` numbers, up to the
    end of the line. Raw float32 bytes practically never look like that
    (for ``dim >= 2`` they would need a space between digits at the right
    places). A malformed text line still reads as text (UTF-8 without
    control characters), so that the text reader says what is wrong with
    it; the ``4 * dim`` bytes of a binary vector practically never do.
    """
    space = sample.find(b" ")
    if space < 0:
        return False  # no word of a binary record either: let the text reader explain
    end = sample.find(b"\n", space)
    values = sample[space + 1:end if end >= 0 else len(sample)].split()
    if len(values) == dim and all(_is_number(v) for v in values):
        return False
    return not _looks_like_text(sample[space + 1:space + 1 + 4 * dim])


def _looks_like_text(raw):
    """Whether ``raw`` is UTF-8 text (possibly cut inside a character) without control bytes."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
    except UnicodeDecodeError:
        return False
    return not any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in text)


class _Rows:
    """A float32 matrix filled row by row, of a capacity that may grow."""

    def __init__(self, dim, capacity):
        self.dim = dim
        self.blocks = [np.empty((max(int(capacity), 1), dim), dtype=np.float32)]
        self.used = 0  # rows used in the last block

    def next(self):
        """The next row to fill (call :meth:`keep` to keep it)."""
        block = self.blocks[-1]
        if self.used == len(block):
            block = np.empty((max(len(block), 1024), self.dim), dtype=np.float32)
            self.blocks.append(block)
            self.used = 0
        return block[self.used]

    def keep(self):
        self.used += 1

    def result(self):
        blocks = self.blocks[:-1] + [self.blocks[-1][:self.used]]
        if len(blocks) == 1:
            out = blocks[0]
            # Trimmed a lot (blank lines, duplicates, a header that overstated):
            # copy, so the unused rows are freed.
            return out.copy() if 2 * len(out) < len(self.blocks[0]) else out
        return np.concatenate(blocks)


def _decode_word(raw, where, what):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: the word of {what} is not valid UTF-8 ({raw[:40]!r}).") \
            from None


def _read_text(f, where, n_lines, header):
    with np.errstate(over="ignore"):  # 1e39 becomes inf in float32: reported below
        return _parse_text_lines(f, where, n_lines, header)


def _parse_text_lines(f, where, n_lines, header):
    words, seen = [], set()
    rows = None
    dim = header[1] if header is not None else None
    number = n_records = 0
    first = True
    while True:
        number += 1
        line = _readline(f, where, number)
        if not line:
            break
        if first and line.startswith(_BOM):
            line = line[len(_BOM):]
        if line.isspace():
            continue
        if first:
            first = False
            if header is not None:
                rows = _Rows(dim, n_lines - 1)
                continue
        parts = line.split()
        n_values = len(parts) - 1
        if dim is None:
            if n_values < 1:
                raise ValueError(f"{where}: line {number} holds a word and no values.")
            dim = n_values
            rows = _Rows(dim, n_lines)
        elif n_values != dim:
            reference = "the header says" if header is not None else "the first vector has"
            hint = (" (a word with a space in it cannot be stored in a text format)"
                    if n_values > dim else "")
            raise ValueError(f"{where}: line {number} has {n_values} values, but {reference} "
                             f"{dim}{hint}.")
        row = rows.next()
        try:
            row[:] = parts[1:]
        except ValueError:
            bad = next(v for v in parts[1:] if not _is_number(v))
            shown = bad[:40].decode("utf-8", "replace")
            raise ValueError(f"{where}: line {number} holds the value {shown!r}, which is "
                             "not a number.") from None
        if not np.isfinite(row).all():
            raise ValueError(f"{where}: line {number} holds a value that is not finite (nan, "
                             "inf, or too large for float32).")
        word = _decode_word(parts[0], where, f"line {number}")
        n_records += 1
        if word not in seen:
            seen.add(word)
            words.append(word)
            rows.keep()
    if not words:
        raise ValueError(f"{where} holds a header but no vectors." if header is not None
                         else f"{where} holds no word vectors.")
    _check_count(header, n_records, where)
    return words, rows.result()


def _is_number(value):
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_count(header, n_read, where):
    """Warn when a header's word count is not the number of (distinct) words read."""
    if header is not None and header[0] != n_read:
        warnings.warn(f"{where}: its header says it holds {header[0]} vectors, but it holds "
                      f"{n_read}; all of them are read.", UserWarning,
                      stacklevel=_caller_stacklevel())


def _caller_stacklevel():
    """The ``stacklevel`` of the first frame outside skrnn and scikit-learn."""
    here = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(here) or f"{os.sep}sklearn{os.sep}" in path):
            return level
        frame, level = frame.f_back, level + 1
    return level


def _read_binary(f, where, n_header, dim):
    record = 4 * dim
    # Capacity from the header, but never more rows than the file's bytes could
    # hold (a header can say anything): a gzip stream expands at most ~1032 times.
    try:
        size = os.fstat(f.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        size = None
    if isinstance(f, io.BufferedReader) and isinstance(f.raw, gzip.GzipFile) and size:
        size *= 1032
    capacity = n_header if size is None else min(n_header, size // (record + 2) + 1)
    rows = _Rows(dim, capacity)
    words, seen = [], set()
    buf, pos, eof = b"", 0, False
    index = n_records = 0

    def more(need):
        nonlocal buf, pos, eof
        while len(buf) - pos < need and not eof:
            chunk = f.read(max(_BINARY_CHUNK, need))
            if not chunk:
                eof = True
            buf = buf[pos:] + chunk
            pos = 0
        return len(buf) - pos >= need

    while True:
        index += 1
        # Each vector may be followed by a newline (the original word2vec writes one).
        while more(1) and buf[pos] == 0x0A:
            pos += 1
        if not more(1):
            break
        space = buf.find(b" ", pos)
        while space < 0:
            if len(buf) - pos > _MAX_LINE:
                raise ValueError(f"{where}: the word of record {index} is longer than "
                                 f"{_MAX_LINE} bytes: it is not a word2vec binary file.")
            if eof:
                raise ValueError(f"{where} ends in the middle of the word of record {index} "
                                 "(a word2vec binary file cut short?).")
            more(len(buf) - pos + 1)
            space = buf.find(b" ", pos)
        raw = buf[pos:space]
        pos = space + 1
        if not raw:
            raise ValueError(f"{where}: record {index} has an empty word.")
        if not more(record):
            hint = (f" (If it is a text file, its line 2 does not hold a word and the header's "
                    f"{dim} numbers.)" if index == 1 else "")
            raise ValueError(
                f"{where} ends in the middle of the vector of record {index} ({len(buf) - pos} "
                f"of its {record} bytes): a word2vec binary file cut short?{hint}")
        row = rows.next()
        row[:] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
        pos += record
        word = _decode_word(raw, where, f"record {index}")
        n_records += 1
        if not np.isfinite(row).all():
            raise ValueError(f"{where}: the vector of record {index} ({word!r}) holds a value "
                             "that is not finite (nan or inf).")
        if word not in seen:
            seen.add(word)
            words.append(word)
            rows.keep()
    if not words:
        raise ValueError(f"{where} holds a header but no vectors.")
    _check_count((n_header, dim), n_records, where)
    return words, rows.result()


# -- mappings ------------------------------------------------------------------------


def _from_mapping(mapping):
    n = len(mapping)
    if n == 0:
        raise ValueError("word_vectors is an empty mapping: it holds no word vectors.")
    words = []
    out = None
    for i, (word, vector) in enumerate(mapping.items()):
        if not isinstance(word, str):
            raise ValueError(
                f"word_vectors maps words to vectors, and words are str; it holds the key "
                f"{word!r} of type {type(word).__name__}."
            )
        try:
            with np.errstate(over="ignore"):
                values = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"word_vectors[{word!r}] is not an array of numbers.") from None
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"word_vectors[{word!r}] has shape {values.shape}; each vector "
                             "must be 1-D and non-empty.")
        if out is None:
            out = np.empty((n, values.size), dtype=np.float32)
        elif values.size != out.shape[1]:
            raise ValueError(f"word_vectors[{word!r}] has {values.size} values, but the first "
                             f"vector ({words[0]!r}) has {out.shape[1]}.")
        if not np.isfinite(values).all():
            raise ValueError(f"word_vectors[{word!r}] holds a value that is not finite (nan, "
                             "inf, or too large for float32).")
        out[i] = values
        words.append(word)
    return words, out


__all__ = ["load_word_vectors"]
