"""The tools' file rules: how every Python tool opens what it reads, writes what it makes and
takes a lock (docs/reliability.md, "Python tools").

Not a command-line tool itself. The rules, the Python side of the engine's own:

* An input is read only when it is a regular file: a folder, FIFO, socket or device is refused
  with one line naming it, and the open is non-blocking, so a FIFO cannot hang a tool. Every
  file read through ``read_bytes`` is remembered as one of this process's inputs.
* An output is never one of the inputs (same device and inode, or same resolved path), never a
  symbolic link, folder or special file. It is written to a temporary file in its own folder,
  flushed and fsynced, then renamed over the name, so a reader sees the old file or the new
  one, never half of one. The temporary file is removed on every exit path: an error, Ctrl-C,
  SIGTERM or SIGHUP.
* A lock lives in the user's runtime folder ($XDG_RUNTIME_DIR when it is a private folder of
  the user, else a private ``mlpbench-<uid>`` folder in the system's temporary folder, created
  0700 and checked to be the user's) and is opened with O_NOFOLLOW: never through a symlink,
  never a special file.

Errors are ``ToolError`` (one line, exit status 2 in every tool).
"""

import contextlib
import errno
import os
import shutil
import signal
import stat
import tempfile
import threading


class ToolError(Exception):
    """A problem with the user's input; reported as one line, exit status 2."""


class Terminated(SystemExit):
    """SIGTERM or SIGHUP, raised where the signal lands so that clean-up code runs; exits
    128 + the signal's number."""

    def __init__(self, signum):
        super().__init__(128 + signum)
        self.signum = signum


_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _raise_terminated(signum, _frame):
    raise Terminated(signum)


def terminate_by_exception():
    """From now on SIGTERM and SIGHUP raise Terminated (unless the program set its own handler
    for them), so `finally` clauses and context managers clean up as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _TERMINATING:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _raise_terminated)


# --------------------------------------------------------------------------- inputs

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISLNK, "a symbolic link"))
_inputs = {}  # resolved path -> (st_dev, st_ino) of every input of this process


def kind_of(mode):
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def note_input(path):
    """Remember `path` as an input that this process reads some other way (e.g. a file another
    program reads for it), so that no output replaces it. A missing path is ignored."""
    with contextlib.suppress(OSError, ValueError):
        st = os.stat(path)
        _inputs[os.path.realpath(path)] = (st.st_dev, st.st_ino)


def _is_input(path, st):
    """Whether `path` (lstat `st`, or None when missing) names a file this process read: the
    same resolved path, or the same file (device and inode) as an input still in place."""
    if os.path.realpath(path) in _inputs:
        return True
    if st is None:
        return False
    for known, identity in list(_inputs.items()):
        if identity == (st.st_dev, st.st_ino):
            with contextlib.suppress(OSError):
                now = os.stat(known)
                if (now.st_dev, now.st_ino) == identity:
                    return True
    return False


def _require_regular(path, st):
    if stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{path}: is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"{path}: is {kind_of(st.st_mode)}, expected a regular file")


def read_bytes(path, max_bytes=None, what="this file"):
    """The bytes of the regular file `path`; ToolError naming it otherwise, or when it is
    larger than `max_bytes` (refused before anything is read: `what` may not be that big)."""
    try:
        # stat first: a socket cannot be opened, and opening a device can have side effects.
        _require_regular(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file") from None
    except ValueError:
        raise ToolError(f"{path!r}: not a usable file name") from None
    except OSError as e:
        raise ToolError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        _require_regular(path, st)  # swapped for another kind of file since the stat
        limit = float("inf") if max_bytes is None else max_bytes
        if st.st_size > limit:
            raise ToolError(f"{path}: is {st.st_size} bytes, more than {what} may have "
                            f"({max_bytes} bytes)")
        _inputs[os.path.realpath(path)] = (st.st_dev, st.st_ino)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:  # grew after the fstat
                raise ToolError(f"{path}: grew past {max_bytes} bytes while being read, more "
                                f"than {what} may have")
            chunks.append(chunk)
    except OSError as e:
        raise ToolError(f"{path}: cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- outputs

def check_output(path, inputs=()):
    """Refuse an output `path` that is a symbolic link, a folder, a special file, one of the
    `inputs` (paths) or a file this process has read. Returns `path`."""
    for p in inputs:
        note_input(p)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as e:
        raise ToolError(f"{path}: cannot write: {getattr(e, 'strerror', None) or e}") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise ToolError(f"{path}: is a symbolic link; an output is never written through "
                            "one (name the file itself)")
        if not stat.S_ISREG(st.st_mode):
            raise ToolError(f"{path}: is {kind_of(st.st_mode)}; an output must be a regular "
                            "file name")
    if _is_input(path, st):
        raise ToolError(f"{path}: is also an input of this command; refusing to overwrite it "
                        "(choose another output name)")
    return path


def _new_file_mode(path):
    """An existing output keeps its permissions; a new one gets what open() would give."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _temporary_beside(path, binary, **open_args):
    """(file object, temporary path) in `path`'s folder; the temporary file is removed when
    the block raises, whatever it raises."""
    terminate_by_exception()
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
    except OSError as e:
        raise ToolError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        if not binary:
            open_args.setdefault("encoding", "utf-8")
        with os.fdopen(fd, "wb" if binary else "w", **open_args) as f:
            yield f, tmp
    except OSError as e:
        _remove(tmp)
        raise ToolError(f"{path}: cannot write: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_output(path, binary=False, inputs=(), mode=None, **open_args):
    """A file object whose contents replace `path` as a whole when the block ends without an
    exception (check_output's rules first); otherwise `path` is left as it was. The file gets
    `mode`, else the permissions of the file it replaces, else those open() would give."""
    check_output(path, inputs)
    mode = _new_file_mode(path) if mode is None else mode
    with _temporary_beside(path, binary, **open_args) as (f, tmp):
        yield f
        f.flush()
        os.fsync(f.fileno())
        os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)  # a link put at `path` meanwhile is replaced, never followed
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


def write_atomic(path, data, inputs=()):
    """`data` (str or bytes) as the whole new contents of `path` (atomic_output's rules)."""
    with atomic_output(path, binary=isinstance(data, bytes), inputs=inputs) as f:
        f.write(data)


def create_exclusive(path, data):
    """Create `path` holding `data` (bytes), complete from the moment it appears, only if no
    file of that name exists: True if created, False if the name was taken (by another process
    too: the claim is link(2), which fails on an existing name)."""
    with _temporary_beside(path, True) as (f, tmp):
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
        os.fchmod(f.fileno(), _new_file_mode(path))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise ToolError(f"{path}: cannot create: {e.strerror or e}") from None
        return _claim_then_replace(path, tmp)
    finally:
        _remove(tmp)
    _fsync_folder(os.path.dirname(os.path.abspath(path)))
    return True


def _claim_then_replace(path, tmp):
    """create_exclusive on a filesystem without hard links: claim the name with an empty
    O_EXCL file, then rename the complete file over it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        return False
    except OSError as e:
        raise ToolError(f"{path}: cannot create: {e.strerror or e}") from None
    os.replace(tmp, path)
    return True


@contextlib.contextmanager
def temporary_folder(prefix):
    """A new private folder, removed with everything in it however the block ends (Ctrl-C and
    SIGTERM included); a clean-up that fails is reported, never raised."""
    terminate_by_exception()
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, onerror=_report_leftover)


def _report_leftover(_function, path, exc_info):
    import sys
    if not isinstance(exc_info[1], FileNotFoundError):
        print(f"warning: could not remove {path}: {exc_info[1]}", file=sys.stderr)


# --------------------------------------------------------------------------- locks

def _private_folder_problem(path):
    """Why `path` is not a folder only this user can use, or None."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return e.strerror or str(e)
    if not stat.S_ISDIR(st.st_mode):
        return f"is {kind_of(st.st_mode)}, not a folder"
    if st.st_uid != os.getuid():
        return f"is owned by uid {st.st_uid}, not by this user (uid {os.getuid()})"
    if st.st_mode & 0o077:
        return f"is open to others (mode {stat.S_IMODE(st.st_mode):04o}, expected 0700)"
    return None


def runtime_folder():
    """$XDG_RUNTIME_DIR when it is a private folder of this user; else <tmp>/mlpbench-<uid>,
    created 0700 and checked (owner, mode, not a link) before it is used."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg) and _private_folder_problem(xdg) is None:
        return xdg
    folder = os.path.join(tempfile.gettempdir(), f"mlpbench-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass  # checked below like a folder made here
    except OSError as e:
        raise ToolError(f"{folder}: cannot create: {e.strerror or e}") from None
    problem = _private_folder_problem(folder)
    if problem:
        raise ToolError(f"{folder}: {problem}; refusing to keep locks there (remove it, or set "
                        "$XDG_RUNTIME_DIR to a private folder)")
    return folder


def open_lock(path):
    """A descriptor of the lock file `path` (created 0644 if missing, so that users sharing a
    lock path can all open it) to flock(2): never opened through a symbolic link, never a
    special file. Read-only when the file is another user's (flock works on it all the same)."""
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o644)
        except PermissionError:  # another user's file (in a sticky folder O_CREAT is refused)
            fd = os.open(path, os.O_RDONLY | flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ToolError(f"{path}: is a symbolic link; a lock is never taken through one "
                            "(remove it)") from None
        raise ToolError(f"{path}: cannot open the lock: {e.strerror or e}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ToolError(f"{path}: is {kind_of(st.st_mode)}, not a lock file (remove it)")
    return fd


def lock_note_writable(fd):
    """Whether a note (who holds the lock) may be written into the lock file: only into a file
    of this user with no other name, so that no other file is ever truncated."""
    st = os.fstat(fd)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_nlink == 1
