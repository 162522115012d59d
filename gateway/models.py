"""Imports every model so ``db.create_all`` sees all tables."""

from .accounts.models import (  # noqa: F401
    Consent,
    DisclosureRecord,
    RecoveryCode,
    SignInEvent,
    TotpCredential,
)
from .identity.models import (  # noqa: F401
    Business,
    Citizen,
    Representation,
    RoleAssignment,
    Verification,
)
from .oidc.models import (  # noqa: F401
    AuthorizationCode,
    InitialAccessToken,
    LogoutDelivery,
    OAuth2Client,
    SessionEnding,
    SessionParticipant,
    SigningKey,
    Token,
)
from .stores.sql import HotEntry  # noqa: F401
