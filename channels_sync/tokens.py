"""API tokens: only a hash is stored; the token is HMAC(secret key, salt), so the
`api_token` command can show an existing token again without storing it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from channels_sync.models import ApiToken, SalesChannel

PREFIX = "oc_"


def token_value(salt: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"omnichannel-token:{salt}".encode(), hashlib.sha256)
    return PREFIX + digest.hexdigest()[:40]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, name: str, channel: SalesChannel | None = None, user=None) -> tuple[ApiToken, str]:
    salt = secrets.token_hex(12)
    value = token_value(salt)
    token = ApiToken.objects.create(name=name, channel=channel, user=user, salt=salt, key_hash=token_hash(value),
                                    prefix=value[:10])
    return token, value


def token_reveal_or_issue(*, name: str, channel: SalesChannel | None = None, user=None) -> str:
    """A working token for the channel or user: an existing one if the current secret key
    still derives it, else a new one."""
    qs = ApiToken.objects.filter(channel=channel, user=user, is_active=True).order_by("pk")
    for token in qs:
        value = token_value(token.salt)
        if hmac.compare_digest(token_hash(value), token.key_hash):
            return value
    return token_issue(name=name, channel=channel, user=user)[1]
