"""Grading on many machines: Celery workers (`grade worker`) take runs from a Redis broker, and `grade batch
--broker` hands them out and stores each result as it arrives. See app.py for the protocol, worker.py for a
worker's side and remote.py for the coordinator's."""
