"""WSGI entry point for gunicorn: `gunicorn isg.wsgi` (with `--preload`, see README.md)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isg.settings")
application = get_wsgi_application()

# Warm up at worker start rather than on a worker's first request: WeasyPrint (record PDFs),
# matplotlib (report charts) and the URLconf with every view take about 1.5 s to import.
# With `gunicorn --preload` this runs once in the master and every forked worker shares it.
# Nothing here opens a database connection, so forked workers share none.
import decisions.pdf  # noqa: E402, F401
import decisions.reports.charts  # noqa: E402, F401

get_resolver().url_patterns  # noqa: B018 - importing every view module is the point
