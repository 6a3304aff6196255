"""The sandbox's pages in a real browser (headless Chromium): they load without a console
error, a conversation's threads come in order with their authors and the viewer's times, and a
hostile body neither runs its script nor fetches its remote image."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rehearsal import make_rehearsal
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from importer.sandbox.testing import RunningSandbox, SandboxConfig, running_sandbox


class Tracker(ThreadingHTTPServer):
    """A loopback server that counts what is asked of it (a remote image must never be)."""

    hits: list[str]


class _Count(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, Tracker)
        self.server.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tracker() -> Iterator[Tracker]:
    server = Tracker(("127.0.0.1", 0), _Count)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sandbox(tracker: Tracker) -> Iterator[tuple[RunningSandbox, dict[str, int]]]:
    with running_sandbox(SandboxConfig(mailboxes=[85])) as running:
        ids = make_rehearsal(running.url, f"http://127.0.0.1:{tracker.server_address[1]}")
        yield running, ids


def follow(page: webdriver.Chrome, action: Callable[[], object]) -> None:
    """Do ``action`` (a click, a submit) and wait for the next page to be there."""
    old = page.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(page, 10).until(expected_conditions.staleness_of(old))


def _threads(page: webdriver.Chrome) -> list[tuple[str, str, str, str]]:
    """(kind, author, time shown, UTC title) of each thread, in the page's order."""
    return [
        (
            article.find_element(By.CSS_SELECTOR, ".kind").text,
            article.find_element(By.CSS_SELECTOR, ".author").text,
            article.find_element(By.CSS_SELECTOR, "time").text,
            article.find_element(By.CSS_SELECTOR, "time").get_attribute("title") or "",
        )
        for article in page.find_elements(By.CSS_SELECTOR, "article.thread")
    ]


def test_pages_load_without_console_errors(
    page: webdriver.Chrome, sandbox: tuple[RunningSandbox, dict[str, int]]
) -> None:
    """Mailboxes, a mailbox, a search and each conversation load, styled, with no error."""
    running, ids = sandbox
    page.get(f"{running.url}/")
    follow(page, page.find_element(By.LINK_TEXT, "Mailbox 85").click)
    assert "Mailbox 85" == page.find_element(By.TAG_NAME, "h1").text
    box = page.find_element(By.ID, "q")
    box.send_keys("part")
    follow(page, box.submit)
    found = [a.text for a in page.find_elements(By.CSS_SELECTOR, "table.conversations td a")]
    assert ["A long one (part 2/2)", "A long one (part 1/2)"] == found
    for name in ("printer", "hostile", "part1"):
        page.get(f"{running.url}/conversations/{ids[name]}")
        assert page.find_element(By.TAG_NAME, "h1").text
    follow(page, page.find_element(By.LINK_TEXT, "part 2").click)
    assert page.current_url.endswith(f"/conversations/{ids['part2']}")


def test_threads_in_order_with_authors_and_the_viewers_time(
    page: webdriver.Chrome, sandbox: tuple[RunningSandbox, dict[str, int]]
) -> None:
    """Newest first, then oldest first after the switch; each with its kind and author; the
    time in the browser's zone (UTC+05:30), UTC in its title; the image shown."""
    running, ids = sandbox
    page.get(f"{running.url}/conversations/{ids['printer']}")
    newest = _threads(page)
    assert [
        ("Note", "Sandbox Owner <owner@sandbox.test>"),
        ("Reply", "Sandbox Owner <owner@sandbox.test>"),
        ("Customer message", "Ann Lee <ann@example.com>"),
    ] == [(kind, author) for kind, author, _, _ in newest]
    assert "2024-03-01 12:30:00 UTC" == newest[0][3]
    assert "18:00" in newest[0][2]  # 12:30 UTC is 18:00 in Kolkata
    assert "UTC" not in newest[0][2]
    image = page.find_element(By.CSS_SELECTOR, "img.inline")
    assert "burnt.png" == image.get_attribute("alt")
    assert page.execute_script("return arguments[0].naturalWidth", image) == 1
    note = page.find_element(By.CSS_SELECTOR, "article.thread-note")
    assert "rgba(255, 248, 216, 1)" == note.value_of_css_property("background-color")  # styled
    follow(page, page.find_element(By.LINK_TEXT, "Oldest first").click)
    assert [t[:2] for t in reversed(newest)] == [t[:2] for t in _threads(page)]


def test_a_hostile_body_runs_nothing_and_fetches_nothing(
    page: webdriver.Chrome, sandbox: tuple[RunningSandbox, dict[str, int]], tracker: Tracker
) -> None:
    """The body's script and event handler do not run; its remote image is never asked for;
    its text and the image's place stay."""
    running, ids = sandbox
    page.get(f"{running.url}/conversations/{ids['hostile']}")
    body = page.find_element(By.CSS_SELECTOR, "article.thread .body")
    assert "Hello" in body.text
    assert "[image not loaded: tracking pixel]" in body.text
    assert page.execute_script("return window.pwned === undefined")
    assert "pwned" not in page.title
    assert [] == page.find_elements(By.CSS_SELECTOR, "article.thread .body script")
    assert [] == tracker.hits
