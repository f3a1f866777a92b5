"""API tokens of connected sites, encrypted at rest (SPEC C2).

cryptography's MultiFernet over the keys in BACKUPSITE_CREDENTIAL_KEYS (comma-separated Fernet
keys, newest first): the first key encrypts, every key decrypts, so a key is rotated by putting
a new one first, running `manage.py rotate_credentials`, then removing the old one. With
DJANGO_DEBUG on and no keys set, settings derive one from the secret key, so `make run` works
without setup; without keys, connecting a site is refused with what to set.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialError(Exception):
    """A stored token cannot be decrypted with the configured keys."""


def _fernet() -> MultiFernet:
    keys = list(settings.CREDENTIAL_KEYS)
    if not keys:
        raise CredentialError(
            "BACKUPSITE_CREDENTIAL_KEYS is not set: connected sites need a key to encrypt "
            "their API tokens (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise CredentialError(
            "The stored API token cannot be decrypted with the configured keys "
            "(BACKUPSITE_CREDENTIAL_KEYS changed?). Edit the connection and enter the token again."
        )


def rotate(stored: str) -> str:
    """The same token, encrypted with the newest key."""
    try:
        return _fernet().rotate(stored.encode()).decode()
    except InvalidToken:
        raise CredentialError("A stored API token cannot be decrypted with any configured key.")
