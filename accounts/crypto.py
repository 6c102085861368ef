"""The first-password sheets are kept encrypted (Fernet, with a key drawn from SECRET_KEY
for this purpose only) for the few minutes they can be downloaded, then wiped."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"accounts.credential-sheet:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(rows: list[dict]) -> str:
    return _fernet().encrypt(json.dumps(rows, ensure_ascii=False).encode()).decode()


def unseal(token: str) -> list[dict] | None:
    """The rows, or None when the token cannot be read (wiped, or another SECRET_KEY)."""
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return None
