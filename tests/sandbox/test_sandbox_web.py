"""The sandbox's read-only pages, read over HTTP without a browser: what each page holds, the
order of threads, search and paging, split parts, attachments, sanitised bodies, and who may
see the pages (Host, loopback, the app secret). tests/browser/ looks at them in Chromium."""

from __future__ import annotations

import base64
import re
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request
from sandbox_helpers import Api, MakeApi, conversation

from importer.sandbox.web import guard, queries
from importer.sandbox.web.sanitise import clean_body


async def page(api: Api, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    async with api.session.get(path, headers=headers or None, allow_redirects=False) as resp:
        return resp.status, dict(resp.headers), await resp.text()


def authors(html: str) -> list[str]:
    """``kind: author name`` of each thread, in the page's order."""
    found = re.findall(r'<span class="kind">([^<]+)</span> <span class="author">([^<]+)', html)
    return [f"{kind}: {name.strip()}" for kind, name in found]


async def test_pages_list_mailboxes_and_carry_the_policy_without_cors(api: Api) -> None:
    """``/`` lists both mailboxes with their counts, under the CSP, with no CORS header."""
    await api.create_id(conversation())
    status, headers, html = await page(api, "/", Origin="http://evil.test")
    assert 200 == status
    assert "default-src 'self'; img-src 'self' data:" in headers["Content-Security-Policy"]
    assert not [h for h in headers if h.lower().startswith("access-control-")]
    assert '<a href="/mailboxes/85">Mailbox 85</a>' in html
    assert re.search(r'/mailboxes/85">Mailbox 85</a></td><td>[^<]*</td><td class="num">1<', html)


async def test_conversation_shows_threads_newest_first_then_oldest_first(api: Api) -> None:
    """Threads newest first with their kind and author; ``?order=oldest`` turns them round."""
    cid = await api.create_id(conversation())
    _, _, newest = await page(api, f"/conversations/{cid}")
    _, _, oldest = await page(api, f"/conversations/{cid}?order=oldest")
    expected = [
        "Note: Sandbox Owner",
        "Reply: Sandbox Owner",
        "Customer message: Ann Lee",
    ]
    assert expected == authors(newest)
    assert expected[::-1] == authors(oldest)
    assert "Source ID</dt><dd>ZD-4521" in newest
    assert '<span class="imported" title="imported: true">imported</span>' in newest


async def test_search_by_subject_or_customer_email_and_pages_of_25(api: Api) -> None:
    """The list searches subjects and customer emails; 30 conversations make two pages."""
    for n in range(30):
        email = f"person{n}@example.com"
        threads = [dict(conversation()["threads"][0], customer={"email": email})]
        await api.create_id(
            conversation(subject=f"Ticket {n}", customer={"email": email}, threads=threads)
        )
    _, _, first = await page(api, "/mailboxes/85")
    _, _, second = await page(api, "/mailboxes/85?page=2")
    assert 25 == first.count('<tr><td class="num">')
    assert 5 == second.count('<tr><td class="num">')
    assert "page 2 of 2" in second
    _, _, by_email = await page(api, "/mailboxes/85?q=PERSON7@")
    assert ["Ticket 7"] == re.findall(r'/conversations/\d+">([^<]+)</a>', by_email)
    _, _, by_subject = await page(api, "/mailboxes/85?q=ticket 2")
    assert {"Ticket 2", "Ticket 20", "Ticket 21", "Ticket 22", "Ticket 23", "Ticket 24",
            "Ticket 25", "Ticket 26", "Ticket 27", "Ticket 28", "Ticket 29"} == set(
        re.findall(r'/conversations/\d+">([^<]+)</a>', by_subject)
    )  # fmt: skip


async def test_parts_of_a_split_conversation_link_each_other(api: Api) -> None:
    """Parts sharing the source id field are linked in order; another export's parts with the
    same subject are not."""
    ids = [await api.create_id(conversation(subject=f"Long (part {i}/3)")) for i in (1, 2, 3)]
    other = await api.create_id(
        conversation(subject="Long (part 1/3)", fields=[{"id": 1, "value": "OTHER"}])
    )
    _, _, html = await page(api, f"/conversations/{ids[1]}")
    assert f'<a href="/conversations/{ids[0]}">part 1</a>' in html
    assert '<span aria-current="page">part 2</span>' in html
    assert f'<a href="/conversations/{ids[2]}">part 3</a>' in html
    assert f'/conversations/{other}"' not in html


async def test_attachments_listed_images_inline_other_files_downloaded(api: Api) -> None:
    """An image is shown inline and downloadable; an HTML file is only ever a download."""
    png = b"\x89PNG\r\n\x1a\nfake"
    thread = dict(
        conversation()["threads"][0],
        attachments=[
            {"fileName": "shot.png", "mimeType": "image/png",
             "data": base64.b64encode(png).decode()},
            {"fileName": "evil.html", "mimeType": "text/html",
             "data": base64.b64encode(b"<script>alert(1)</script>").decode()},
        ],
    )  # fmt: skip
    cid = await api.create_id(conversation(threads=[thread]))
    _, _, html = await page(api, f"/conversations/{cid}")
    links = re.findall(r'href="(/conversations/\d+/attachments/\d+)\?download=1"', html)
    assert 2 == len(links)
    assert f'<img class="inline" src="{links[0]}" alt="shot.png">' in html
    async with api.session.get(links[0]) as resp:
        assert (200, "image/png") == (resp.status, resp.headers["Content-Type"])
        assert png == await resp.read()
    async with api.session.get(links[1]) as resp:
        assert "application/octet-stream" == resp.headers["Content-Type"]
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        assert b"<script>alert(1)</script>" == await resp.read()


async def test_a_body_loses_scripts_handlers_and_remote_images(api: Api) -> None:
    """What a body may not do is gone from the page; its text stays."""
    body = (
        '<p onclick="steal()">Hello<script>window.pwned=1</script>'
        '<img src="http://tracker.test/p.gif" alt="logo"><a href="javascript:x()">x</a></p>'
    )
    thread = dict(conversation()["threads"][0], text=body)
    cid = await api.create_id(conversation(threads=[thread]))
    _, _, html = await page(api, f"/conversations/{cid}")
    assert "<p>Hello" in html
    for gone in ("pwned", "onclick", "tracker.test", "javascript:"):
        assert gone not in html
    assert "[image not loaded: logo]" in html


def test_clean_body_keeps_inline_images_and_formatting() -> None:
    """A data URL of a raster image and plain formatting survive; an SVG data URL does not."""
    png = "data:image/png;base64,iVBORw0KGgo="
    svg = "data:image/svg+xml;base64,PHN2Zz4="
    cleaned = clean_body(f'<b>bold</b><img src="{png}" alt="a"><img src="{svg}" alt="b">')
    assert f'<b>bold</b><img src="{png}" alt="a">' in cleaned
    assert "svg" not in cleaned
    assert f'<img alt="inline image" src="{png}">' == clean_body(f'<img src="{png}">')


async def test_pages_answer_only_their_own_host(api: Api) -> None:
    """A page answers ``127.0.0.1:PORT`` and ``localhost:PORT``, not another name (DNS
    rebinding) nor another port; the API itself still wants its token."""
    port = api.running.port
    assert 200 == (await page(api, "/", Host=f"localhost:{port}"))[0]
    assert 421 == (await page(api, "/", Host=f"rebind.evil.test:{port}"))[0]
    assert 421 == (await page(api, "/", Host=f"127.0.0.1:{port + 1}"))[0]
    async with api.session.get("/v2/mailboxes") as resp:
        assert 401 == resp.status


def _request_on(address: str, headers: dict[str, str]) -> Any:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (address, 8765) if name == "sockname" else default
    )
    return make_mocked_request("GET", "/", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("credentials", "authorization", "expected"),
    [
        (None, None, 403),
        (guard.Credentials("app", "s3cret"), None, 401),
        (guard.Credentials("app", "s3cret"), "app:wrong", 401),
        (guard.Credentials("app", "s3cret"), "app:s3cret", None),
    ],
)
def test_pages_on_another_address_need_the_given_secret(
    credentials: guard.Credentials | None, authorization: str | None, expected: int | None
) -> None:
    """Bound to an address that is not loopback, pages are off without a given app secret,
    and ask for the app id and secret with it."""
    headers = {"Host": "10.1.2.3:8765"}
    if authorization:
        headers["Authorization"] = "Basic " + base64.b64encode(authorization.encode()).decode()
    refused = guard.refusal(_request_on("10.1.2.3", headers), credentials)
    assert expected == (None if refused is None else refused.status)


async def test_web_link_of_the_api_opens_the_page(make_api: MakeApi) -> None:
    """A conversation's ``_links.web`` leads to its page."""
    api = await make_api(mailboxes=[85])
    cid = await api.create_id(conversation())
    reply = await api.get(f"/v2/conversations/{cid}")
    web_link = reply.body["_links"]["web"]["href"]
    async with aiohttp.ClientSession() as session, session.get(web_link) as resp:
        assert 200 == resp.status
        assert f"/conversations/{cid}" == resp.url.path


def test_split_parts_empty_for_a_whole_conversation() -> None:
    """A subject without `` (part i/k)`` has no parts to link."""
    store = mock.Mock()
    assert [] == queries.split_parts(store, {"subject": "Hello", "mailbox_id": 1})


async def test_a_deleted_conversation_has_no_page_nor_files(api: Api) -> None:
    """After ``DELETE``, its page and its attachments answer 404, and the list leaves it out."""
    thread = dict(
        conversation()["threads"][0],
        attachments=[{"fileName": "a.txt", "mimeType": "text/plain",
                      "data": base64.b64encode(b"hello").decode()}],
    )  # fmt: skip
    cid = await api.create_id(conversation(threads=[thread]))
    _, _, html = await page(api, f"/conversations/{cid}")
    (link,) = re.findall(r'href="(/conversations/\d+/attachments/\d+)\?download=1"', html)
    assert 204 == (await api.call("DELETE", f"/v2/conversations/{cid}")).status
    assert 404 == (await page(api, f"/conversations/{cid}"))[0]
    assert 404 == (await page(api, link))[0]
    assert "0 conversations" in (await page(api, "/mailboxes/85"))[2]
