"""What every worker process the importer forks does first: it ignores SIGINT (the main process
decides when to stop, and ends a worker with SIGTERM) and exits on its own once the process
that started it is gone (nobody would read what it does).

The planning workers (:mod:`importer.planning.pool`) and the staging workers
(:mod:`importer.readers.parallel_staging`) both start this way.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from importer.commands.stopping import ignore_stops_in_worker

#: How often a worker checks that the process that started it is still there.
PARENT_CHECK_S = 1.0
#: How often the main process, waiting for a worker, checks whether it was asked to stop.
STOP_CHECK_S = 0.1

R = TypeVar("R")


def can_fork() -> bool:
    """Whether workers can be forked (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def result_checking_stops(future: Future[R], check_stop: Callable[[], None]) -> R:
    """What ``future``'s worker gives (or raises), calling ``check_stop`` (which raises the
    stop) every :data:`STOP_CHECK_S` while waiting: a stop is never held up by a worker."""
    while True:
        check_stop()
        try:
            return future.result(timeout=STOP_CHECK_S)
        except TimeoutError:
            continue


def release_freed_memory() -> None:
    """Give the pages this process freed back to the system, before it forks workers: a forked
    worker's RSS counts every page it shares with this process, so a main process left large by
    a long read (a million records staged, each row's bytes allocated and freed) would be
    counted again in every worker. glibc only (elsewhere nothing is done)."""
    gc.collect()
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def become_worker(parent: int) -> None:
    """Make this (forked) process a worker of ``parent``: stops ignored, orphans exit, the
    objects it was forked with frozen (:func:`gc.freeze`)."""
    ignore_stops_in_worker()
    # what the worker inherited lives as long as it does: kept out of its collections, which
    # then walk only the worker's own objects (and leave the shared pages uncopied)
    gc.freeze()
    watch = threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True)
    watch.start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)  # the main process was killed: nobody will read what this worker does
