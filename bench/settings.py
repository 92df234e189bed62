"""Production settings plus the bench's URLconf (the app's routes and a bare floor view).

Used only by bench/server.py, which serves the app with gunicorn so that the floor and the
app are measured through the same server, workers and middleware.
"""

from isg.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
