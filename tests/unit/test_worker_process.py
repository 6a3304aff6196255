"""What every forked worker starts from (importer.worker_process)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

#: in a fresh interpreter: 80 MB of small bytes objects (glibc's heap, not mmap) freed, all but
#: the last, which keeps the heap's top from shrinking by itself
_PROBE = """
import os
from importer.worker_process import release_freed_memory
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
held = [bytes(4000) + bytes([n % 256]) for n in range(20_000)]
keep = held[-1:]
del held
before = rss()
release_freed_memory()
print(before - rss())
"""


def _glibc() -> bool:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim  # noqa: B018 - only whether it is there
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


@pytest.mark.skipif(not _glibc(), reason="malloc_trim is glibc's")
def test_freed_memory_goes_back_to_the_system_before_a_fork() -> None:
    """A main process left large by a long read would be counted again in every worker it
    forks: what it freed is given back first."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    released = int(result.stdout.strip())
    assert released > 50 << 20, f"only {released >> 20} MB went back"


#: in a fresh interpreter: a staging store filled past its page cache, then committed (its cache
#: given back) and the freed memory released: how much RSS that gave back
_STORE_PROBE = """
import os, tempfile
from pathlib import Path
from importer.readers.staging import StagingStore
from importer.worker_process import release_freed_memory
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
with tempfile.TemporaryDirectory() as folder, StagingStore(Path(folder)) as store:
    for n in range(200_000):
        store.put("comments", f"ticket-{n * 7919 % 100_003}", f"c.json:{n}", record=n)
    store._flush()
    release_freed_memory()
    before = rss()
    store.commit()
    release_freed_memory()
    print(before - rss())
"""


@pytest.mark.skipif(not _glibc(), reason="malloc_trim is glibc's")
def test_a_staging_store_gives_its_page_cache_back_when_the_staging_is_committed() -> None:
    """The planning workers fork once the staging is committed; the writing store's page cache
    (8 MB) would be counted again in each of them: committing gives it back."""
    result = subprocess.run(
        [sys.executable, "-c", _STORE_PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    released = int(result.stdout.strip())
    assert released > 4 << 20, f"only {released >> 10} KB went back"


#: in a fresh interpreter: a forked child made a worker; what it inherited is frozen (out of its
#: collections) and what it makes afterwards is not
_FREEZE_PROBE = """
import gc, os
from importer.worker_process import become_worker
inherited = [[n] for n in range(10_000)]
parent = os.getpid()
read, write = os.pipe()
child = os.fork()
if child == 0:
    become_worker(parent)
    frozen = gc.get_freeze_count()
    made = [[n] for n in range(100)]
    tracked = sum(1 for item in gc.get_objects() if item in made)
    os.write(write, f"{frozen} {tracked}".encode())
    os._exit(0)
os.waitpid(child, 0)
print(os.read(read, 100).decode(), gc.get_freeze_count())
"""


def test_a_worker_freezes_what_it_was_forked_with() -> None:
    """A worker's collections walk only its own objects: those of the main process it was
    forked from are frozen (gc.freeze), the main process's own are not."""
    result = subprocess.run(
        [sys.executable, "-c", _FREEZE_PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    frozen_in_worker, tracked_after, frozen_in_parent = map(int, result.stdout.split())
    assert frozen_in_worker > 10_000  # the inherited lists at least
    assert tracked_after == 100  # what the worker makes is collected as before
    assert frozen_in_parent == 0
