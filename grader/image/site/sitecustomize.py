"""Tests only: force a multiprocessing start method (GRADE_START_METHOD) before the submission runs."""

import os

_method = os.environ.get("GRADE_START_METHOD")
if _method:
    import multiprocessing

    multiprocessing.set_start_method(_method, force=True)
    _set = multiprocessing.set_start_method

    def _keep(method, force=False):  # the submission may pick a method too: the test's choice wins
        return None

    multiprocessing.set_start_method = _keep
