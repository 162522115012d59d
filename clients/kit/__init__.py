"""The small kit both sample portals are built from: settings, views, templates, i18n."""

from .app import create_portal_app
from .settings import PortalSettings, SettingsError, load_settings

__all__ = ["PortalSettings", "SettingsError", "create_portal_app", "load_settings"]
