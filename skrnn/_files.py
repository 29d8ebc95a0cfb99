"""Writing and reading files safely: every file skrnn writes goes through here.

:func:`atomic_write` (and its byte and text forms :func:`write_bytes`,
:func:`write_text`) replaces a file only once its new content is complete
and on disk, so a crash, a full disk or a Ctrl-C in the middle of a save
never leaves a truncated model where a good one was. :func:`read_regular_file`
reads a file whole, refusing anything that is not a regular file (a FIFO
would block forever, ``/dev/zero`` would never end).

Standard library only: importing it costs nothing and it can be tested without
torch.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

__all__ = ["atomic_write", "read_regular_file", "write_bytes", "write_text"]

#: Temporary files are ``.skrnn-<16 hex digits>.tmp<suffix>`` next to the target:
#: short whatever the target's name (a 255-character name plus a suffix would
#: exceed NAME_MAX), hidden, and recognisably skrnn's should one survive a crash.
_TMP_PREFIX = ".skrnn-"
#: The target's extension is kept on the temporary file when at most this long,
#: because some writers choose the format by it (``onnx.save``: ``.json``,
#: ``.textproto``; ``torch.export.save`` warns without ``.pt2``).
_MAX_SUFFIX = 16
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation in os.write
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, which has no FIFOs

_KINDS = (
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "directory"),
)


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return "special file"


# -- writing ------------------------------------------------------------------------------


def atomic_write(path, write):
    """Create or replace the file ``path`` with what ``write`` produces, atomically.

    ``write(tmp_path)`` writes the content to ``tmp_path``, an empty file in
    the same folder as the target (so the final rename stays on one file
    system); it may open it itself or hand it to a library's ``save``. Once
    it returns, the temporary file is flushed to disk (``os.fsync``),
    renamed over the target (``os.replace``), and the folder is synced where
    the platform allows, so the new name survives a power loss too.

    - Readers see either the old file or the complete new one, never a
      partial file. On any failure, including ``KeyboardInterrupt``, the
      temporary file is removed and an existing file is left untouched.
    - Replacing a file keeps its permission bits (a 0600 model stays 0600)
      and, where allowed, its owner and group; a new file gets the usual
      ``0666 & ~umask`` mode. As with any rename, other hard links to the
      old file keep the old content.
    - Through a symbolic link (or a chain of them, relative or absolute,
      dangling or not) the file the link points to is written and the link
      stays a link.
    - Errors name ``path``, never the temporary file.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.
    write : callable
        ``write(tmp_path: str) -> None``: writes the whole content to
        ``tmp_path``.

    Returns
    -------
    path : str
        ``os.fspath(path)``.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        If ``path`` exists and is not a regular file (a device, a FIFO, a
        socket): those cannot be replaced atomically.
    OSError
        If the file cannot be written (missing or read-only folder, full
        disk, ...); its ``filename`` is ``path``.
    """

    def fill(fd, tmp):
        # The writer opens the file itself and may delete and re-create it, which
        # an open handle would prevent on Windows.
        os.close(fd)
        write(tmp)

    return _replace(path, fill, reopen=True)


def write_bytes(path, data):
    """Write ``data`` (bytes-like) to ``path`` atomically; see :func:`atomic_write`.

    Returns
    -------
    path : str
        ``os.fspath(path)``.
    """
    view = memoryview(data).cast("B")

    def fill(fd, tmp):
        rest = view
        while rest:  # os.write may write less than asked (signals, pipes, large buffers)
            rest = rest[os.write(fd, rest):]

    return _replace(path, fill, reopen=False)


def write_text(path, text, encoding="utf-8"):
    """Write the str ``text`` to ``path`` atomically (no newline translation).

    Returns
    -------
    path : str
        ``os.fspath(path)``.
    """
    return write_bytes(path, text.encode(encoding))


def _replace(path, fill, *, reopen):
    """The common part of the writers: ``fill(fd, tmp)`` writes the temporary file.

    With ``reopen``, ``fill`` has closed ``fd`` and the file is opened again
    to be synced; otherwise ``fd`` is still open and synced directly.
    """
    path = os.fsdecode(os.fspath(path))
    target = _resolve(path)
    existing = _existing(target, path)
    folder = os.path.dirname(target)
    fd = tmp = None
    try:
        fd, tmp = _create_temp(folder, target)
        if existing is not None:
            _copy_metadata(fd, tmp, existing)
        if reopen:
            opened, fd = fd, None
            fill(opened, tmp)
            if existing is not None:
                # The writer may have deleted and re-created the file (a new
                # inode gets the umask mode again).
                _copy_metadata(None, tmp, existing)
            fd = os.open(tmp, (os.O_RDWR if os.name == "nt" else os.O_RDONLY) | _BINARY)
        else:
            fill(fd, tmp)
        # Data on disk before the rename: otherwise a crash soon after could
        # leave the new name pointing at an empty or partial file.
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, target)
        tmp = None
    except BaseException as exc:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass  # already gone (the writer removed it) or undeletable: nothing more to do
        if isinstance(exc, Exception) and tmp is not None:
            _reraise_naming(exc, path, tmp, folder)
        elif isinstance(exc, OSError):
            _reraise_naming(exc, path, "", folder)
        raise
    _sync_folder(folder)
    return path


def _resolve(path):
    """The file ``path`` finally names, following every symbolic link.

    ``os.path.realpath`` follows chains of relative and absolute links and a
    dangling link's target; only a loop is left unresolved, and then the
    result is still a link.
    """
    target = os.path.realpath(path)
    if os.path.islink(target):
        raise OSError(errno.ELOOP, "Too many levels of symbolic links: the links form a loop "
                      "(point the link at a file, or save to another path)", path)
    return target


def _existing(target, path):
    """The stat of the file about to be replaced, or None if there is none."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror} (nothing was written)", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "It is a directory: give the path of a file to "
                                "write, e.g. inside that directory", path)
    if not stat.S_ISREG(st.st_mode):
        # Renaming over a device or FIFO would replace it (as root, even
        # /dev/null) instead of writing to it.
        raise ValueError(
            f"{path!r} is a {_kind(st.st_mode)}, not a regular file; skrnn only writes regular "
            "files (it writes a new file and renames it over the old one). Give the path of a "
            "regular file."
        )
    return st


def _temp_name(target):
    suffix = os.path.splitext(target)[1]
    if len(suffix) > _MAX_SUFFIX or not suffix[1:].isalnum():
        suffix = ""
    return f"{_TMP_PREFIX}{secrets.token_hex(8)}.tmp{suffix}"


def _create_temp(folder, target):
    """Create a new empty file next to ``target``: ``(fd, path)``."""
    # Mode 0666 lets the umask (and a default ACL) decide, like open();
    # tempfile.mkstemp would force 0600. O_EXCL: never reuse someone's file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
    for _ in range(100):
        tmp = os.path.join(folder, _temp_name(target))
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue  # 64 random bits taken: astronomically rare, try another
    raise FileExistsError(errno.EEXIST, "Could not find an unused temporary file name", tmp)


def _copy_metadata(fd, tmp, st):
    """Give the temporary file the permission bits (and owner, where allowed) of ``st``."""
    mode = stat.S_IMODE(st.st_mode)
    if hasattr(os, "chown"):
        try:
            current = os.stat(tmp)
            if (current.st_uid, current.st_gid) != (st.st_uid, st.st_gid):
                # Chown before chmod: it may clear set-user/group-id bits.
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    # Only root may give a file away, but a member of the
                    # file's group may still keep that group.
                    os.chown(tmp, -1, st.st_gid)
        except OSError:
            pass  # not allowed: the new file is the writer's, as any new file
    if fd is not None and hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:
        os.chmod(tmp, mode)


def _sync_folder(folder):
    """Make the rename durable: fsync the folder where the platform allows."""
    if os.name == "nt":
        return  # Windows cannot open a directory for fsync; NTFS journals renames
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse (EINVAL); the file itself is already synced
    finally:
        os.close(fd)


_HINTS = {
    errno.ENOENT: "the folder {folder!r} does not exist; create it or choose another path",
    errno.ENOTDIR: "a part of the path is not a folder; check the path",
    errno.EACCES: "no permission to create a file in the folder {folder!r} (skrnn writes a "
                  "temporary file there, then renames it over the target); make the folder "
                  "writable or choose another path",
    errno.EROFS: "the folder {folder!r} is on a read-only file system; choose another path",
    errno.ENOSPC: "the disk is full; free some space, or choose another disk",
    errno.EFBIG: "the file is larger than allowed (the file size limit, ulimit -f, or the "
                 "file system's maximum); raise the limit or choose another disk",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}
_HINTS[errno.EPERM] = _HINTS[errno.EACCES]
if hasattr(errno, "EDQUOT"):
    _HINTS[errno.EDQUOT] = "the disk quota is exceeded; free some space or choose another disk"


def _reraise_naming(exc, path, tmp, folder):
    """Raise ``exc`` again, naming ``path`` instead of the temporary file ``tmp``.

    An ``OSError`` becomes one of the same errno (hence the same subclass)
    whose ``filename`` is ``path``, with a hint on what to do; another
    exception whose message mentions ``tmp`` gets ``path`` instead. The
    original traceback is kept. Returns if ``exc`` cannot be rebuilt.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        reason = (exc.strerror or os.strerror(exc.errno)).replace(tmp, path) if tmp else (
            exc.strerror or os.strerror(exc.errno))
        hint = _HINTS.get(exc.errno)
        hint = f": {hint.format(folder=folder)}" if hint else ""
        # str() of the OSError appends ": '<path>'".
        new = OSError(exc.errno, f"{reason}; the file could not be written{hint} (an "
                      "existing file at this path is unchanged)", path)
    else:
        if not tmp or tmp not in str(exc):
            return
        try:
            new = type(exc)(*(a.replace(tmp, path) if isinstance(a, str) else a
                              for a in exc.args))
        except Exception:
            return  # an exception type we cannot rebuild: raise it as it is
        if type(new) is not type(exc) or tmp in str(new):
            return
    new.__cause__ = exc.__cause__
    # The temporary name must not resurface in the chained original either.
    new.__suppress_context__ = True
    raise new.with_traceback(exc.__traceback__)


# -- reading ------------------------------------------------------------------------------


def read_regular_file(path, what="a regular file"):
    """The whole content of the regular file ``path``, as bytes.

    Anything else is refused before a byte is read: a FIFO would block
    forever (it is opened non-blocking, so even opening it returns at once),
    a device such as ``/dev/zero`` would never end. Exactly the size the
    file has when opened is read; a file that grows or shrinks meanwhile is
    refused.

    Parameters
    ----------
    path : str or path-like
        The file to read; symbolic links are followed.
    what : str, default="a regular file"
        What the caller expects, for error messages
        (e.g. ``"the file written by est.save(path)"``).

    Returns
    -------
    data : bytes

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        If ``path`` is not a regular file (a FIFO, a device, a socket), or
        it changed size while being read.
    """
    path = os.fsdecode(os.fspath(path))
    try:
        # Stat before opening: opening some devices has effects of its own
        # (a tape rewinds, a terminal becomes the controlling one).
        _check_regular(os.stat(path), path, what)
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"No such file (expected {what})", path) from None
    except PermissionError:
        if os.path.isdir(path):  # Windows cannot open a directory at all
            _check_regular(os.stat(path), path, what)
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        # The path may have been swapped for something else since the stat.
        _check_regular(st, path, what)
        size = st.st_size
        data = f.read(size)
        if len(data) != size or f.read(1):
            raise ValueError(
                f"{path!r} changed size while being read ({size} bytes when opened); "
                "another program is writing it. Wait until it has finished, then try again."
            )
    return data


def _check_regular(st, path, what):
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"It is a directory, not {what}; give the "
                                "path of the file itself", path)
    raise ValueError(
        f"{path!r} is a {_kind(st.st_mode)}, not {what}; only regular files can be read "
        "(a device or a pipe may never end). Save the content to a file first, then give "
        "that file's path."
    )
