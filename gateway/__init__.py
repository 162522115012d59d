"""Vĩnh Long electronic identity and single sign-on gateway: an OpenID Connect provider.

``create_app`` loads configuration and wires extensions and blueprints; it does not touch the
database or the network (``init-db`` and ``seed-demo`` are CLI commands).
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from . import config as default_config

__all__ = ["create_app", "MIGRATIONS_DIR"]

#: The Alembic environment and revision scripts (``flask --app gateway db ...``).
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def _cli_help_requested() -> bool:
    """``flask --app gateway [COMMAND] --help``: the flask CLI (a click context) asked for help."""
    import sys

    import click

    return click.get_current_context(silent=True) is not None and "--help" in sys.argv[1:]


def _help_only_app(error) -> Flask:
    """For ``--help`` in a shell without settings: an app that only carries the commands, so
    the help lists them (none can run: nothing is configured), after the one line saying what
    to set."""
    import click
    from flask_migrate.cli import db as db_commands

    from . import cli

    click.echo(f"Note: {error.format_message()}", err=True)
    app = Flask(__name__)
    cli.init_app(app)
    app.cli.add_command(db_commands)
    return app


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("GATEWAY_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_object(default_config)
    if os.environ.get("GATEWAY_CONFIG"):
        app.config.from_pyfile(os.path.abspath(os.environ["GATEWAY_CONFIG"]))
    default_config.load_environ(app.config)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    default_config.finish_config(app.config, app.instance_path)
    try:
        default_config.validate_config(app.config)
    except default_config.ConfigurationError as error:
        if not _cli_help_requested():
            raise
        return _help_only_app(error)

    from . import cli, errors, observability, security
    from .accounts import acting_for  # noqa: F401  (its route is on the accounts blueprint)
    from .accounts.ports import create_ports
    from .accounts.qr_views import bp as qr_login_bp
    from .accounts.self_service import bp as self_service_bp
    from .accounts.views import bp as accounts_bp
    from .clock import SystemClock
    from .enrolment.views import bp as enrolment_bp
    from .extensions import babel, csrf, db, migrate
    from .i18n import select_locale
    from .oidc import server
    from .oidc.ports import bind_ports
    from .oidc.views import bp as oidc_bp
    from .stores import backends as hot_store
    from .stores import limits as rate_limits

    # First: logging, request ids and metrics for every request, even one refused by a hook below.
    observability.init_app(app)
    # Authlib logs issued tokens at DEBUG ("Issue token %r"): tokens never reach a log.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger().level))

    db.init_app(app)
    # Versioned schema (Alembic): the scripts ship inside the package; SQLite alters tables
    # by copying them (batch mode).
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.extensions["gateway.clock"] = app.config.get("CLOCK") or SystemClock()
    hot_store.init_app(app)
    # Flask-Limiter, counting in that hot store (sign-in and QR throttles).
    rate_limits.init_app(app)
    server.init_app(app)
    # The kernel's plug points: people, sessions, consent, audit and the prompts of a sign-in
    # come from the interaction side (``oidc/ports.py``, ``accounts/ports.py``).
    bind_ports(app, create_ports())
    errors.init_app(app)
    security.init_app(app)
    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    app.register_blueprint(oidc_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(self_service_bp)
    app.register_blueprint(qr_login_bp)
    app.register_blueprint(enrolment_bp)
    # Browsers ask every site for /favicon.ico: the emblem, rather than a 404 on every page.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    cli.init_app(app)

    if app.config.get("TRUSTED_PROXY_COUNT"):
        # X-Forwarded-* believed from the reverse proxy's addresses only (docs/operations.md).
        app.wsgi_app = security.TrustedProxyFix(
            app.wsgi_app, int(app.config["TRUSTED_PROXY_COUNT"]),
            app.config["TRUSTED_PROXY_NETWORKS"])
    return app
