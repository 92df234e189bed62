"""The administration form for an organisation's identity provider.

Leave the endpoints blank and they are read from the issuer's discovery document when the
form is saved; the issuer ISG keeps is the one that document names (ID tokens must carry it).
"""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Layout, Size
from django import forms

from decisions.forms.fields import has_control_characters
from decisions.sso import providers

TEXT = ("name", "client_id", "client_secret_env", "scopes", "group_claim")
URLS = ("issuer", *providers.ENDPOINTS)


def _url(label: str, required: bool = False, help_text: str = "") -> forms.URLField:
    return forms.URLField(
        label=label,
        required=required,
        max_length=500,
        assume_scheme="https",
        help_text=help_text,
        error_messages={
            "required": f"Enter the {label.lower()}",
            "invalid": "Enter a web address like https://login.example.org/",
        },
    )


class ProviderForm(forms.Form):
    name = forms.CharField(
        label="Name of the sign-in service",
        max_length=100,
        help_text="Shown to people as they sign in, for example “Microsoft Entra ID”.",
        error_messages={"required": "Enter the name of the sign-in service"},
    )
    issuer = _url(
        "Issuer",
        required=True,
        help_text="For example https://login.microsoftonline.com/<tenant id>/v2.0, "
        "https://accounts.google.com or https://<your domain>.okta.com.",
    )
    client_id = forms.CharField(
        label="Client ID",
        max_length=255,
        help_text="The ID the provider gave ISG when you registered it.",
        error_messages={"required": "Enter the client ID"},
    )
    client_secret_env = forms.CharField(
        label="Environment variable holding the client secret",
        max_length=100,
        help_text=f"The secret is never entered here. Your ISG operator sets it on the server "
        f"in a variable whose name starts {providers.SECRET_PREFIX}, for example "
        f"{providers.SECRET_PREFIX}LEICESTER.",
        error_messages={"required": "Enter the name of the environment variable"},
    )
    email_domains = forms.CharField(
        label="Email domains",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line, for example leicester.gov.uk. People whose work email is at "
        "these domains sign in through this service.",
        error_messages={"required": "Enter at least one email domain"},
    )
    scopes = forms.CharField(
        label="Scopes", max_length=200, initial="openid email profile", required=False
    )
    group_claim = forms.CharField(
        label="Group claim (optional)",
        max_length=100,
        required=False,
        help_text="The claim that lists a person's groups, for example “groups”. Leave blank "
        "to set roles in ISG only.",
    )
    role_mapping = forms.CharField(
        label="Roles from groups (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One “group = role” a line (practitioner, lead or manager); the first "
        "line that matches sets the role at each sign-in. Administrators are never changed.",
    )
    authorization_endpoint = _url("Authorization endpoint")
    token_endpoint = _url("Token endpoint")
    userinfo_endpoint = _url("Userinfo endpoint")
    jwks_uri = _url("JWKS address")
    end_session_endpoint = _url("Sign-out (end session) endpoint")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.text("name", field_width=20),
            Field.text("issuer"),
            Field.text("client_id", field_width=30),
            Field.text("client_secret_env", field_width=30),
            Field.textarea("email_domains"),
            Field.text("scopes", field_width=30),
            Field.text("group_claim", field_width=20),
            Field.textarea("role_mapping"),
            Fieldset(
                Field.text("authorization_endpoint"),
                Field.text("token_endpoint"),
                Field.text("userinfo_endpoint"),
                Field.text("jwks_uri"),
                Field.text("end_session_endpoint"),
                legend="Endpoints (leave blank to read them from the issuer)",
                legend_size=Size.SMALL,
            ),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in (*TEXT, "email_domains", "role_mapping"):
            if has_control_characters(cleaned.get(name)):
                self.add_error(name, "Remove the control characters")
        self._check("email_domains", providers.parse_domains, join=True)
        self._check("role_mapping", providers.parse_role_mapping)
        secret_env = str(cleaned.get("client_secret_env") or "").strip()
        if secret_env and not providers.SECRET_ENV.match(secret_env):
            self.add_error(
                "client_secret_env",
                f"Enter a name in capitals that starts {providers.SECRET_PREFIX}",
            )
        if "openid" not in str(cleaned.get("scopes") or "openid").split():
            self.add_error("scopes", "Include the scope openid")
        cleaned["scopes"] = " ".join(str(cleaned.get("scopes") or "openid email profile").split())
        for name in URLS:
            if cleaned.get(name):
                self._check(name, providers.check_url, keep=True)
        if cleaned.get("issuer") and not self.errors:
            self._endpoints(cleaned)
        return cleaned

    def _check(self, name: str, parse: Any, join: bool = False, keep: bool = False) -> None:
        value = self.cleaned_data.get(name)
        if value in (None, ""):
            return
        try:
            parsed = parse(value)
        except providers.ProviderError as exc:
            self.add_error(name, str(exc))
            return
        if join:
            self.cleaned_data[name] = "\n".join(parsed)
        elif not keep:
            self.cleaned_data[name] = value.strip()

    def _endpoints(self, cleaned: dict[str, Any]) -> None:
        """Blank endpoints: from the discovery document (which also fixes the issuer's form)."""
        if all(cleaned.get(n) for n in providers.ENDPOINTS[:4]):
            return
        try:
            found = providers.discover(cleaned["issuer"])
        except providers.ProviderError as exc:
            self.add_error("issuer", str(exc))
            return
        cleaned["issuer"] = found.pop("issuer")
        for name, value in found.items():
            cleaned[name] = cleaned.get(name) or value
