"""Class codes and teacher keys: made with `secrets`, kept as hashes, compared in constant time.

- A class code is short enough to write on the board (CODE_LENGTH characters from an
  alphabet without look-alikes: no 0/O, 1/I/L). The database keeps only its SHA-256
  (`code_digest`) and finds a class by that digest, so how long a lookup takes says nothing
  about how much of a guessed code was right; the found digest is compared again with
  `hmac.compare_digest`.
- A teacher key is 128 random bits (shown once). The database keeps a salted scrypt hash
  of it (`hash_key`); `key_matches` recomputes and compares with `hmac.compare_digest`.

Example:
    >>> salt, digest = hash_key(key := new_teacher_key())
    >>> key_matches(key, salt, digest)
    True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to copy off a board
CODE_LENGTH = 6  # 31**6, about 900 million codes; joining is rate-limited (limits.py)
KEY_BYTES = 16  # 128 bits of randomness in a teacher key
SALT_BYTES = 16
# scrypt's cost: 16 MiB of memory and ~50 ms a check, so a stolen hash is slow to attack
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024**2, "dklen": 32}


def new_code() -> str:
    """A fresh class code, e.g. "K7QX2M"."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code: str) -> str:
    """A code as typed ("k7qx 2m") in its stored form ("K7QX2M")."""
    return "".join(str(code).split()).upper()


def code_digest(code: str) -> str:
    """The SHA-256 (hex) a class is found by: the database never holds the code itself."""
    return hashlib.sha256(normal_code(code).encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Two digests compared in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_teacher_key() -> str:
    """A fresh teacher key (22 URL-safe characters), shown to the teacher once. Never one
    starting with "-": `class show --teacher-key -x...` would read it as an option."""
    key = secrets.token_urlsafe(KEY_BYTES)
    while key.startswith("-"):
        key = secrets.token_urlsafe(KEY_BYTES)
    return key


def hash_key(key: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """(salt, scrypt hash) of a teacher key; a new random salt unless one is given."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return salt, hashlib.scrypt(str(key).encode(), salt=salt, **SCRYPT)


def key_matches(key: str, salt: bytes, digest: bytes) -> bool:
    """Whether `key` is the one hashed into (salt, digest); constant time in the comparison."""
    return hmac.compare_digest(hash_key(key, salt)[1], bytes(digest))
