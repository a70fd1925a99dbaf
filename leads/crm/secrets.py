"""CRM secrets at rest: Fernet with a key derived from SECRET_KEY, so a database dump alone
does not hand out CRM access. Rotating SECRET_KEY means connecting the CRMs again."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    pass


def _fernet() -> Fernet:
    key = hashlib.sha256(b"leadscore-crm-secrets:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "The stored CRM secret cannot be read (SECRET_KEY changed?); connect the CRM again."
        ) from error


def secret_hint(plain: str) -> str:
    """The last four characters, to tell two tokens apart on screen."""
    return f"…{plain[-4:]}" if len(plain) >= 12 else "…"
