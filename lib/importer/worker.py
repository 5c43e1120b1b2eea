"""Parsing worker 解析进程: reading an import file runs in a child process with a memory limit, so that a
file built to exhaust memory or time (a zip bomb, one huge cell, a million columns) ends that child
only, never the server (issue 14).

`run(fn, *args)` calls `fn(*args)` in a child forked from a `forkserver` (which has already imported
pandas, openpyxl, shapely and lib.importer, so a child starts in tens of milliseconds: the overhead for a
1,000-row file is measured in tests/test_hardening_limits.py). The children never run the server's
main module (lib.importer._forkserver says why). The child sets `RLIMIT_AS` to the
address space it starts with plus `worker_memory_mb` (config `[imports]`) and returns the result pickled
through a pipe, or the FileError it raised. A child that runs out of memory (MemoryError, or killed by
the allocator's abort) becomes FileError `file_too_big_to_read`; one still running after
`worker_seconds` is killed and becomes `read_timeout`. Any other exception in the child is raised in
the caller as `WorkerError` carrying the child's exception text (for the server log only).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import threading
from collections.abc import Callable

from lib.config import ROOT
from lib.importer.read import FileError
from lib.importer.specs import limits

PRELOAD = ["lib.importer._forkserver", "lib.importer", "lib.importer.grids", "openpyxl", "shapely", "shapely.geometry", "pyexpat"]
_lock = threading.Lock()
_context: mp.context.BaseContext | None = None


class WorkerError(RuntimeError):
    """The child failed for a reason that is not the file's (the text is for the server log)."""


def _ctx() -> mp.context.BaseContext:
    global _context
    with _lock:
        if _context is None:
            # the forkserver is a fresh interpreter that does not get this process's sys.path (3.11): it
            # finds lib/ through PYTHONPATH whatever the server's working directory
            paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            if str(ROOT) not in paths:
                os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def _forget_forkserver() -> None:
    """In a child forked from this process (a pre-forking server, a job runner, a test harness): the
    parent's forkserver is not this process's child, and multiprocessing would wait on it and fail
    (ChildProcessError), so the child starts its own at its first import."""
    from multiprocessing import forkserver

    server = forkserver._forkserver  # noqa: SLF001 - the module's one instance; it has no public reset
    if server._forkserver_alive_fd is not None:  # noqa: SLF001
        try:
            os.close(server._forkserver_alive_fd)  # noqa: SLF001
        except OSError:
            pass
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None  # noqa: SLF001


os.register_at_fork(after_in_child=_forget_forkserver)


def _address_space() -> int:
    """This process's virtual size in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _child(conn, fn: Callable, args: tuple, memory_mb: int, rules_config: str | None) -> None:
    """In the child: read the caller's config file, limit the address space, run, send ("ok", result) /
    ("file", Issue) / ("memory", None) / ("error", text)."""
    if rules_config:
        os.environ["RULES_CONFIG"] = rules_config
    try:
        limit = _address_space() + memory_mb * 1048576
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:  # inside a process already limited (a container, a job runner)
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        out = ("ok", fn(*args))
    except FileError as exc:
        out = ("file", exc.error)
    except MemoryError:
        out = ("memory", None)
    except Exception as exc:  # noqa: BLE001 - reported to the caller, who logs it
        out = ("error", f"{type(exc).__name__}: {exc}"[:2000])
    try:
        conn.send(out)
    except MemoryError:
        conn.send(("memory", None))
    finally:
        conn.close()


def warm() -> None:
    """Start the forkserver now (it imports PRELOAD once, ~1–2 s), so the first import does not wait."""
    run(len, b"")


def run(fn: Callable, *args, memory_mb: int | None = None, seconds: float | None = None):
    """`fn(*args)` in a child process with a memory and a wall-clock limit (module docstring). `fn` must
    be a module-level function (it is pickled by name)."""
    lim = limits()
    memory_mb = memory_mb or lim["worker_memory_mb"]
    seconds = seconds or lim["worker_seconds"]
    ctx = _ctx()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, memory_mb, os.environ.get("RULES_CONFIG")), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise FileError("read_timeout", seconds=int(seconds))
        status, value = receive.recv()
    except (EOFError, OSError):  # the child died without answering: killed by the allocator's abort
        status, value = "memory", None
    finally:
        receive.close()
        proc.join(0.5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if status == "ok":
        return value
    if status == "file":
        raise FileError(value.code, value.column, value.row, **value.params)
    if status == "memory":
        raise FileError("file_too_big_to_read", limit_mb=memory_mb)
    raise WorkerError(value)
