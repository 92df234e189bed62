"""Forms for signing in, confirming a password, and changing or resetting one.

They are Django's own forms with GOV.UK wording; the pages render them with the GOV.UK
password input (templates/accounts/_password_field.html). Administration forms are in
admin_forms.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from decisions.accounts.throttling import lockout_message
from decisions.forms.fields import has_control_characters
from decisions.models import User

NEW_PASSWORD_MESSAGES = {
    "password_mismatch": "The passwords do not match: enter the same new password twice",
}


def _required(form: forms.Form, messages: dict[str, str]) -> None:
    for name, message in messages.items():
        form.fields[name].error_messages["required"] = message


class SignInForm(AuthenticationForm):
    """Django's sign-in form; while axes has the account or address cooling off, it says so.

    The lockout message and status are the same whether or not the account exists.
    """

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        _required(self, {"username": "Enter your email address", "password": "Enter your password"})
        self.locked_out = False

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                self.locked_out = True
                raise ValidationError(lockout_message(), code="locked_out") from None
            raise


class ConfirmPasswordForm(forms.Form):
    """The password again, before exports and administration (throttled like signing in)."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password"},
    )

    def __init__(self, *args: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = user
        self.locked_out = False

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if authenticate(self.request, username=self.user.email, password=password) is None:
            if getattr(self.request, "axes_locked_out", False):
                self.locked_out = True
                raise ValidationError(lockout_message(), code="locked_out")
            raise ValidationError("The password is not correct", code="invalid")
        return password


class ChangePasswordForm(PasswordChangeForm):
    error_messages = {
        **PasswordChangeForm.error_messages,
        **NEW_PASSWORD_MESSAGES,
        "password_incorrect": "Your current password is not correct",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _required(
            self,
            {
                "old_password": "Enter your current password",
                "new_password1": "Enter a new password",
                "new_password2": "Enter the new password again",
            },
        )


class NewPasswordForm(SetPasswordForm):
    """Choosing a password from a reset or invitation link."""

    error_messages = {**SetPasswordForm.error_messages, **NEW_PASSWORD_MESSAGES}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _required(
            self,
            {"new_password1": "Enter a new password", "new_password2": "Enter the password again"},
        )


class ResetRequestForm(PasswordResetForm):
    """The email address to send a reset link to; the page never says whether it is known."""

    def account(self) -> User | None:
        """The active account with a password at the address, with its organisation: one
        query, the same for a known address and an unknown one."""
        email = self.cleaned_data["email"]
        found = User.objects.select_related("organisation").filter(
            email__iexact=email, is_active=True
        )
        return next((user for user in found if user.has_usable_password()), None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].error_messages.update(
            {
                "required": "Enter your email address",
                "invalid": "Enter an email address in the correct format, like name@example.org",
            }
        )


class SecurityCodeForm(forms.Form):
    """A 6-digit code from the authenticator app (or, when verifying, a recovery code)."""

    code = forms.CharField(
        label="Security code",
        max_length=20,
        error_messages={
            "required": "Enter the security code",
            "max_length": "Enter the 6-digit code from your app",
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
        ),
    )


class PasskeyNameForm(forms.Form):
    """A passkey's name, so its owner can tell their passkeys apart."""

    name = forms.CharField(
        label="Name",
        max_length=64,
        strip=True,
        error_messages={
            "required": "Enter a name for the passkey",
            "max_length": "Name must be 64 characters or fewer",
        },
    )

    def clean_name(self) -> str:
        if has_control_characters(self.cleaned_data["name"]):
            raise ValidationError("Remove the control characters from the name")
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Enter a name for the passkey")
        return name
