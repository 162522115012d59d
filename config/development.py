# Development settings (used by `make demo` through GATEWAY_CONFIG=config/development.py).
# Never use in production: the issuer is plain http on loopback and the cookies are not Secure.
ENV = "development"
ISSUER = "http://127.0.0.1:5000"
SESSION_COOKIE_SECURE = False
