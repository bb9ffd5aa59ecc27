"""Re-record the outcomes: `PYTHONPATH=. python3 -m tests.outcomes`."""

from tests.outcomes import record

record()
