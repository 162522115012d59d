"""Resource indicators (RFC 8707): which API an access token is for, so that the API can check
the token's audience (RFC 9068 §4) instead of trusting any token of the gateway.

- An administrator gives a resource server (``create-client --resource-server``) one or more
  indicators (``--resource``): absolute https URIs (loopback http in development), no fragment
  (§2), each held by one client only. Kept in the client metadata ``resource_indicators``;
  never registrable by the client itself (RFC 7591/7592).
- A client asks only for the APIs an administrator allowed it (``create-client
  --allowed-resource URI``; never registrable): otherwise ``invalid_target``.
- At most one ``resource`` per request (``/authorize`` and ``/token``): the token has a single
  audience. Several, or one no resource server holds: ``invalid_target`` (§2).
- With a resource the access token's ``aud`` (JWT and introspection) is that resource; without,
  the requesting client's ``client_id`` as before.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error

from . import storage


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid, unknown, or more than one."""

    error = "invalid_target"


def get_requested_resource(datalist, client) -> str | None:
    """The one ``resource`` of a request, which a resource server must hold and ``client`` be
    allowed (``create-client --allowed-resource``); None without."""
    values = datalist.get("resource") or []
    if len(values) > 1:
        raise InvalidTargetError("Only one 'resource' per request: a token has one audience.")
    if not values:
        return None
    if storage.get_resource_server(values[0]) is None:
        # Not echoed: a description must be printable ASCII (RFC 6749 §5.2).
        raise InvalidTargetError("'resource' is not a resource registered at this gateway.")
    if values[0] not in client.allowed_resources:
        # Otherwise any client could mint tokens whose audience is any agency's API.
        raise InvalidTargetError("This client may not get tokens for this 'resource'.")
    return values[0]


def check_resource_granted(requested: str | None, granted: str | None) -> str | None:
    """The resource of a token from a grant (code or refresh token) issued for ``granted``:
    the same one, or, when the grant had none, the requested one (RFC 8707 §2.2)."""
    if granted is None:
        return requested
    if requested is not None and requested != granted:
        raise InvalidTargetError("'resource' must be the one of the original authorization.")
    return granted


def is_audience_of(client, resource: str | None) -> bool:
    """Whether a resource server may learn about a token for ``resource`` at introspection:
    tokens without a resource (audience: their client) or for one of its own indicators."""
    return resource is None or resource in client.resource_indicators
