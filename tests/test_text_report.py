"""The terminal report draws any tree a student can make: deep chains and wide bombs, bounded and without recursion."""

from __future__ import annotations

import io

from rich.console import Console

from grader.reports.text import DRAWN_DEPTH, DRAWN_PROCS, process_tree
from grader.trace import parse

from .traces.synthetic import chain, many_children


def _draw(log: str) -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(process_tree(parse(log)))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_chain_of_5000_generations_is_drawn_to_a_bounded_depth() -> None:
    drawn = _draw(chain(5000))
    lines = drawn.splitlines()
    assert len(lines) <= DRAWN_DEPTH + 3, len(lines)
    assert "more processes not drawn" in drawn


def test_a_wide_tree_is_drawn_up_to_its_cap() -> None:
    drawn = _draw(many_children(4 << 20))
    assert len(drawn.splitlines()) <= DRAWN_PROCS + 2
    assert "more processes not drawn" in drawn


def test_a_small_tree_is_drawn_whole() -> None:
    drawn = _draw(chain(3))
    assert "not drawn" not in drawn and len(drawn.splitlines()) == 4
