"""Imports every model so ``db.create_all`` sees all tables."""

from .accounts.models import (  # noqa: F401
    Consent,
    DisclosureRecord,
    LoginFailure,
    QrLogin,
    RecoveryCode,
    SignInEvent,
    TotpCredential,
)
from .identity.models import Citizen  # noqa: F401
from .oidc.models import (  # noqa: F401
    AuthorizationCode,
    ClientAssertionJti,
    InitialAccessToken,
    LogoutDelivery,
    OAuth2Client,
    PendingAuthorization,
    SessionParticipant,
    SigningKey,
    Token,
    UserSession,
)
