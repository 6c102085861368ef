"""The hash of a password the portal drew and handed out on paper (first passwords and
resets): PBKDF2 with 1,000 rounds instead of Django's 1,000,000, so that a county's sheet of
2,000 first passwords is drawn in about a second, not a quarter of an hour.

What keeps such a password safe is its randomness, not the rounds: ten characters from 55
(accounts.passwords.generate_password) are about 58 bits, which 1,000 rounds of PBKDF2
put beyond any search. It must be replaced at the first sign-in, and the first sign-in
re-hashes it with the default hasher anyway (Django upgrades a hash made by a hasher
that is not the first in PASSWORD_HASHERS). A password a person chose is never hashed
with it."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class IssuedPasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_issued"
    iterations = 1000
