"""Whatever arrives at the single sign-on pages, ISG answers without a server error and signs
nobody in (hypothesis)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.models import IdentityProvider, Role
from tests.conftest import client_for
from tests.factories import UserFactory

TEXT = st.text(max_size=300)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.django_db
@FUZZ
@given(email=TEXT, next_url=TEXT)
def test_the_email_page_never_fails(email, next_url):
    response = Client().post(reverse("sso_start"), {"email": email, "next": next_url})
    assert response.status_code in (200, 400)


@pytest.mark.django_db
@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "session_state"]), TEXT
    )
)
def test_the_callback_never_fails_and_signs_nobody_in(query):
    response = Client().get(reverse("sso_callback"), query)
    assert response.status_code in (400, 403)
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            n: TEXT
            for n in (
                "name",
                "client_id",
                "client_secret_env",
                "email_domains",
                "scopes",
                "group_claim",
                "role_mapping",
                "jwks_uri",
            )
        },
    )
)
def test_the_administration_form_never_fails(fields, org, other_org):
    admin = UserFactory(
        organisation=other_org, role=Role.ADMIN, partnership_wide=True, email="padmin@example.org"
    )
    # An http:// issuer is refused before any discovery request is made.
    data = {**fields, "issuer": "http://login.example.org/"}
    response = client_for(admin).post(reverse("admin_sso_edit", args=[org.slug]), data)
    assert response.status_code == 400
    assert not IdentityProvider.objects.exists()
