"""Run the test identity provider's commands in its own process (its own Django settings).

    python -m tests.oidc_provider.manage setup
    python -m tests.oidc_provider.manage add-user EMAIL PASSWORD [GROUP ...]
    python -m tests.oidc_provider.manage rename-user EMAIL NEW_EMAIL   (same person, same sub)
    python -m tests.oidc_provider.manage add-client CLIENT_ID SECRET REDIRECT_URI [LOGOUT_URI]
    python -m tests.oidc_provider.manage serve PORT

OIDC_PROVIDER_DIR (its SQLite file) and OIDC_PROVIDER_URL (its address) come from the
environment; tests/oidc_provider/fixtures.py sets both.
"""

import os
import sys


def main(argv: list[str]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    command, *args = argv
    if command == "setup":
        call_command("migrate", verbosity=0)
        call_command("creatersakey")
    elif command == "add-user":
        email, password, *groups = args
        user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
        user.email = email
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
    elif command == "rename-user":
        email, new_email = args
        User.objects.filter(username=email).update(username=new_email, email=new_email)
    elif command == "add-client":
        client_id, secret, *uris = args
        client, _ = Client.objects.get_or_create(client_id=client_id)
        client.name = client_id
        client.client_type = "confidential"
        client.client_secret = secret
        client.jwt_alg = "RS256"
        client.require_consent = False
        client.reuse_consent = True
        redirects = set(client.redirect_uris) | {u for u in uris if "callback" in u}
        logouts = set(client.post_logout_redirect_uris) | {u for u in uris if "callback" not in u}
        client.redirect_uris = sorted(redirects)
        client.post_logout_redirect_uris = sorted(logouts)
        client.save()
        client.response_types.set(ResponseType.objects.filter(value="code"))
    elif command == "serve":
        call_command("runserver", f"127.0.0.1:{args[0]}", use_reloader=False, verbosity=0)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
