"""HTTP headers in and out: request bodies refused by their headers before they are read, and
the caching and browser-feature headers every response carries.

One middleware, placed just after WhiteNoise: static files are answered before it (so they
keep WhiteNoise's long cache), and it sees every request before anything reads a body
(CsrfViewMiddleware reads the form in process_view, which runs after every middleware's
__call__).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

# Browser features ISG never uses, denied to the page and anything it could embed. Only
# features Chromium recognises are named: an unknown one costs a console warning per page.
# (WebAuthn's publickey-credentials-* are left to their default, same origin, so sign-in
# can use security keys.) interest-cohort and browsing-topics opt out of ad-interest APIs.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "clipboard-read",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "interest-cohort",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "otp-credentials",
    "payment",
    "picture-in-picture",
    "screen-wake-lock",
    "serial",
    "usb",
    "window-management",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)

# Why a body was refused: (status, what the page says). The 413 page words each one.
TOO_LARGE, FILES, NO_LENGTH, MALFORMED = "too_large", "files", "no_length", "malformed"
STATUSES = {TOO_LARGE: 413, FILES: 415, NO_LENGTH: 411, MALFORMED: 400}

Handler = Callable[[HttpRequest], HttpResponse]


def is_download(response: HttpResponse) -> bool:
    return response.get("Content-Disposition", "").lower().startswith("attachment")


def signed_in(request: HttpRequest) -> bool:
    # A request refused before AuthenticationMiddleware ran has no user: treat as signed out.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def body_refusal(request: HttpRequest) -> str:
    """Why this request's body is refused ("" if it is not), decided from its headers.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count the file parts of a multipart body,
    so the size is checked here from Content-Length, before a byte is read.
    """
    limit: int = settings.ISG_MAX_POST_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if length:
        if not length.isdigit():
            return MALFORMED
        return TOO_LARGE if int(length) > limit else ""
    if "HTTP_TRANSFER_ENCODING" in request.META:
        return _read_capped(request, limit)
    return ""


def _read_capped(request: HttpRequest, limit: int) -> str:
    """A body sent without Content-Length (chunked): read at most `limit` + 1 bytes.

    Django's WSGI request reads no more than Content-Length, so without one it would see an
    empty body. Only a server that ends wsgi.input at the body's end (gunicorn does) can be
    read safely; anything else is refused (411), as a read could block.
    """
    if not request.META.get("wsgi.input_terminated"):
        return NO_LENGTH
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return TOO_LARGE
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[attr-defined]
    return ""


def files_refusal(request: HttpRequest) -> str:
    """Refuse a multipart form with file parts: ISG takes no uploads (settings refuses any
    file part: DATA_UPLOAD_MAX_NUMBER_FILES = 0).

    The form is parsed here, once (Content-Length has already bounded it), so the refusal is a
    clear page instead of an error half way through CSRF checking. Only POST bodies are parsed
    by Django at all. Plain multipart fields stay allowed: the Django test client and some
    tools send forms that way.
    """
    if request.method != "POST" or request.content_type != "multipart/form-data":
        return ""
    try:
        request.POST  # noqa: B018 - parses the body now; the result is cached on the request
    except TooManyFilesSent:
        return FILES
    except (MultiPartParserError, SuspiciousOperation):
        return MALFORMED
    return ""


def kept_privately(response: HttpResponse, seconds: int) -> HttpResponse:
    """Let the user's own browser (never a shared cache) keep a signed-in response unchanged
    for `seconds`: for content with no personal data whose address changes whenever it
    would (a report chart, named by the digest of its numbers)."""
    response["Cache-Control"] = f"private, max-age={seconds}, immutable"
    response.isg_kept_privately = True  # type: ignore[attr-defined]
    return response


def refused(request: HttpRequest, problem: str) -> HttpResponse:
    context = {"problem": problem, "limit_kb": settings.ISG_MAX_POST_BYTES // 1000}
    return render(request, "413.html", context, status=STATUSES[problem])


class SecurityHeadersMiddleware:
    """Refuses oversized or file-carrying bodies; marks private responses as not to be stored."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = body_refusal(request) or files_refusal(request)
        response = refused(request, problem) if problem else self.get_response(request)
        # Pages for a signed-in user and downloads hold personal data: no cache (the
        # browser's, a proxy's) may keep them, so Back after signing out shows nothing.
        # Except what a view marked kept_privately (a report chart: counts, no personal data).
        kept = getattr(response, "isg_kept_privately", False)
        if (signed_in(request) or is_download(response)) and not kept:
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
