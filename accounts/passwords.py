"""The password policy (等保 2.0 level 2) and the passwords the portal draws.

Settings, with their defaults: PASSWORD_MIN_LENGTH (8), PASSWORD_MIN_CLASSES (3 of upper
case, lower case, digits and other characters), PASSWORD_MAX_AGE_DAYS (0: never expires)."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.exceptions import ValidationError

# No 0/O, 1/l/I: the first password is typed from paper.
_UPPER = "ABCDEFGHJKMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_DIGITS = "23456789"
_CLASSES = (
    ("大写字母", set(string.ascii_uppercase)),
    ("小写字母", set(string.ascii_lowercase)),
    ("数字", set(string.digits)),
)


def character_classes(password: str) -> int:
    count = sum(1 for _, chars in _CLASSES if any(c in chars for c in password))
    if any(not (c.isascii() and c.isalnum()) for c in password):
        count += 1  # other characters: punctuation, spaces, Chinese
    return count


def generate_password(length: int = 10) -> str:
    """A random password that meets the policy: upper and lower case letters and digits,
    none that could be misread on paper."""
    length = max(length, settings.PASSWORD_MIN_LENGTH)
    pools = (_UPPER, _LOWER, _DIGITS)
    chars = [secrets.choice(pool) for pool in pools]
    chars += [secrets.choice(_UPPER + _LOWER + _DIGITS) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _identities(user) -> list[str]:
    """What a password may not contain: the login name and the person's phone number."""
    if user is None:
        return []
    found = [user.get_username()]
    account = getattr(user, "account", None) if user.pk else None
    if account is not None and account.phone:
        found.append(account.phone)
    cadre = getattr(user, "cadre", None) if user.pk else None
    if cadre is not None and cadre.phone:
        found.append(cadre.phone)
    return [value for value in found if value and len(value) >= 4]


class PolicyValidator:
    """At least PASSWORD_MIN_LENGTH characters, PASSWORD_MIN_CLASSES of the four character
    classes, and neither the login name nor the phone number inside it."""

    def validate(self, password: str, user=None) -> None:
        errors = []
        minimum = settings.PASSWORD_MIN_LENGTH
        if len(password) < minimum:
            errors.append(ValidationError(f"密码至少需要 {minimum} 个字符。", code="too_short"))
        classes = settings.PASSWORD_MIN_CLASSES
        if character_classes(password) < classes:
            errors.append(
                ValidationError(
                    f"密码须包含大写字母、小写字母、数字、其他符号这四类中的至少 {classes} 类。",
                    code="too_simple",
                )
            )
        lowered = password.lower()
        if any(value.lower() in lowered for value in _identities(user)):
            errors.append(ValidationError("密码不能包含登录名或手机号。", code="contains_identity"))
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return (
            f"至少 {settings.PASSWORD_MIN_LENGTH} 个字符，包含大写字母、小写字母、数字、其他符号中的"
            f"至少 {settings.PASSWORD_MIN_CLASSES} 类，且不含登录名或手机号。"
        )
