"""The public checks API: everything an exercise pack's checks.py may import, and nothing private.

A check is a plain function of the observed `Run` returning a `Verdict` (`ok(...)` or `fail(...)`). An
exercise lists its checks in its exercise.toml, each naming a function of its checks.py or a ready check
of `LIBRARY`; AUTHORING.md is the guide and the reference. Names here are a contract: they keep working
across releases of the grader, whatever moves behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.checks import (
    Check,
    Match,
    Pattern,
    Run,
    Verdict,
    children_reaped,
    describe,
    exit_status,
    exits_zero,
    fail,
    killed_by,
    last_error,
    main_prints,
    mp_helper,
    names,
    nothing_left_running,
    ok,
    pickled_message,
    printed,
    printed_after_exit,
    printed_after_threads_ended,
    process_count,
    thread_count,
    thread_label,
    writer_label,
)
from grader.tree import Exec, Kill, Line, Pipe, PipeWrite, Proc, SignalEvent, Thread, Tree

CheckFn = Callable[[Run], Verdict]

# The ready checks an exercise.toml may name in `use`, built with the table's `with` arguments: the ones
# whose arguments are plain data. The others (exits_zero, killed_by, printed_after_exit, main_prints) take
# functions or patterns, so a checks.py builds them: `child_exit = exits_zero(the_child, what="child", ...)`.
LIBRARY: dict[str, Callable[..., CheckFn]] = {
    "process_count": process_count,
    "children_reaped": children_reaped,
    "nothing_left_running": nothing_left_running,
    "exit_status": exit_status,
}


def library_check(name: str, args: dict[str, Any]) -> CheckFn:
    """The ready check `name` of LIBRARY built with `args`; TypeError names what is wrong with them."""
    return LIBRARY[name](**args)


__all__ = [
    "Check",
    "CheckFn",
    "Exec",
    "Kill",
    "LIBRARY",
    "Line",
    "Match",
    "Pattern",
    "Pipe",
    "PipeWrite",
    "Proc",
    "Run",
    "SignalEvent",
    "Thread",
    "Tree",
    "Verdict",
    "children_reaped",
    "describe",
    "exit_status",
    "exits_zero",
    "fail",
    "killed_by",
    "last_error",
    "library_check",
    "main_prints",
    "mp_helper",
    "names",
    "nothing_left_running",
    "ok",
    "pickled_message",
    "printed",
    "printed_after_exit",
    "printed_after_threads_ended",
    "process_count",
    "thread_count",
    "thread_label",
    "writer_label",
]
