"""Platform-level stores: short-lived state with a TTL (``hot``), on SQL or Redis.

Nothing here imports ``accounts``, ``oidc`` or ``identity``: those packages use the stores.
"""
