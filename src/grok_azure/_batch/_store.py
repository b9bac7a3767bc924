"""ResultStore: the output JSONL file, durable line by line, so a killed run resumes without loss or repeats.

Rules (the batch runner's guarantees rest on them):

- A result counts only once its line is on disk: written with one ``os.write`` on an ``O_APPEND`` descriptor,
  then ``os.fsync``, before :meth:`ResultStore.write` returns.
- On open, the existing file is read: the ids it holds are done (successes) or failed. A final line without its
  newline is a write torn by a kill; it is cut off (its id is not done, so it runs again).
- No ``custom_id`` is ever written twice: :meth:`write` refuses an id the file already holds. Retrying failed
  lines (:meth:`drop_failed`) first rewrites the file without them, atomically (a temporary file, fsync,
  ``os.replace``), so the file never holds two lines for one id.
- One run at a time: a store holds an exclusive lock on ``<output>.lock`` (``flock``, released by the OS when the
  process dies, so a killed run never leaves it held); a second run on the same output is refused, not allowed to
  write every id again.
- A write that fails (a full disk) cuts the file back to its last whole line and ends the store: nothing is ever
  appended after a partial line, so the output stays resumable.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
from collections.abc import Collection

from .._errors import GrokError
from ._format import BatchInputError, BatchOutputError, BatchResult

__all__ = ["ResultStore"]


class ResultStore:
    """The output file of a batch.

    Args:
        path: the output JSONL file; created when missing, resumed when it exists.

    Raises:
        BatchInputError: the file exists but a line other than a torn last one is not a result line (it is not
            a batch output: nothing is overwritten).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # custom_id -> True (succeeded) / False (failed), for every line on disk.
        self.outcomes: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._broken: BatchOutputError | None = None
        # First: another run must not write while this one reads. The real path's lock, so that a second run
        # through a symbolic link (or another spelling of the path) finds it taken.
        self._guard: int | None = _lock_output(os.path.realpath(self.path))
        try:
            _remove_stale_rewrites(self.path)
            created = not os.path.exists(self.path)
            self._load()
            self._fd = _open_output(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            if created:
                _sync_directory(self.path)  # the new file's name survives a power cut too
        except BaseException:
            self.release()
            raise

    def _load(self) -> None:
        if not os.path.exists(self.path):
            return
        try:
            file = open(self.path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise _output_error(self.path, "cannot be read", exc) from None
        with file:
            good = 0  # bytes of whole lines
            for number, raw in enumerate(file, start=1):
                if not raw.endswith(b"\n"):
                    if not _LINE_START.startswith(raw[: len(_LINE_START)]):
                        # Not the start of a line this store writes: another file (the input given as the output,
                        # a JSON document without a final newline), which must not be cut back to nothing.
                        raise BatchInputError(
                            f"the output file {self.path!r} is not a batch output: its last line is not a result",
                            line=number,
                        )
                    break  # torn by a kill mid-write: never fsynced, never counted
                good += len(raw)
                if not raw.strip():
                    continue
                try:
                    result = BatchResult.from_line(raw)
                except BatchInputError as exc:
                    raise BatchInputError(
                        f"the output file {self.path!r} is not a batch output: {exc.message}", line=number
                    ) from None
                self.outcomes[result.custom_id] = result.ok
        if good != os.path.getsize(self.path):
            with open(self.path, "r+b") as torn:
                torn.truncate(good)
                torn.flush()
                os.fsync(torn.fileno())

    def drop_failed(self, ids: Collection[str]) -> int:
        """Rewrite the file without the failed lines of ``ids`` (atomically), so those ids run again; how many
        were dropped. Failed lines of other ids (an earlier input's) are kept, as every line of theirs is."""
        with self._lock:
            failed = [cid for cid, ok in self.outcomes.items() if not ok and cid in ids]
            if not failed:
                return 0
            dropped = set(failed)
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(self.path, "rb") as source, open(temporary, "wb") as target:
                for raw in source:
                    if raw.strip():
                        result = BatchResult.from_line(raw)
                        if not result.ok and result.custom_id in dropped:
                            continue
                    target.write(raw)
                target.flush()
                os.fsync(target.fileno())
            self._close_fd()
            os.replace(temporary, self.path)
            _sync_directory(self.path)
            self._fd = _open_output(self.path, os.O_WRONLY | os.O_APPEND)
            for cid in failed:
                del self.outcomes[cid]
            return len(failed)

    def write(self, result: BatchResult) -> None:
        """Append ``result`` as one line and fsync it; it counts once this returns.

        Raises:
            GrokError: the file already holds ``result.custom_id`` (a bug: nothing is written), or the store is
                closed.
        """
        data = (result.to_line() + "\n").encode()
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._fd is None:
                raise BatchOutputError("the batch output is closed")
            if result.custom_id in self.outcomes:
                raise GrokError(
                    f"custom_id {result.custom_id!r} is already in {self.path!r}; not written twice"
                )
            end = os.lseek(self._fd, 0, os.SEEK_END)  # the last whole line's end: every writer holds the lock
            try:
                view = memoryview(data)
                # One write in practice; a short write (a full disk, a signal) continues where it stopped.
                while view:
                    view = view[os.write(self._fd, view) :]
                os.fsync(self._fd)
            except OSError as exc:
                self._broken = _output_error(self.path, "could not be written", exc)
                # Cut the partial line: the file must end with a whole line for a resume to read it.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, end)
                    os.fsync(self._fd)
                raise self._broken from None
            self.outcomes[result.custom_id] = result.ok

    def close(self) -> None:
        """Close the file and release the output's lock (idempotent); later writes raise."""
        self.release()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        """Close the file and give up the output's lock (the run is over)."""
        with self._lock:
            self._close_fd()
            if self._guard is not None:
                os.close(self._guard)  # closing the descriptor releases its flock
                self._guard = None


def _remove_stale_rewrites(path: str) -> None:
    """Delete ``<path>.<pid>.tmp`` files a run killed during :meth:`ResultStore.drop_failed` left (only the lock's
    holder makes them, and this store holds the lock now)."""
    for stale in glob.glob(f"{glob.escape(path)}.*.tmp"):
        with contextlib.suppress(OSError):
            os.remove(stale)


def _open_output(path: str, flags: int) -> int:
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        raise _output_error(path, "cannot be opened for writing", exc) from None


def _output_error(path: str, what: str, exc: OSError) -> BatchOutputError:
    return BatchOutputError(f"the batch output {path!r} {what}: {exc.strerror or exc}", errno=exc.errno)


# Every line this store writes starts so (BatchResult.to_line): a last line without its newline that does not is
# no torn write of the store's.
_LINE_START = b'{"id":"'


def _lock_output(path: str) -> int:
    """Hold ``<path>.lock`` exclusively for this run (a descriptor; closing it releases the lock)."""
    lock_path = f"{path}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _output_error(path, "cannot be created", exc) from None  # its .lock sits beside it
    try:
        _try_lock(fd)
    except BlockingIOError:
        os.close(fd)
        raise BatchOutputError(
            f"the batch output {path!r} is in use by another run (it holds {lock_path!r}); wait for it to end, "
            "or write to another output"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise _output_error(path, "cannot be locked", exc) from None
    return fd


def _try_lock(fd: int) -> None:
    """An exclusive, non-blocking lock on ``fd``; BlockingIOError when another process (or store) holds it."""
    if os.name == "posix":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # Windows: lock the first byte; released when the descriptor closes
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError as exc:
            raise BlockingIOError(str(exc)) from None


def _sync_directory(path: str) -> None:
    """fsync the directory holding ``path`` (a new or replaced name is durable only then); not on Windows."""
    if os.name != "posix":
        return
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
