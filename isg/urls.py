"""Top-level URLs."""

from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    # Signing in, passwords, the session, administration: decisions/accounts/urls.py
    path("", include("decisions.accounts.urls")),
    path(
        "accessibility/",
        TemplateView.as_view(template_name="pages/accessibility.html"),
        name="accessibility",
    ),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
    path("", include("decisions.urls")),
]
