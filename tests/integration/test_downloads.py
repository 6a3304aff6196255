"""The attachment downloader against a loopback server that misbehaves in every way it can."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from importer.errors import DownloadError, StoppedError
from importer.helpscout.downloads import AttachmentDownloader, DownloadLimits, public_url

from .file_server import FileServer, content, serving_files

pytestmark = pytest.mark.integration

FAST = DownloadLimits(connect_s=2.0, read_s=0.5, max_attempts=3, per_file_s=5.0)


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    with serving_files() as server:
        yield server


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


async def fetch(url: str, limits: DownloadLimits = FAST, **kwargs: object) -> bytes:
    async with AttachmentDownloader(limits, sleep=_no_sleep, **kwargs) as downloader:  # type: ignore[arg-type]
        return await downloader.fetch(url)


def test_a_good_file_arrives_intact(files: FileServer) -> None:
    assert asyncio.run(fetch(files.url("good/a.pdf?size=70000"))) == content("a.pdf", 70000)


def test_a_5xx_is_tried_again(files: FileServer) -> None:
    assert asyncio.run(fetch(files.url("flaky/b.txt"))) == content("b.txt", 1000)
    assert files.hits["flaky/b.txt"] == 2


@pytest.mark.parametrize(
    ("path", "code", "tries"),  # tries: GETs the downloader sends
    [
        ("truncated/c.bin", "reset", 3),
        ("reset/d.bin", "disconnected", 3),
        ("broken/e.bin", "server_error", 3),
        ("missing/f.bin", "http_404", 1),
        ("secret/g.bin", "http_401", 1),
        ("hang/h.bin", "timeout", 3),
        ("loop/i.bin", "redirects", 5),  # the first GET and 4 redirects followed
        ("big/j.bin", "too_large", 1),
        ("bigchunked/k.bin", "too_large", 1),
    ],
)
def test_every_bad_file_ends_as_a_download_error_naming_it(
    files: FileServer, path: str, code: str, tries: int
) -> None:
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(files.url(path + "?signature=s3cr3t")))
    assert caught.value.code == code, str(caught.value)
    assert path in str(caught.value)
    assert "s3cr3t" not in str(caught.value)  # a signed link's query never reaches a message
    # aiohttp itself sends a GET again once when a kept-alive connection was closed under it
    assert tries <= files.hits[path] <= 2 * tries


def test_the_size_limit_is_enforced_while_streaming(files: FileServer) -> None:
    """A body without a length past a small limit is refused after little more than it."""
    limits = DownloadLimits(max_bytes=100_000, read_s=2.0, max_attempts=1)
    with pytest.raises(DownloadError, match="100,000-byte"):
        asyncio.run(fetch(files.url("bigchunked/l.bin"), limits))


def test_a_trickling_file_is_given_up_within_its_time_budget(files: FileServer) -> None:
    limits = DownloadLimits(read_s=5.0, max_attempts=5, per_file_s=1.0)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(files.url("trickle/m.bin"), limits))
    assert time.monotonic() - started < 4.0
    assert caught.value.code in ("timeout", "time_limit")


def test_a_stop_abandons_a_download_at_once(files: FileServer) -> None:
    async def main() -> float:
        stop = asyncio.Event()
        limits = DownloadLimits(read_s=30.0, per_file_s=120.0)
        async with AttachmentDownloader(limits, stop=stop) as downloader:
            fetching = asyncio.create_task(downloader.fetch(files.url("trickle/n.bin")))
            await asyncio.sleep(0.5)
            stop.set()
            started = time.monotonic()
            with pytest.raises(StoppedError):
                await fetching
            return time.monotonic() - started

    assert asyncio.run(main()) < 1.0


def test_no_authorization_is_sent_unless_asked_for_that_url(files: FileServer) -> None:
    before = len(files.authorizations)
    asyncio.run(fetch(files.url("good/o.txt")))
    assert len(files.authorizations) == before
    asyncio.run(
        fetch(files.url("good/p.txt"), headers_for=lambda url: {"Authorization": "Basic eDp5"})
    )
    assert files.authorizations[-1] == "Basic eDp5"


def test_only_http_and_https_urls_are_fetched() -> None:
    with pytest.raises(DownloadError, match="only http and https"):
        asyncio.run(fetch("file:///etc/passwd"))


def test_public_url_drops_the_query_and_fragment() -> None:
    assert public_url("https://h.example/f/a.png?token=x#y") == "https://h.example/f/a.png"


def test_help_scout_attachment_data_is_decoded(files: FileServer) -> None:
    """A Help Scout dump names its files by the "Get Attachment Data" endpoint, which answers
    {"data": base64}: the file is the decoded data, not that JSON."""
    url = files.url("v2/conversations/1/attachments/77/data")
    assert asyncio.run(fetch(url)) == content("conversations/1/attachments/77/data", 1500)
