"""OpenID Connect provider: the protocol, as Authlib subclasses (grants, claims, keys, sessions)."""
