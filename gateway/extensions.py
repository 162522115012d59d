"""Flask extensions, created unbound and bound by ``create_app`` with ``init_app``."""

from flask import g
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from .security import refuse_cross_origin

# Named constraints, so migrations on PostgreSQL and SQLite agree on names.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

db = SQLAlchemy(metadata=metadata)
migrate = Migrate()
babel = Babel()


class OriginCheckingCSRFProtect(CSRFProtect):
    """Flask-WTF's token check, then the origin check (``security.refuse_cross_origin``) on the
    same requests: unsafe methods on every view not ``csrf.exempt`` (the protocol endpoints that
    clients call server to server, and ``/authorize`` and ``/logout``, which relying parties
    may post to from their own sites, are exempt). It replaces Flask-WTF's https Referer check
    (``WTF_CSRF_SSL_STRICT``, off in ``gateway.config``), which ``Referrer-Policy: no-referrer``
    makes fail on every form."""

    def protect(self, apply_exemptions=False):
        super().protect(apply_exemptions=apply_exemptions)
        if g.get("csrf_valid"):  # set by Flask-WTF once the token was checked on this request
            refuse_cross_origin()


csrf = OriginCheckingCSRFProtect()
