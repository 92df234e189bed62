"""decisions.headers: responses with personal data are not stored by caches, browser features
are denied, and request bodies over the limit (or carrying files) are refused unread."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from decisions.headers import PERMISSIONS_POLICY, SecurityHeadersMiddleware, kept_privately
from decisions.models import AuditEvent, Decision
from tests.conftest import client_for
from tests.factories import answered_decision

TEN_MB = 10 * 1024 * 1024


class CountingInput(io.BytesIO):
    """A request body that counts how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def not_stored(response: HttpResponse) -> bool:
    return response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"


# ---- Cache-Control ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_in_page_is_not_stored(as_practitioner):
    response = as_practitioner.get(reverse("my_decisions"))
    assert response.status_code == 200
    assert not_stored(response)


@pytest.mark.django_db
def test_a_signed_in_error_page_is_not_stored(as_practitioner):
    response = as_practitioner.get("/no-such-page/")
    assert response.status_code == 404
    assert not_stored(response)


@pytest.mark.django_db
def test_the_record_pdf_is_not_stored(practitioner, as_practitioner):
    decision = answered_decision(practitioner, "do_not_share", submit=True)
    response = as_practitioner.get(reverse("record_pdf", args=[decision.public_id]))
    assert response["Content-Disposition"].startswith("attachment")
    assert not_stored(response)


@pytest.mark.django_db
def test_the_audit_csv_is_not_stored(lead):
    response = client_for(lead).get(reverse("review_audit_export"))
    assert response["Content-Disposition"].startswith("attachment")
    assert not_stored(response)


def test_a_download_is_not_stored_whoever_asks():
    def download(request: HttpRequest) -> HttpResponse:
        response = HttpResponse(b"a,b\n", content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="x.csv"'
        response["Cache-Control"] = "max-age=3600"
        return response

    request = RequestFactory().get("/download")
    request.user = AnonymousUser()
    assert not_stored(SecurityHeadersMiddleware(download)(request))


@pytest.mark.django_db
def test_a_response_marked_kept_privately_may_be_kept_by_the_browser_alone(practitioner):
    def chart(request: HttpRequest) -> HttpResponse:
        return kept_privately(HttpResponse(b"<svg/>", content_type="image/svg+xml"), 60)

    request = RequestFactory().get("/chart")
    request.user = practitioner
    response = SecurityHeadersMiddleware(chart)(request)
    assert response["Cache-Control"] == "private, max-age=60, immutable"
    assert "Pragma" not in response


@pytest.mark.django_db
def test_a_public_page_for_a_signed_out_visitor_is_left_to_the_browser(client):
    response = client.get(reverse("privacy"))
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_static_files_keep_their_long_cache_for_a_signed_in_user(as_practitioner):
    response = as_practitioner.get("/static/css/isg.css")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    assert "no-store" not in response["Cache-Control"]
    assert "Pragma" not in response
    response.close()


# ---- Permissions-Policy -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "feature",
    ["camera", "microphone", "geolocation", "payment", "usb", "interest-cohort",
     "browsing-topics"],
)  # fmt: skip
def test_every_page_denies_browser_features_isg_never_uses(client, feature):
    response = client.get(reverse("login"))
    assert f"{feature}=()" in [part.strip() for part in response["Permissions-Policy"].split(",")]


@pytest.mark.django_db
def test_signed_in_pages_and_errors_carry_the_permissions_policy(as_practitioner):
    for url in (reverse("my_decisions"), "/no-such-page/"):
        assert as_practitioner.get(url)["Permissions-Policy"] == PERMISSIONS_POLICY


@pytest.mark.django_db
def test_pages_name_their_charset_and_say_nothing_of_the_server_or_other_origins(client):
    response = client.get(reverse("login"), HTTP_ORIGIN="https://evil.example")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    for header in ("Server", "X-Powered-By", "Access-Control-Allow-Origin"):
        assert header not in response


# ---- Request bodies -----------------------------------------------------------------------


def ten_mb_multipart() -> bytes:
    return encode_multipart(BOUNDARY, {"file": io.BytesIO(b"x" * TEN_MB), "username": "a"})


@pytest.mark.django_db
def test_a_10_mb_multipart_post_is_refused_before_it_is_read(client):
    body = ten_mb_multipart()
    events = AuditEvent.objects.count()
    stream = CountingInput(body)
    response = client.generic(
        "POST",
        reverse("login"),
        body,
        content_type=MULTIPART_CONTENT,
        **{"wsgi.input": stream},
    )
    assert response.status_code == 413
    assert stream.bytes_read == 0
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_the_refusal_is_a_plain_page_saying_nothing_was_saved(client):
    response = client.generic(
        "POST", reverse("login"), ten_mb_multipart(), content_type=MULTIPART_CONTENT
    )
    page = response.content.decode()
    assert '<h1 class="govuk-heading-l">What you sent is too large</h1>' in page
    assert "Nothing you sent has been saved" in page
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


@pytest.mark.django_db
def test_a_signed_in_post_over_the_limit_saves_nothing(as_practitioner, settings):
    body = urlencode({"padding": "x" * (settings.ISG_MAX_POST_BYTES + 1)})
    response = as_practitioner.post(
        reverse("start"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_a_small_form_with_a_file_is_refused(as_practitioner):
    response = as_practitioner.post(reverse("start"), {"file": io.BytesIO(b"%PDF-1.7")})
    assert response.status_code == 415
    assert "ISG does not accept files" in response.content.decode()
    assert not Decision.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_normal_post_is_unaffected(as_practitioner, encoding):
    if encoding == "multipart":
        response = as_practitioner.post(reverse("start"), {"go": "1"})
    else:
        response = as_practitioner.post(
            reverse("start"), "go=1", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 302
    assert Decision.objects.count() == 1


@pytest.mark.django_db
def test_a_content_length_that_is_not_a_number_is_refused(client):
    response = client.generic("POST", reverse("login"), b"a=1", CONTENT_LENGTH="12abc")
    assert response.status_code == 400


def chunked(body: bytes, *, terminated: bool = True) -> HttpRequest:
    """A POST sent with Transfer-Encoding: chunked, so without a Content-Length."""
    stream = CountingInput(body)
    extra = {
        "wsgi.input": stream,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }
    if terminated:
        extra["wsgi.input_terminated"] = True
    request = RequestFactory().generic("POST", "/form", **extra)
    assert "CONTENT_LENGTH" not in request.META
    request.user = AnonymousUser()
    request.stream_for_test = stream
    return request


def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.POST.get("answer", ""))


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_refused_after_the_limit_is_read(settings):
    request = chunked(b"answer=" + b"x" * TEN_MB)
    response = SecurityHeadersMiddleware(echo)(request)
    assert response.status_code == 413
    assert request.stream_for_test.bytes_read == settings.ISG_MAX_POST_BYTES + 1


def test_a_chunked_body_within_the_limit_reaches_the_form():
    response = SecurityHeadersMiddleware(echo)(chunked(b"answer=yes"))
    assert (response.status_code, response.content) == (200, b"yes")


@pytest.mark.django_db
def test_a_chunked_body_the_server_does_not_end_is_refused_unread():
    request = chunked(b"answer=yes", terminated=False)
    response = SecurityHeadersMiddleware(echo)(request)
    assert response.status_code == 411
    assert request.stream_for_test.bytes_read == 0
