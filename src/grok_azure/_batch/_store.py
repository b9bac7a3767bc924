"""ResultStore: the output JSONL file, durable line by line, so a killed run resumes without loss or repeats.

Rules (the batch runner's guarantees rest on them):

- A result counts only once its line is on disk: written with one ``os.write`` on an ``O_APPEND`` descriptor,
  then ``os.fsync``, before :meth:`ResultStore.write` returns.
- On open, the existing file is read: the ids it holds are done (successes) or failed. A final line without its
  newline is a write torn by a kill; it is cut off (its id is not done, so it runs again).
- No ``custom_id`` is ever written twice: :meth:`write` refuses an id the file already holds. Retrying failed
  lines (:meth:`drop_failed`) first rewrites the file without them, atomically (a temporary file, fsync,
  ``os.replace``), so the file never holds two lines for one id.
"""

from __future__ import annotations

import os
import threading

from .._errors import GrokError
from ._format import BatchInputError, BatchResult

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
        created = not os.path.exists(self.path)
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            _sync_directory(self.path)  # the new file's name survives a power cut too

    def _load(self) -> None:
        if not os.path.exists(self.path):
            return
        with open(self.path, "rb") as file:
            good = 0  # bytes of whole lines
            for number, raw in enumerate(file, start=1):
                if not raw.endswith(b"\n"):
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
            with open(self.path, "r+b") as file:
                file.truncate(good)
                file.flush()
                os.fsync(file.fileno())

    @property
    def succeeded(self) -> int:
        """How many ids the file holds as successes."""
        return sum(self.outcomes.values())

    def drop_failed(self) -> int:
        """Rewrite the file without its failed lines (atomically), so those ids run again; how many were dropped."""
        with self._lock:
            failed = [cid for cid, ok in self.outcomes.items() if not ok]
            if not failed:
                return 0
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(self.path, "rb") as source, open(temporary, "wb") as target:
                for raw in source:
                    if raw.strip() and not BatchResult.from_line(raw).ok:
                        continue
                    target.write(raw)
                target.flush()
                os.fsync(target.fileno())
            self._close_fd()
            os.replace(temporary, self.path)
            _sync_directory(self.path)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
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
            if self._fd is None:
                raise GrokError("the batch output is closed")
            if result.custom_id in self.outcomes:
                raise GrokError(
                    f"custom_id {result.custom_id!r} is already in {self.path!r}; not written twice"
                )
            view = memoryview(data)
            while (
                view
            ):  # one write in practice; a short write (a full disk, a signal) continues where it stopped
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
            self.outcomes[result.custom_id] = result.ok

    def close(self) -> None:
        """Close the file (idempotent); later writes raise."""
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _sync_directory(path: str) -> None:
    """fsync the directory holding ``path`` (a new or replaced name is durable only then); not on Windows."""
    if os.name != "posix":
        return
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
