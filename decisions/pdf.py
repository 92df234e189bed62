"""HTML -> PDF with WeasyPrint, for decision records.

The renderer fetches nothing from outside: `StaticOnlyFetcher` serves only the app's own
static files and refuses file://, http(s):// and everything else, so text a practitioner
typed can never make the server read a local file or call the network
(WeasyPrint advisories GHSA-jf6q-chmf-3h3v, GHSA-983w-rhvv-gwmv).
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
import re
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import qrcode
import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import IntegrityError, router, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django_tasks import task
from qrcode.image.svg import SvgPathImage
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from decisions.models import Decision, DecisionRecord, RenderedPdf, Status
from decisions.snapshot import key_facts, sources_by_document
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


def _record_html(decision: Decision, record: DecisionRecord, *, rendered_at: str) -> str:
    code = verification_code(record.content_digest())
    verify_url = f"{settings.ISG_BASE_URL.rstrip('/')}{reverse('verify')}?code={code}"
    context = {
        "decision": decision,
        "record": record,
        "snapshot": record.snapshot,
        "steps": _printable_steps(record.snapshot),
        "facts": key_facts(record.snapshot),
        "sources": sources_by_document(record.snapshot),
        "verification_code": code,
        "verify_url": verify_url,
        "qr_code": qr_code(verify_url),
        "rendered_at": rendered_at,
        "static_base": static_base(),
        "Status": Status,
        # Sign-off of every round (decisions.signoff), oldest first, for the approval block.
        "approvals": list(decision.approvals.select_related("by", "record").order_by("at")),
        "pdf_title": f"Decision record {decision.display_reference}",
    }
    return render_to_string("pdf/record.html", context)


def _when(moment: datetime) -> str:
    """The footer's time, in UK time like every other time in the record."""
    return date_format(timezone.localtime(moment), "j F Y, H:i")


def _write_pdf(html: str) -> bytes:
    document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticOnlyFetcher())
    return document.write_pdf()


def render_record(decision: Decision, record: DecisionRecord) -> bytes:
    """The record as a PDF, rendered now (record_pdf_bytes serves a stored one instead)."""
    return _write_pdf(_record_html(decision, record, rendered_at=_when(timezone.now())))


# Where the render time goes in the HTML: left out of the digest, filled in before WeasyPrint.
RENDERED_AT = "\x00rendered-at\x00"
STYLESHEET = re.compile(r'href="' + re.escape(PDF_BASE_URL) + r'[^"]*?\.css"')


def source_digest(html: str) -> str:
    """SHA-256 of everything the PDF is made from: the HTML (the template applied to the record
    and the decision as it now stands, the render time left out), the stylesheets it links,
    and the WeasyPrint version. Any change to them gives a new digest, so a new PDF."""
    digest = hashlib.sha256(html.encode())
    for link in sorted(set(STYLESHEET.findall(html))):
        url = link[len('href="') : -1]
        digest.update(b"\0" + url.encode() + b"\0")
        digest.update(StaticOnlyFetcher().fetch(url).read())
    digest.update(b"\0weasyprint " + weasyprint.__version__.encode())
    return digest.hexdigest()


def record_pdf_bytes(decision: Decision, record: DecisionRecord) -> bytes:
    """The record's PDF: the one stored for what it shows now, else rendered once and stored.

    A submitted record never changes, but its PDF also shows the decision's status and
    sign-off (approved, returned, superseded...), the people's names and the organisation's;
    those are in the HTML the digest is taken of, so a change renders a new PDF while the old
    row stays. The footer says when the stored PDF was rendered, which is then true for
    every download of it.
    """
    html = _record_html(decision, record, rendered_at=RENDERED_AT)
    digest = source_digest(html)
    stored = RenderedPdf.objects.filter(record=record, source_digest=digest).first()
    if stored is not None:
        return bytes(stored.content)
    now = timezone.now()
    content = _write_pdf(html.replace(RENDERED_AT, _when(now)))
    try:
        with transaction.atomic():
            RenderedPdf.objects.create(
                record=record, source_digest=digest, content=content, created_at=now
            )
    except IntegrityError:
        # Rendered at the same moment by another request: serve the one stored first (read
        # where it was written: a read replica may not have it yet).
        stored_first = RenderedPdf.objects.using(router.db_for_write(RenderedPdf))
        return bytes(stored_first.get(record=record, source_digest=digest).content)
    return content


@task()
def render_record_pdf(record_id: int) -> str:
    """Render and store a record's PDF in the background, so that its first download is
    already a stored one. Enqueued after a submission and after a sign-off (which changes what
    the PDF shows); a download before the worker gets to it renders it itself, once."""
    record = DecisionRecord.objects.select_related("decision").filter(pk=record_id).first()
    if record is None:
        return "no such record"
    decision = (
        Decision.objects.select_related("organisation", "created_by", "pack", "amends")
        .defer("pack__data")
        .get(pk=record.decision_id)
    )
    record_pdf_bytes(decision, record)
    return "stored"


def render_after_commit(record: DecisionRecord) -> None:
    """Queue the record's PDF once the transaction commits (robust: a queue outage must not
    fail the submission; the PDF is then rendered at its first download)."""
    record_id = record.pk
    transaction.on_commit(lambda: render_record_pdf.enqueue(record_id), robust=True)
