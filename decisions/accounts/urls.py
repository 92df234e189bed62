"""Routes for signing in, passwords, the session and administration (included by isg/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from decisions.accounts import administration, legal_holds, mfa_views, passkey_views, views

urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", views.ChangePasswordView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", views.ResetRequestView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/session/", views.session_status, name="session_status"),
    path("accounts/confirm-password/", views.confirm_password, name="confirm_password"),
    path("accounts/security-code/set-up/", mfa_views.mfa_setup, name="mfa_setup"),
    path("accounts/security-code/", mfa_views.mfa_verify, name="mfa_verify"),
]

# Passkeys (django-otp-webauthn's ceremonies, audited: decisions/accounts/passkey_views.py).
# The namespace is the library's, which its template tags reverse.
webauthn_patterns = [
    path(
        "registration/begin/",
        passkey_views.RegistrationBegin.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        passkey_views.RegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        passkey_views.AuthenticationBegin.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        passkey_views.AuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]
urlpatterns += [
    path("accounts/passkeys/", include((webauthn_patterns, "otp_webauthn"))),
    path(
        "accounts/security-code/passkey-added/",
        passkey_views.passkey_added,
        name="mfa_passkey_added",
    ),
    path("accounts/security/", passkey_views.account_security, name="account_security"),
    path(
        "accounts/security/passkeys/<int:pk>/rename/",
        passkey_views.passkey_rename,
        name="passkey_rename",
    ),
    path(
        "accounts/security/passkeys/<int:pk>/remove/",
        passkey_views.passkey_remove,
        name="passkey_remove",
    ),
    path(
        "accounts/security/recovery-codes/",
        passkey_views.recovery_codes_new,
        name="recovery_codes_new",
    ),
    # sec: an authenticator app added after a passkey
    path("accounts/security/authenticator-app/", mfa_views.app_add, name="app_add"),
]

# Administration (administrators only; decisions/accounts/administration.py)
urlpatterns += [
    path("administration/", administration.index, name="admin_index"),
    path(
        "administration/organisations/new/",
        administration.organisation_create,
        name="admin_organisation_create",
    ),
    path(
        "administration/organisations/<slug:slug>/",
        administration.organisation,
        name="admin_organisation",
    ),
    path(
        "administration/organisations/<slug:slug>/rename/",
        administration.organisation_rename,
        name="admin_organisation_rename",
    ),
    path(
        "administration/organisations/<slug:slug>/deactivate/",
        administration.organisation_status,
        {"active": False},
        name="admin_organisation_deactivate",
    ),
    path(
        "administration/organisations/<slug:slug>/reactivate/",
        administration.organisation_status,
        {"active": True},
        name="admin_organisation_reactivate",
    ),
    path(
        "administration/organisations/<slug:slug>/invite/",
        administration.user_invite,
        name="admin_user_invite",
    ),
    path("administration/people/<int:pk>/", administration.user_detail, name="admin_user"),
    path("administration/people/<int:pk>/role/", administration.user_role, name="admin_user_role"),
    path(
        "administration/people/<int:pk>/organisation/",
        administration.user_organisation,
        name="admin_user_organisation",
    ),
    path(
        "administration/people/<int:pk>/deactivate/",
        administration.user_status,
        {"active": False},
        name="admin_user_deactivate",
    ),
    path(
        "administration/people/<int:pk>/reactivate/",
        administration.user_status,
        {"active": True},
        name="admin_user_reactivate",
    ),
    path(
        "administration/people/<int:pk>/reset-security-code/",
        administration.user_mfa_reset,
        name="admin_user_mfa_reset",
    ),
    path(
        "administration/people/<int:pk>/invite-again/",
        administration.user_invite_again,
        name="admin_user_invite_again",
    ),
]

# Audit archive: an organisation's legal hold (decisions/accounts/legal_holds.py).
urlpatterns += [
    path(
        "administration/organisations/<slug:slug>/legal-hold/",
        legal_holds.legal_hold,
        name="admin_legal_hold",
    ),
]
