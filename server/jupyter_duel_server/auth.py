"""Who a player is: signed identity tokens and guest names.

The Jupyter server extension (or any trusted front door) proves a user and hands the browser a short-lived
token signed with the service's secret; the service believes only the signature. Guests choose their own name,
which only a service configured with ``allow_guests`` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_GUEST_NAME = re.compile(r"^[\w][\w .\-]{0,31}$")


@dataclass(frozen=True)
class Identity:
    name: str
    guest: bool


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_guest_name(name: str) -> str:
    """Return the cleaned guest name or raise AuthError."""
    name = name.strip()
    if not _GUEST_NAME.match(name):
        raise AuthError("invalid_name", "a name is 1-32 letters, digits, spaces, dots, dashes or underscores")
    return name


class IdentitySigner:
    """Issues and verifies identity tokens (HMAC-signed, timestamped)."""

    salt = "jupyter-duel-identity"

    def __init__(self, secret: bytes | str, max_age_s: int = 600):
        self._serializer = URLSafeTimedSerializer(secret, salt=self.salt)
        self.max_age_s = max_age_s

    def issue(self, identity: Identity) -> str:
        return self._serializer.dumps({"name": identity.name, "guest": identity.guest})

    def verify(self, token: str) -> Identity:
        try:
            data = self._serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired:
            raise AuthError("auth_failed", "the identity token has expired; reload to get a new one") from None
        except BadSignature:
            raise AuthError("auth_failed", "the identity token is not valid") from None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise AuthError("auth_failed", "the identity token is not valid")
        return Identity(data["name"], bool(data.get("guest")))


class ResumeTokens:
    """Tokens that let a player back into a running battle after a reload or a dropped connection."""

    salt = "jupyter-duel-resume"

    def __init__(self, secret: bytes | str):
        self._serializer = URLSafeTimedSerializer(secret, salt=self.salt)

    def issue(self, battle_id: str, name: str) -> str:
        return self._serializer.dumps({"battle": battle_id, "name": name})

    def verify(self, token: str, max_age_s: int) -> tuple[str, str]:
        """(battle id, player name), or AuthError ``bad_resume_token``."""
        try:
            data = self._serializer.loads(token, max_age=max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature
            raise AuthError("bad_resume_token", "the resume token is not valid (forged or expired)") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("battle", "name")):
            raise AuthError("bad_resume_token", "the resume token is not valid")
        return data["battle"], data["name"]
