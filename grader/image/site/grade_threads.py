"""Imported by every Python in the runtime image (a .pth line): names each thread for the trace.

When the program imports threading, a Thread's start-up issues prctl(PR_SET_NAME, <its Python name>) in
the new thread, so the traced prctl call tells the grader the name the thread had (Python 3.14 does this
itself). A name is a label the program chooses: the grader shows it and never judges by it. Nothing
happens for a program that never imports threading, and nothing here may stop a thread or the program.
"""

import sys

PR_SET_NAME = 15
COMM_BYTES = 15  # the kernel keeps 15 bytes of a thread's name


def name_threads(threading):
    """Wrap Thread._bootstrap_inner (it runs in the new thread) with a prctl naming that thread."""
    inner = threading.Thread._bootstrap_inner
    prctl = []  # libc's prctl, loaded by the first thread that starts (ctypes costs nothing until then)

    def _bootstrap_inner(self):
        try:
            if not prctl:
                import ctypes

                prctl.append(ctypes.CDLL(None, use_errno=True).prctl)
            prctl[0](PR_SET_NAME, str(self.name).encode("utf-8", "replace")[:COMM_BYTES], 0, 0, 0)
        except Exception:  # a label only
            pass
        inner(self)

    threading.Thread._bootstrap_inner = _bootstrap_inner


class WhenThreadingLoads:
    """A meta-path finder: the real finder loads threading, then its threads get named; it then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "threading":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            try:  # noqa: SIM105 (contextlib is not loaded at start-up: not imported for this)
                name_threads(module)
            except Exception:
                pass

        spec.loader.exec_module = exec_module
        return spec


if "threading" in sys.modules:
    name_threads(sys.modules["threading"])
else:
    sys.meta_path.insert(0, WhenThreadingLoads())
