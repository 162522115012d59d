# Production settings: copy outside the repository, fill in, and point GATEWAY_CONFIG at it.
# Secrets can come from the environment instead (GATEWAY_SECRET_KEY, GATEWAY_DATABASE_URL,
# GATEWAY_KEY_ENCRYPTION_KEY).
# The gateway refuses to start in production with an http issuer, a short secret key, no
# key-encryption key or cookies without the Secure flag (gateway/config.py: validate_config).
ENV = "production"
ISSUER = "https://id.vinhlong.gov.vn"
# SECRET_KEY = "..."  # 32+ random characters: python -c "import secrets; print(secrets.token_urlsafe(48))"
# KEY_ENCRYPTION_KEY = "..."  # encrypts the signing keys in the database; keep a copy apart from
#     backups: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://gateway@db.internal/gateway"
TRUSTED_PROXY_COUNT = 1  # behind one TLS-terminating reverse proxy (docs/operations.md#serving)
# Its address as gunicorn sees it (default: this machine); also GUNICORN_FORWARDED_ALLOW_IPS.
# TRUSTED_PROXY_NETWORKS = ["10.20.0.5"]
# Prometheus may read /metrics from these networks (default: this machine only).
# METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128", "10.20.0.0/24"]
