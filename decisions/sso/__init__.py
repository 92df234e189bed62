"""Single sign-on: OpenID Connect sign-in through each organisation's own identity provider.

mozilla-django-oidc does the relying party's work (state, nonce, PKCE, the code exchange,
the JWKS signature check); it is configured for one provider by settings, so the views and
the backend here choose the provider per sign-in from the person's email domain.

  providers.py   finding a provider, its discovery document, its secret, group -> role
  backend.py     the checks on the ID token and the matching of the person (never creates)
  session.py     what the session keeps about an SSO sign-in (read by the MFA middleware)
  services.py    writes: a provider created, changed, switched on or off; each audited
  views.py       start, callback, sign-out, re-authentication
  administration.py, forms.py   the administration pages for a provider
  receivers.py   an SSO session's sign-out is an audit event, whatever ended it
"""
