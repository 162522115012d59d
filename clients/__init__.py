"""Sample relying parties for the Vĩnh Long electronic-identity gateway.

Two portals, one kit: ``clients.province`` (the province public-service portal, a confidential
client) and ``clients.commune`` (a ward people's committee portal, a public client using PKCE).
Both are ordinary OpenID Connect relying parties built on Authlib's Flask client, so agencies can
copy them. ``python -m clients.demo`` starts the gateway and both portals for a demonstration.
"""
