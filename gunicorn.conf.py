"""gunicorn settings read from the working directory (`gunicorn isg.wsgi` in the project root).

The command line (README.md, deployment) still says what matters: `--preload`, the workers and
the address. This file only adds what a command line cannot: each worker, as it starts, opens
its database connection and serves itself one anonymous request (the sign-in page, which
writes nothing), so that no person's first request pays for what a forked worker does once:
its own connection, first use of the middleware, the ORM and the templates, and the memory
pages it shares with the master until it first touches them.
"""

import io
import sys
from contextlib import suppress


def post_worker_init(worker):
    from django.conf import settings
    from django.db import DatabaseError, connections
    from django.urls import reverse

    for alias in connections:
        with suppress(DatabaseError):  # the first request connects (and reports it) instead
            connections[alias].ensure_connection()
    host = next(
        (h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")),
        "localhost",
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": reverse("login"),
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    with suppress(Exception):  # a warm-up only: a failure here must not stop the worker
        response = worker.wsgi(environ, lambda status, headers, exc_info=None: None)
        for _ in response:
            pass
        getattr(response, "close", lambda: None)()
