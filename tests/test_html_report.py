"""The HTML class report renders in a real headless Chromium, charts included, with nothing fetched."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.reports.gradebook import Book
from grader.reports.html import page
from grader.store import Store

from .test_exports import STATUSES, store  # noqa: F401 — the fixture: a small class in a store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1600",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "chromium is missing: `apt-get install chromium` (.ci/setup.sh installs it)"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def html_file(store: Store, tmp_path: Path) -> tuple[Path, Book]:  # noqa: F811
    book = Book.of(store.rows())
    path = tmp_path / "class.html"
    path.write_text(page(book), encoding="utf-8")
    return path, book


def test_page_is_self_contained(html_file: tuple[Path, Book]) -> None:
    text = html_file[0].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "@import" not in text


def test_charts_render_in_chromium(html_file: tuple[Path, Book], tmp_path: Path) -> None:
    path, book = html_file
    done = _chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<h1>Class report</h1>" in dom
    # one histogram per exercise, one bar per score band, bar counts add up to the class
    hists = re.findall(r'<svg class="chart histogram" data-exercise="([^"]+)"(.*?)</svg>', dom, re.S)
    assert [h[0] for h in hists] == [e.id for e in book.exercises]
    for ex_id, body in hists:
        counts = [int(c) for c in re.findall(r'<rect class="bar"[^>]*data-count="(\d+)"', body)]
        assert len(counts) == 10 and sum(counts) == len(STATUSES), (ex_id, counts)
        assert re.search(r'<rect class="bar"[^>]*height="1[0-9]{2}"', body)  # the tallest band is drawn tall
    # the status bars: each status of the class appears as a coloured segment
    statuses = set(re.findall(r'data-status="(\w+)"', dom))
    assert statuses == set(STATUSES.values())
    assert '<svg class="chart failing"' in dom and "dave" in dom


def test_screenshot_is_drawn(html_file: tuple[Path, Book], tmp_path: Path) -> None:
    shot = tmp_path / "class.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", html_file[0].as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page compresses to a few KiB
