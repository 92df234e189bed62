"""The one error a guidance pack raises when it must not be used."""


class PackError(ValueError):
    """A guidance pack that must not be used, with the reason."""
