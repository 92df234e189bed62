"""Routes for single sign-on and its administration (included by decisions/urls.py)."""

from django.urls import path

from decisions.sso import administration, views

urlpatterns = [
    path("accounts/sso/", views.start, name="sso_start"),
    path("accounts/sso/<uuid:public_id>/go/", views.Authenticate.as_view(), name="sso_go"),
    path("accounts/sso/callback/", views.Callback.as_view(), name="sso_callback"),
    path("accounts/sso/confirm/", views.Confirm.as_view(), name="sso_confirm"),
    path("accounts/sso/sign-out/", views.sign_out, name="sso_sign_out"),
    path(
        "administration/organisations/<slug:slug>/single-sign-on/",
        administration.provider,
        name="admin_sso",
    ),
    path(
        "administration/organisations/<slug:slug>/single-sign-on/edit/",
        administration.provider_edit,
        name="admin_sso_edit",
    ),
    path(
        "administration/organisations/<slug:slug>/single-sign-on/switch-off/",
        administration.provider_status,
        {"enabled": False},
        name="admin_sso_disable",
    ),
    path(
        "administration/organisations/<slug:slug>/single-sign-on/switch-on/",
        administration.provider_status,
        {"enabled": True},
        name="admin_sso_enable",
    ),
    # sec: an administrator unbinds an account from its subject at the provider
    path(
        "administration/people/<int:pk>/single-sign-on/<int:identity>/remove/",
        administration.identity_remove,
        name="admin_sso_identity_remove",
    ),
]
