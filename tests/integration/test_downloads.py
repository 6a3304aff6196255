"""The attachment downloader against a loopback server that misbehaves in every way it can
(allowed by ``--allow-host 127.0.0.1``), and the address policy it applies to every URL."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from fake_clock import NoWaitClock

from importer.addresses import AddressPolicy
from importer.errors import DownloadError, StoppedError
from importer.helpscout.downloads import AttachmentDownloader, DownloadLimits, public_url

from .file_server import ALLOW_LOOPBACK, SECRET_AUTH, FileServer, content, serving_files

pytestmark = pytest.mark.integration

FAST = DownloadLimits(
    connect_s=2.0, read_s=0.5, max_attempts=3, per_file_s=5.0, addresses=ALLOW_LOOPBACK
)


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    with serving_files() as server:
        yield server


NO_WAIT = NoWaitClock()  # real time; retries without their waits


async def fetch(url: str, limits: DownloadLimits = FAST, **kwargs: object) -> bytes:
    async with AttachmentDownloader(limits, clock=NO_WAIT, **kwargs) as downloader:  # type: ignore[arg-type]
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
        ("loop/i.bin", "redirects", 6),  # the first GET and the 5 redirects followed
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
    limits = replace(FAST, max_bytes=100_000, read_s=2.0, max_attempts=1)
    with pytest.raises(DownloadError, match="100,000-byte"):
        asyncio.run(fetch(files.url("bigchunked/l.bin"), limits))


def test_a_trickling_file_is_given_up_within_its_time_budget(files: FileServer) -> None:
    limits = replace(FAST, read_s=5.0, max_attempts=5, per_file_s=1.0)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(files.url("trickle/m.bin"), limits))
    assert time.monotonic() - started < 4.0
    assert caught.value.code in ("timeout", "time_limit")


def test_a_stop_abandons_a_download_at_once(files: FileServer) -> None:
    async def main() -> float:
        stop = asyncio.Event()
        limits = DownloadLimits(read_s=30.0, per_file_s=120.0, addresses=ALLOW_LOOPBACK)
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


# --- the address policy: URLs of the export never reach loopback, private or reserved
# addresses unless allowed (issue 26); no test connects to anything but 127.0.0.1


class _FakeDns(AbstractResolver):
    """Names of ``*.test`` resolve to 127.0.0.1 (where the file server listens); ``NAMES`` maps
    others; anything else is not found. Every name asked is kept in ``asked``."""

    NAMES: dict[str, str] = {"rebound.example": "10.0.0.1", "mixed.example": "::1"}
    asked: list[str] = []

    def __init__(self) -> None:
        pass

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        _FakeDns.asked.append(host)
        name = host.rstrip(".")
        address = "127.0.0.1" if name.endswith(".test") else self.NAMES.get(name)
        if address is None:
            raise OSError(f"{host}: not found")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            {"hostname": host, "host": address, "port": port, "family": family, "proto": 0,
             "flags": 0}
        ]  # fmt: skip

    async def close(self) -> None:
        pass


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The downloader's resolver asks :class:`_FakeDns` instead of the system's."""
    monkeypatch.setattr(aiohttp, "DefaultResolver", _FakeDns)
    _FakeDns.asked = []
    return _FakeDns.asked


def _port(files: FileServer) -> int:
    return int(files.base.rsplit(":", 1)[1])


def _refused(url: str, policy: AddressPolicy = AddressPolicy()) -> DownloadError:
    """The downloader's refusal of ``url`` (one try, a few ms: never a timeout waited out)."""
    limits = replace(FAST, addresses=policy, max_attempts=4)

    async def main() -> DownloadError:
        async with AttachmentDownloader(limits, clock=NO_WAIT) as downloader:
            try:
                await downloader.fetch(url)
            except DownloadError as exc:
                assert downloader.attempts == 1, "a refusal is final: no try again"
                return exc
        raise AssertionError(f"{url} was fetched")

    started = time.monotonic()
    error = asyncio.run(main())
    assert time.monotonic() - started < 1.0
    assert error.code == "address_policy", str(error)
    assert "refused by the address policy" in str(error)
    return error


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # decimal
        "0x7f000001",  # hex
        "017700000001",  # octal
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "127.0.0.1.",
        "0",
        "0.0.0.0",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "files.localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
        "[::]",
        "[64:ff9b::127.0.0.1]",  # NAT64 of loopback
        "[2002:7f00:1::1]",  # 6to4 of loopback
    ],
)
def test_every_spelling_of_this_machine_is_refused_before_any_connection(
    files: FileServer, fake_dns: list[str], host: str
) -> None:
    """The file server really listens on 127.0.0.1 at that port: none of its spellings reaches
    it (no GET arrives), and no name is even resolved."""
    before = sum(files.hits.values())
    error = _refused(f"http://{host}:{_port(files)}/good/spelled.txt?sig=s3cr3t")
    assert "loopback" in str(error) or "unspecified" in str(error), str(error)
    assert "s3cr3t" not in str(error)
    assert sum(files.hits.values()) == before
    assert fake_dns == []


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "link-local"),  # cloud metadata
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),  # AWS's IPv6 metadata
        ("http://10.0.0.1/x.png", "private"),
        ("http://172.16.5.4/x.png", "private"),
        ("http://192.168.1.1/x.png", "private"),
        ("http://100.64.0.1/x.png", "shared"),
        ("http://224.0.0.1/x.png", "multicast"),
        ("http://[ff02::1]/x.png", "multicast"),
        ("http://255.255.255.255/x.png", "broadcast"),
        ("http://240.0.0.1/x.png", "reserved"),
        ("http://192.0.2.1/x.png", "documentation"),
        ("http://[fe80::1%25eth0]/x.png", "link-local"),
        ("https://0xa9.0xfe.0xa9.0xfe/x.png", "link-local"),
        ("http://[::ffff:a9fe:a9fe]/x.png", "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/x.png", "link-local"),
    ],
)
def test_private_and_reserved_addresses_are_refused_at_once(url: str, kind: str) -> None:
    """Refused before any connection: none of these is ever connected to."""
    assert kind in str(_refused(url))


def test_a_name_is_judged_on_the_address_it_resolves_to_at_connect_time(
    files: FileServer, fake_dns: list[str]
) -> None:
    """``files.test`` resolves to 127.0.0.1 through the session's own resolver (the address
    then connected to): refused, and the server never sees a GET; one private address among
    those of a name refuses it."""
    port = _port(files)
    error = _refused(f"http://files.test:{port}/good/named.txt")
    assert "127.0.0.1 (from files.test) is a loopback address" in str(error)
    assert "--allow-host files.test" in str(error)
    assert files.hits["good/named.txt"] == 0
    assert fake_dns == ["files.test"]
    assert "10.0.0.1" in str(_refused("http://rebound.example/x.png"))
    assert "::1" in str(_refused("http://mixed.example/x.png"))


def test_an_allowed_host_is_fetched_at_any_port_with_its_subdomains(
    files: FileServer, fake_dns: list[str]
) -> None:
    policy = AddressPolicy(allow_hosts=("files.test",))
    port = _port(files)
    for host in ("files.test", "FILES.test.", "cdn.files.test", "a.b.files.test"):
        url = f"http://{host}:{port}/good/{host}.txt"
        data = asyncio.run(fetch(url, replace(FAST, addresses=policy)))
        assert data == content(f"{host}.txt", 1000)
    # not a suffix of the name, nor another name on the same address
    for host in ("otherfiles.test", "files.test.evil.test"):
        _refused(f"http://{host}:{port}/good/x.txt", policy)
    # an allowed address in another of its spellings is the same address: not refused by the
    # policy (aiohttp itself refuses the numeric spellings that are not dotted quads)
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(f"http://127.1:{port}/good/q.txt"))
    assert caught.value.code == "invalid_url"


def test_allow_private_urls_allows_every_address(files: FileServer, fake_dns: list[str]) -> None:
    everything = replace(FAST, addresses=AddressPolicy(allow_private=True))
    for host in ("127.0.0.1", "files.test", "cdn.files.test"):
        url = f"http://{host}:{_port(files)}/good/{host}.bin"
        assert asyncio.run(fetch(url, everything)) == content(f"{host}.bin", 1000)


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/meta",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/good/r.txt",
        "http://localhost:{port}/good/r.txt",
        "http://127.0.0.2:{port}/good/r.txt",
        "http://files.test:{port}/good/r.txt",  # a name resolving to loopback
    ],
)
def test_a_redirect_to_a_refused_address_is_refused_before_connecting_to_it(
    files: FileServer, fake_dns: list[str], target: str
) -> None:
    """127.0.0.1 is allowed; the file it redirects to is not (another spelling or name of this
    machine is another host): refused, and the target never sees a GET."""
    to = target.format(port=_port(files))
    url = files.url(f"redirect/r.txt?to={to}")
    error = _refused(url, ALLOW_LOOPBACK)
    assert f"(redirected to {public_url(to)})" in str(error)
    assert files.hits["redirect/r.txt"] >= 1
    assert files.hits["good/r.txt"] == 0


def test_a_redirect_to_an_allowed_host_is_followed(files: FileServer, fake_dns: list[str]) -> None:
    """Each hop is judged by itself; the old help desk's credentials are not sent to another
    origin (the file there, behind a login, is then refused)."""
    policy = AddressPolicy(allow_hosts=("127.0.0.1", "files.test"))
    limits = replace(FAST, addresses=policy)
    port = _port(files)
    to = f"http://files.test:{port}/good/s.txt"
    assert asyncio.run(fetch(files.url(f"redirect/s.txt?to={to}"), limits)) == content(
        "s.txt", 1000
    )
    same = files.url("secret/t.txt")
    login = {"headers_for": lambda url: {"Authorization": SECRET_AUTH}}
    assert asyncio.run(fetch(files.url(f"redirect/t.txt?to={same}"), limits, **login)) == content(
        "t.txt", 1000
    )
    other = f"http://files.test:{port}/secret/u.txt"
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(files.url(f"redirect/u.txt?to={other}"), limits, **login))
    assert caught.value.code == "http_401"


def test_a_redirect_to_another_scheme_is_refused(files: FileServer) -> None:
    with pytest.raises(DownloadError) as caught:
        asyncio.run(fetch(files.url("redirect/v.txt?to=file:///etc/passwd")))
    assert caught.value.code == "scheme"
