"""WSGI entry point for gunicorn: `gunicorn isg.wsgi` (with `--preload`, see README.md)."""

import gc
import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isg.settings")
application = get_wsgi_application()


def _warm() -> None:
    """Do at worker start what a worker's first request would otherwise pay for.

    With `gunicorn --preload` this runs once in the master and every forked worker shares the
    result: WeasyPrint (record PDFs) and matplotlib (report charts) imported, every view module
    imported and the URL map built, every template compiled (the cached loader keeps them),
    and the stored guidance packs parsed (cached by digest, decisions.models.guidance). The
    database connection used for the packs is closed before any fork, so workers share none;
    if the database is not reachable yet, the packs are parsed on first use instead.
    """
    from pathlib import Path

    from django.conf import settings
    from django.db import DatabaseError, connections
    from django.template.loader import get_template
    from django.urls import get_resolver, reverse

    import decisions.pdf  # noqa: F401
    import decisions.reports.charts  # noqa: F401
    from decisions.models import GuidancePack

    get_resolver().url_patterns  # noqa: B018 - importing every view module is the point
    reverse("home")  # builds the resolver's reverse map
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(Path(folder).rglob("*.html")):
            get_template(str(path.relative_to(folder)))
    try:
        for stored in GuidancePack.objects.only("id", "digest", "data"):
            stored.pack  # noqa: B018 - parses and caches it
    except DatabaseError:
        logging.getLogger(__name__).warning("guidance packs not parsed at start: no database")
    finally:
        connections.close_all()


_warm()

# Everything loaded so far lives as long as the process: move it out of the garbage
# collector's sight, so that a forked worker's collections do not walk (and so copy, page by
# page, from the master) the whole preloaded heap on its first requests.
gc.freeze()
