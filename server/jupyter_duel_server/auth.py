"""Who a player is: signed identity tokens, guest names and the keys that bind them to one browser.

The Jupyter server extension (or any trusted front door) proves a user and hands the browser a short-lived
token signed with the service's secret; the service believes only the signature. Guests choose their own name,
which only a service configured with ``allow_guests`` accepts. Guests and signed-in users live in separate
namespaces: a guest's account name (its *handle*) is ``guest:`` and the chosen name, so a guest can never take
a user's name, and the chosen name is Unicode-normalised and refused when it only looks like another's.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_GUEST_NAME = re.compile(r"^[\w][\w .\-]{0,31}$")

#: Prefix of every guest's handle; authenticated names never start with it.
GUEST_PREFIX = "guest:"


@dataclass(frozen=True)
class Identity:
    name: str
    guest: bool
    instructor: bool = False  # may watch every duel and run the class (never a guest)

    @property
    def handle(self) -> str:
        """The account's unique name in the service: guests in a namespace of their own."""
        return GUEST_PREFIX + self.name if self.guest else self.name


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_guest_name(name: str) -> str:
    """Return the guest name normalised (NFKC, spaces collapsed) or raise AuthError."""
    name = " ".join(unicodedata.normalize("NFKC", name).split())
    if not _GUEST_NAME.match(name):
        raise AuthError("invalid_name", "a name is 1-32 letters, digits, spaces, dots, dashes or underscores")
    return name


def display_name(handle: str) -> str:
    """The name a person reads: a guest's handle without its prefix."""
    return handle[len(GUEST_PREFIX):] if handle.startswith(GUEST_PREFIX) else handle


#: ASCII characters that look like another in common fonts, to that one.
_ASCII_LOOK_ALIKES = {"0": "o", "1": "l", "i": "l", "|": "l"}


@functools.lru_cache(maxsize=8192)
def _prototype(char: str) -> str:
    """The ASCII character ``char`` looks like, per Unicode's confusables (the confusable-homoglyphs data), in
    lower case and with ASCII look-alikes merged; ``char`` itself (case-folded) when it looks like none."""
    if not char.isascii():
        from confusable_homoglyphs.confusables import confusables_data

        ascii_glyphs = [g["c"] for g in confusables_data.get(char, ()) if len(g["c"]) == 1 and g["c"].isascii()]
        if ascii_glyphs:
            char = min(ascii_glyphs)
    folded = char.casefold()
    return _ASCII_LOOK_ALIKES.get(folded, folded)


def skeleton(name: str) -> str:
    """What ``name`` looks like: compatibility forms, case, separators and look-alike letters mapped away, so
    ``alice``, ``Alice``, ``a1ice`` and ``\u0430lice`` (Cyrillic a) have one skeleton."""
    text = "".join(_prototype(c) for c in unicodedata.normalize("NFKC", name) if c not in " ._-")
    return text.replace("rn", "m").replace("vv", "w")


def new_guest_key() -> tuple[str, str]:
    """A fresh guest key for a browser and the hash the service keeps of it."""
    key = secrets.token_urlsafe(24)
    return key, hash_guest_key(key)


def hash_guest_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def guest_key_matches(key: str | None, stored_hash: str) -> bool:
    return key is not None and hmac.compare_digest(hash_guest_key(key), stored_hash)


class IdentitySigner:
    """Issues and verifies identity tokens (HMAC-signed, timestamped)."""

    salt = "jupyter-duel-identity"

    def __init__(self, secret: bytes | str, max_age_s: int = 600):
        self._serializer = URLSafeTimedSerializer(secret, salt=self.salt)
        self.max_age_s = max_age_s

    def issue(self, identity: Identity) -> str:
        return self._serializer.dumps(
            {"name": identity.name, "guest": identity.guest, "instructor": identity.instructor}
        )

    def verify(self, token: str) -> Identity:
        try:
            data = self._serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired:
            raise AuthError("auth_failed", "the identity token has expired; reload to get a new one") from None
        except BadSignature:
            raise AuthError("auth_failed", "the identity token is not valid") from None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise AuthError("auth_failed", "the identity token is not valid")
        guest = bool(data.get("guest"))
        return Identity(data["name"], guest, instructor=bool(data.get("instructor")) and not guest)


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
