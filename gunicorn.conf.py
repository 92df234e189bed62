"""gunicorn settings read from the working directory (`gunicorn isg.wsgi` in the project root).

The command line (README.md, deployment) still says what matters: `--preload`, the workers and
the address. This file only adds what a command line cannot: each worker opens its database
connection as it starts, not on its first request (the preloaded master holds none to share).
"""


def post_worker_init(worker):  # noqa: ARG001 - gunicorn's hook signature
    from contextlib import suppress

    from django.db import DatabaseError, connections

    for alias in connections:
        with suppress(DatabaseError):  # the first request connects (and reports it) instead
            connections[alias].ensure_connection()
