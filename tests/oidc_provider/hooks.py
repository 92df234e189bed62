"""What the test provider puts in its tokens and userinfo (django-oidc-provider's hooks).

Clients named "...-expired" get ID tokens that expired an hour ago, and "...-wrong-audience"
ones addressed to another service: signed by the provider's real key, as a misconfigured or
replayed token would be, so ISG's own checks are what refuses them.
"""

import time


def userinfo(claims, user):
    claims["name"] = user.get_full_name() or user.username
    claims["email"] = user.email
    claims["email_verified"] = True
    return claims


def id_token(token_claims, user, token, request):
    client_id = token.client.client_id
    token_claims["email"] = user.email
    token_claims["amr"] = ["pwd"]
    token_claims["acr"] = "urn:isg:test:password"
    groups = sorted(user.groups.values_list("name", flat=True))
    if groups:
        token_claims["groups"] = groups
    if client_id.endswith("-expired"):
        now = int(time.time())
        token_claims["iat"] = now - 7200
        token_claims["exp"] = now - 3600
    if client_id.endswith("-wrong-audience"):
        token_claims["aud"] = "another-service"
    return token_claims
