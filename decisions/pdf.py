"""HTML -> PDF with WeasyPrint, for decision records.

The renderer fetches nothing from outside: `StaticOnlyFetcher` serves only the app's own
static files and refuses file://, http(s):// and everything else, so text a practitioner
typed can never make the server read a local file or call the network
(WeasyPrint advisories GHSA-jf6q-chmf-3h3v, GHSA-983w-rhvv-gwmv).
"""

from __future__ import annotations

import base64
import io
import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import qrcode
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from qrcode.image.svg import SvgPathImage
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from decisions.models import Decision, DecisionRecord, Status
from decisions.snapshot import key_facts
from decisions.verification import verification_code

# A base URL that belongs to no real host: relative links in templates resolve under it.
PDF_BASE_URL = "isg-static:///"
SVG_DATA_URI = "data:image/svg+xml;base64,"


class RefusedFetch(ValueError):
    """A URL the PDF renderer will not fetch."""


def static_base() -> str:
    """Where templates find static files: `isg-static:///static/`."""
    return PDF_BASE_URL + settings.STATIC_URL.lstrip("/")


class StaticOnlyFetcher(URLFetcher):
    """Serve `isg-static:///static/...` from the app's static files; refuse anything else."""

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith(SVG_DATA_URI):
            # An image ISG drew itself (a chart, the verification QR code), carried inline.
            svg = base64.b64decode(url[len(SVG_DATA_URI) :], validate=True)
            return URLFetcherResponse(url, svg, {"Content-Type": "image/svg+xml"})
        prefix = static_base()
        if not url.startswith(prefix):
            raise RefusedFetch(f"PDF renderer refused to fetch {url[:80]!r}")
        # Decode first, so "%2e%2e" cannot smuggle a ".." past the check below.
        relative = unquote(url[len(prefix) :].split("?")[0].split("#")[0])
        if (
            not relative
            or relative.startswith("/")
            or "\\" in relative
            or ".." in PurePosixPath(relative).parts
        ):
            raise RefusedFetch("PDF renderer refused a path outside the static files")
        found = finders.find(relative)
        if not found:
            raise RefusedFetch(f"no static file {relative!r}")
        path = Path(found if isinstance(found, str) else found[0])
        mime, _ = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url, path.read_bytes(), {"Content-Type": mime or "application/octet-stream"}
        )


def render_pdf(template: str, context: dict, *, title: str) -> bytes:
    html = render_to_string(template, {**context, "pdf_title": title})
    document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticOnlyFetcher())
    return document.write_pdf()


# Steps whose answers run longer than this may break across pages; shorter ones are kept
# whole. About a third of an A4 page of answer text.
LONG_STEP_CHARS = 900


def _printable_steps(snapshot: dict) -> list[dict]:
    """The snapshot's steps, each marked `long` when keeping it on one page would waste one."""
    return [
        {**step, "long": sum(len(f["display"]) for f in step["fields"]) > LONG_STEP_CHARS}
        for step in snapshot["steps"]
    ]


def qr_code(text: str) -> str:
    """`text` as a QR code, an SVG data URI for an <img> (drawn here: nothing is fetched)."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return SVG_DATA_URI + base64.b64encode(buffer.getvalue()).decode("ascii")


def _sources(snapshot: dict) -> list[dict]:
    """The record's citations grouped by source document: each section once, with the numbers
    of the questions (and "outcome") that rest on it. Printed as the appendix, so the answers
    are not interrupted by the same citations again and again."""
    documents: dict[str, dict[str, list[str]]] = {}
    cited = [
        (str(number), c)
        for number, step in enumerate(snapshot["steps"], start=1)
        for c in step.get("citations", [])
    ]
    cited += [("outcome", c) for c in (snapshot.get("outcome") or {}).get("citations", [])]
    for where, c in cited:
        sections = documents.setdefault(c["title"], {})
        places = sections.setdefault(c["section"], [])
        if where not in places:
            places.append(where)
    return [
        {"title": title, "sections": [{"section": k, "where": v} for k, v in sections.items()]}
        for title, sections in documents.items()
    ]


def render_record(decision: Decision, record: DecisionRecord) -> bytes:
    code = verification_code(record.content_digest())
    verify_url = f"{settings.ISG_BASE_URL.rstrip('/')}{reverse('verify')}?code={code}"
    context = {
        "decision": decision,
        "record": record,
        "snapshot": record.snapshot,
        "steps": _printable_steps(record.snapshot),
        "facts": key_facts(record.snapshot),
        "sources": _sources(record.snapshot),
        "verification_code": code,
        "verify_url": verify_url,
        "qr_code": qr_code(verify_url),
        "generated_at": timezone.now(),
        "static_base": static_base(),
        "Status": Status,
        # Sign-off of every round (decisions.signoff), oldest first, for the approval block.
        "approvals": list(decision.approvals.select_related("by", "record").order_by("at")),
    }
    title = f"Decision record {decision.display_reference}"
    return render_pdf("pdf/record.html", context, title=title)
