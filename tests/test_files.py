"""Tests for skrnn._files (atomic writes, safe reads) and the writers and readers using it."""

import errno
import importlib.util
import json
import os
import pathlib
import stat
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, random_series

import skrnn
from skrnn import SequenceRegressor, _files
from skrnn._files import atomic_write, read_regular_file, write_bytes, write_text

ROOT = pathlib.Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"
IS_ROOT = POSIX and os.geteuid() == 0
needs_posix = pytest.mark.skipif(not POSIX, reason="POSIX file semantics")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_symlinks = pytest.mark.skipif(not POSIX, reason="symbolic links need privileges on Windows")

# TorchScript is deprecated upstream; torch.jit.trace and save say so on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.*` is deprecated:DeprecationWarning"
)


def listing(folder):
    """Every name in ``folder``, hidden ones (a leftover temporary file) included."""
    return sorted(os.listdir(folder))


def umask():
    current = os.umask(0)
    os.umask(current)
    return current


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# -- atomic writes ------------------------------------------------------------------------


def test_write_bytes_creates_then_replaces(tmp_path):
    """write_bytes creates a file, replaces it, returns the path as str, and leaves no temp."""
    path = tmp_path / "m.bin"
    assert write_bytes(path, b"first") == str(path)
    assert path.read_bytes() == b"first"
    assert write_bytes(str(path), memoryview(b"second, longer")) == str(path)
    assert path.read_bytes() == b"second, longer"
    assert write_text(path, "x\ny\n") == str(path)
    assert path.read_bytes() == b"x\ny\n"  # no newline translation
    assert listing(tmp_path) == ["m.bin"]


def test_write_bytes_of_a_large_buffer(tmp_path):
    """A buffer larger than one os.write call may take is written whole."""
    data = np.random.RandomState(0).bytes(3 * 2**20 + 7)
    write_bytes(tmp_path / "big", data)
    assert (tmp_path / "big").read_bytes() == data


def test_writer_gets_an_empty_temp_file_next_to_the_target(tmp_path):
    """The writer writes a short, hidden, fresh file in the target's folder, keeping its suffix."""
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert os.path.getsize(tmp) == 0
        with open(tmp, "wb") as f:
            f.write(b"content")

    atomic_write(tmp_path / "model.onnx", write)
    (tmp,) = seen
    assert os.path.dirname(tmp) == str(tmp_path.resolve())
    assert os.path.basename(tmp).startswith(".skrnn-") and tmp.endswith(".tmp.onnx")
    assert (tmp_path / "model.onnx").read_bytes() == b"content"
    assert listing(tmp_path) == ["model.onnx"]


def test_long_suffix_is_not_kept(tmp_path):
    """A long "extension" is not copied into the temporary name (which must stay short)."""
    seen = []
    atomic_write(tmp_path / ("m." + "x" * 40), seen.append)
    assert len(os.path.basename(seen[0])) <= 40 and seen[0].endswith(".tmp")


def test_fsync_before_replace_then_folder(tmp_path, monkeypatch):
    """The new content is fsynced before the rename, the folder after it."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_bytes(tmp_path / "a", b"1")
    atomic_write(tmp_path / "b", lambda tmp: pathlib.Path(tmp).write_bytes(b"2"))
    expected = ["fsync file", "replace"] + (["fsync folder"] if POSIX else [])
    assert events == expected * 2


def _partial_then(exc):
    """A writer that writes some bytes, then raises ``exc``."""

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half-written")
        raise exc

    return write


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("the exporter failed"),
    KeyboardInterrupt(),
], ids=["ENOSPC", "RuntimeError", "KeyboardInterrupt"])
def test_failure_keeps_old_file_and_removes_temp(tmp_path, exc):
    """Any failure while writing leaves the old file intact and no temporary file."""
    path = tmp_path / "model.skrnn"
    path.write_bytes(b"the good old model")
    with pytest.raises(type(exc)):
        atomic_write(path, _partial_then(exc))
    assert path.read_bytes() == b"the good old model"
    assert listing(tmp_path) == ["model.skrnn"]


def test_failure_of_fsync_keeps_old_file(tmp_path, monkeypatch):
    """An I/O error when syncing (the data never reached the disk) is a failure too."""
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")

    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError) as info:
        write_bytes(path, b"new")
    assert info.value.errno == errno.EIO and info.value.filename == str(path)
    assert path.read_bytes() == b"old" and listing(tmp_path) == ["m.bin"]


def test_disk_full_names_user_path(tmp_path):
    """ENOSPC from the writer, naming the temporary file, is re-raised naming the user's path."""
    path = tmp_path / "model.skrnn"
    path.write_bytes(b"old")

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"part")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)

    with pytest.raises(OSError) as info:
        atomic_write(path, write)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert ".skrnn-" not in str(info.value) and "disk is full" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert path.read_bytes() == b"old" and listing(tmp_path) == ["model.skrnn"]


def test_other_errors_naming_the_temp_file_name_the_user_path(tmp_path):
    """A library's own error mentioning the temporary file gets the user's path instead."""
    path = tmp_path / "m.pt"

    def write(tmp):
        raise RuntimeError(f"open file failed, file path: {tmp}")

    with pytest.raises(RuntimeError, match="file path: ") as info:
        atomic_write(path, write)
    assert str(path) in str(info.value) and ".skrnn-" not in str(info.value)
    assert listing(tmp_path) == []


@pytest.mark.skipif(not POSIX, reason="resource.RLIMIT_FSIZE is POSIX")
def test_file_size_limit_keeps_old_file(tmp_path):
    """A real write failing half-way (RLIMIT_FSIZE: EFBIG) keeps the old file, leaves no temp."""
    path = tmp_path / "model.skrnn"
    path.write_bytes(b"old model")
    # In a subprocess: the limit is per process. skrnn._files is loaded from its file
    # so that the child does not import torch (via skrnn/__init__).
    script = textwrap.dedent(f"""
        import errno, importlib.util, resource, signal
        spec = importlib.util.spec_from_file_location("f", {str(ROOT / "skrnn" / "_files.py")!r})
        f = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(f)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        try:
            f.write_bytes({str(path)!r}, b"x" * 100_000)
        except OSError as exc:
            assert exc.errno == errno.EFBIG, exc
            assert exc.filename == {str(path)!r}, exc
            assert ".skrnn-" not in str(exc), exc
            print("refused:", exc)
        else:
            raise SystemExit("the write beyond the limit succeeded")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "larger than allowed" in result.stdout
    assert path.read_bytes() == b"old model"
    assert listing(tmp_path) == ["model.skrnn"]


@needs_posix
@pytest.mark.parametrize("bits", [0o600, 0o640, 0o755])
@pytest.mark.parametrize("how", ["bytes", "path writer", "recreating writer"])
def test_replacing_keeps_permission_bits(tmp_path, bits, how):
    """An existing file's mode survives, even when the writer re-creates the temporary file."""
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")
    os.chmod(path, bits)

    def recreate(tmp):
        os.unlink(tmp)  # as a library that removes and re-creates its output would
        pathlib.Path(tmp).write_bytes(b"new")

    if how == "bytes":
        write_bytes(path, b"new")
    elif how == "path writer":
        atomic_write(path, lambda tmp: pathlib.Path(tmp).write_bytes(b"new"))
    else:
        atomic_write(path, recreate)
    assert path.read_bytes() == b"new"
    assert mode(path) == bits


@needs_posix
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o027])
def test_new_file_gets_umask_mode(tmp_path, mask):
    """A new file gets 0666 & ~umask, as open() gives, not mkstemp's 0600."""
    old = os.umask(mask)
    try:
        write_bytes(tmp_path / "a", b"1")
        atomic_write(tmp_path / "b", lambda tmp: pathlib.Path(tmp).write_bytes(b"2"))
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == mode(tmp_path / "b") == 0o666 & ~mask


@pytest.mark.skipif(not IS_ROOT, reason="only root may give a file to another user")
def test_replacing_keeps_owner_where_allowed(tmp_path):
    """Run by root, replacing a user's file keeps it that user's."""
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o640)
    write_bytes(path, b"new")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)


def test_255_character_basename(tmp_path):
    """A name of NAME_MAX (255) characters works: the temporary name does not extend it."""
    path = tmp_path / ("m" * 250 + ".onnx")
    assert len(path.name) == 255
    write_bytes(path, b"1")
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_bytes(b"2"))
    assert path.read_bytes() == b"2"
    assert listing(tmp_path) == [path.name]


@needs_symlinks
@pytest.mark.parametrize("kind", ["absolute", "relative", "chain", "dangling"])
def test_writing_through_a_symlink_writes_its_target(tmp_path, kind):
    """Through a link (absolute, relative, chain, dangling) its target is written."""
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "real.bin"
    if kind != "dangling":
        target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    if kind == "absolute":
        os.symlink(target, link)
    elif kind in ("relative", "dangling"):
        os.symlink(os.path.join("models", "real.bin"), link)
    else:
        os.symlink(target, tmp_path / "first.bin")
        os.symlink("first.bin", link)
    pointed = os.readlink(link)
    write_bytes(link, b"new")
    assert target.read_bytes() == b"new"
    assert os.path.islink(link) and os.readlink(link) == pointed
    atomic_write(link, lambda tmp: pathlib.Path(tmp).write_bytes(b"newer"))
    assert target.read_bytes() == b"newer" and os.path.islink(link)
    assert listing(tmp_path / "models") == ["real.bin"]


@needs_symlinks
def test_symlink_loop_is_refused(tmp_path):
    """Links forming a loop are an ELOOP error naming the path; nothing is replaced."""
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError, match="loop") as info:
        write_bytes(tmp_path / "a", b"x")
    assert info.value.errno == errno.ELOOP and info.value.filename == str(tmp_path / "a")
    assert os.path.islink(tmp_path / "a") and os.path.islink(tmp_path / "b")
    assert listing(tmp_path) == ["a", "b"]


def test_missing_folder_names_user_path(tmp_path):
    """A missing folder is FileNotFoundError naming the user's path and the folder."""
    path = tmp_path / "no" / "such" / "m.bin"
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        write_bytes(path, b"x")
    assert info.value.filename == str(path) and ".skrnn-" not in str(info.value)


def test_directory_target_names_user_path(tmp_path):
    """A directory as target is IsADirectoryError naming it; the directory is untouched."""
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        write_bytes(tmp_path / "d", b"x")
    assert info.value.filename == str(tmp_path / "d")
    assert (tmp_path / "d").is_dir() and listing(tmp_path) == ["d"]


@needs_posix
@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_read_only_folder_names_user_path(tmp_path):
    """A read-only folder is PermissionError naming the user's path, not the temporary file."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "m.bin").write_bytes(b"old")
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError, match="make the folder writable") as info:
            write_bytes(folder / "m.bin", b"new")
    finally:
        os.chmod(folder, 0o700)
    assert info.value.filename == str(folder / "m.bin") and ".skrnn-" not in str(info.value)
    assert (folder / "m.bin").read_bytes() == b"old"


def test_permission_error_on_temp_names_user_path(tmp_path, monkeypatch):
    """EACCES creating the temporary file (as a read-only folder gives) names the user's path.

    Simulated, so that it also runs as root (who may write anywhere).
    """
    real_open = os.open

    def deny(name, *args, **kwargs):
        if os.path.basename(name).startswith(".skrnn-"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    path = tmp_path / "m.bin"
    with pytest.raises(PermissionError, match="make the folder writable") as info:
        write_bytes(path, b"x")
    assert info.value.filename == str(path) and ".skrnn-" not in str(info.value)


@needs_fifo
def test_non_regular_target_is_refused(tmp_path):
    """An existing FIFO is refused (renaming over it would replace it), promptly."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO.*not a regular file"):
        write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and listing(tmp_path) == ["pipe"]


# -- safe reads ---------------------------------------------------------------------------


def test_read_regular_file(tmp_path):
    """A regular file (or a link to one) is read whole; an empty one gives b""."""
    (tmp_path / "a").write_bytes(b"content")
    (tmp_path / "empty").write_bytes(b"")
    assert read_regular_file(tmp_path / "a") == b"content"
    assert read_regular_file(str(tmp_path / "empty")) == b""
    if POSIX:
        os.symlink("a", tmp_path / "link")
        assert read_regular_file(tmp_path / "link") == b"content"


def returns_promptly(fn, timeout=10):
    """Run ``fn()`` in a thread; fail unless it finishes within ``timeout``. Its exception."""
    outcome = {}

    def target():
        try:
            fn()
        except BaseException as exc:  # handed to the test, whatever it is
            outcome["exc"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still blocked after {timeout} s"
    return outcome.get("exc")


@needs_fifo
@pytest.mark.parametrize("reader", ["read_regular_file", "skrnn.load"])
def test_fifo_is_refused_promptly(tmp_path, reader):
    """A FIFO without a writer is refused at once instead of blocking forever."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    read = read_regular_file if reader == "read_regular_file" else skrnn.load
    exc = returns_promptly(lambda: read(fifo))
    assert isinstance(exc, ValueError) and "FIFO" in str(exc), exc


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
@pytest.mark.parametrize("reader", [read_regular_file, skrnn.load], ids=["read", "load"])
def test_character_device_is_refused(reader, device):
    """A character device (/dev/zero never ends) is refused before reading a byte."""
    exc = returns_promptly(lambda: reader(device))
    assert isinstance(exc, ValueError), exc
    assert "character device, not" in str(exc) and device in str(exc)


@needs_symlinks
def test_link_to_device_is_refused(tmp_path):
    """A link to /dev/zero is refused like /dev/zero itself."""
    os.symlink("/dev/zero", tmp_path / "model.skrnn")
    with pytest.raises(ValueError, match="character device"):
        skrnn.load(tmp_path / "model.skrnn")


@pytest.mark.parametrize("reader", [read_regular_file, skrnn.load], ids=["read", "load"])
def test_missing_path_and_directory_are_refused(tmp_path, reader):
    """A missing path is FileNotFoundError, a directory IsADirectoryError; both name the path."""
    with pytest.raises(FileNotFoundError, match="No such file") as info:
        reader(tmp_path / "nope")
    assert info.value.filename == str(tmp_path / "nope")
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        reader(tmp_path)
    assert info.value.filename == str(tmp_path)


@pytest.mark.parametrize("claimed", [3, 20])
def test_file_changing_size_while_read_is_refused(tmp_path, monkeypatch, claimed):
    """A file growing or shrinking between the stat and the read is refused."""
    path = tmp_path / "m"
    path.write_bytes(b"0123456789")
    real_fstat = os.fstat

    def fstat(fd):
        st = real_fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return st
        fields = list(st)
        fields[stat.ST_SIZE] = claimed  # as if the file had this size when opened
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", fstat)
    with pytest.raises(ValueError, match="changed size while being read"):
        read_regular_file(path)


def test_reader_does_not_open_special_files(monkeypatch):
    """Special files are refused from their stat, before open() (which has effects on some)."""
    opened = []
    real_open = os.open

    def recording_open(name, *args, **kwargs):
        opened.append(name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    if os.path.exists("/dev/null"):
        with pytest.raises(ValueError):
            read_regular_file("/dev/null")
        assert opened == []


# -- the writers of skrnn and the benchmarks ----------------------------------------------


@pytest.fixture(scope="module")
def regressor():
    X = random_series(8, seed=0, max_length=5)
    return quiet_fit(SequenceRegressor(hidden_size=4, max_epochs=1, random_state=0,
                                       device="cpu"), X, np.arange(8.0))


def _fail_half_way(monkeypatch, owner, name, path_arg=1):
    """Make ``owner.name`` write a few bytes to its path argument, then fail (disk full)."""

    def save(*args, **kwargs):
        with open(args[path_arg], "wb") as f:
            f.write(b"PK\x03\x04 half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), args[path_arg])

    monkeypatch.setattr(owner, name, save)


def test_save_keeps_old_model_on_failure(regressor, tmp_path, monkeypatch):
    """est.save failing (here: at fsync) keeps the previous model loadable; no temp is left."""
    path = tmp_path / "m.skrnn"
    regressor.save(path)
    good = path.read_bytes()

    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="Input/output error") as info:
            regressor.save(path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == good and listing(tmp_path) == ["m.skrnn"]
    assert isinstance(skrnn.load(path), SequenceRegressor)


@needs_symlinks
def test_save_through_symlink_keeps_link_and_mode(regressor, tmp_path):
    """est.save through a link writes its target and keeps the target's 0600 mode."""
    target = tmp_path / "real.skrnn"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    os.symlink("real.skrnn", tmp_path / "link.skrnn")
    assert regressor.save(tmp_path / "link.skrnn") == str(tmp_path / "link.skrnn")
    assert os.path.islink(tmp_path / "link.skrnn") and mode(target) == 0o600
    assert isinstance(skrnn.load(tmp_path / "link.skrnn"), SequenceRegressor)
    assert listing(tmp_path) == ["link.skrnn", "real.skrnn"]


def test_to_torchscript_failure_keeps_old_file(regressor, tmp_path, monkeypatch):
    """torch.jit.save failing half-way leaves an existing TorchScript file intact."""
    path = tmp_path / "m.pt"
    regressor.to_torchscript(path)
    good = path.read_bytes()
    _fail_half_way(monkeypatch, torch.jit, "save")
    with pytest.raises(OSError, match="disk is full") as info:
        regressor.to_torchscript(path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == good and listing(tmp_path) == ["m.pt"]
    monkeypatch.undo()
    assert isinstance(torch.jit.load(path), torch.jit.ScriptModule)


class _StandInProgram:
    """What torch.onnx.export returns, minus the seconds it takes: ``save`` fails half-way."""

    def __init__(self):
        self.destinations = []

    def save(self, destination, **kwargs):
        self.destinations.append((destination, kwargs))
        with open(destination, "wb") as f:
            f.write(b"\x08\x07half an onnx model")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), destination)


def test_to_onnx_failure_keeps_old_file(regressor, tmp_path, monkeypatch):
    """The ONNX program's save failing half-way leaves an existing good .onnx intact."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    path = tmp_path / "m.onnx"
    path.write_bytes(b"a good onnx model")
    program = _StandInProgram()
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: program)
    with pytest.raises(OSError, match="disk is full") as info:
        regressor.to_onnx(path)
    assert info.value.filename == str(path) and ".skrnn-" not in str(info.value)
    assert path.read_bytes() == b"a good onnx model" and listing(tmp_path) == ["m.onnx"]
    ((destination, kwargs),) = program.destinations
    # The temporary file keeps the .onnx suffix: onnx.save picks the format by it.
    assert destination.endswith(".onnx") and kwargs == {"external_data": False}


def test_exported_program_save_failure_keeps_old_file(regressor, tmp_path, monkeypatch):
    """torch.export.save failing half-way leaves an existing .pt2 intact."""
    path = tmp_path / "m.pt2"
    path.write_bytes(b"a good program")
    from skrnn.export import to_exported_program

    # The real export takes a second; the stand-in only has to reach the save.
    monkeypatch.setattr(torch.export, "export", lambda *a, **k: "program")
    _fail_half_way(monkeypatch, torch.export, "save")
    with pytest.raises(OSError, match="disk is full") as info:
        to_exported_program(regressor, path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == b"a good program" and listing(tmp_path) == ["m.pt2"]


def _benchmarks_common():
    spec = importlib.util.spec_from_file_location("_bench_common",
                                                  ROOT / "benchmarks" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_report_is_written_atomically(tmp_path, capsys):
    """write_report replaces a report whole; an unserialisable one leaves the old report."""
    common = _benchmarks_common()
    path = tmp_path / "results" / "r.json"
    common.write_report({"value": np.float32(1.5)}, path)
    assert json.loads(path.read_text())["value"] == 1.5
    assert "wrote" in capsys.readouterr().out
    good = path.read_bytes()
    with pytest.raises(TypeError):
        common.write_report({"value": object()}, path, announce=False)
    assert path.read_bytes() == good and listing(path.parent) == ["r.json"]


def test_module_is_standard_library_only():
    """skrnn._files imports nothing outside the standard library (it is loaded alone above)."""
    source = pathlib.Path(_files.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}, imports
