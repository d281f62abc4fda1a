from __future__ import annotations

from rest_framework import authentication, exceptions

from channels_sync.models import ApiToken
from channels_sync.tokens import token_hash
from omnichannel.permissions import Principal, principal_for_user


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` (or `Bearer <token>`): a channel's or a staff user's token."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <token>'.")
        token = (ApiToken.objects.select_related("channel", "user", "user__staff")
                 .filter(key_hash=token_hash(header[1]), is_active=True).first())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.channel_id is not None:
            if not token.channel.is_active:
                raise exceptions.AuthenticationFailed("This channel is disabled.")
            principal = Principal(channel_id=token.channel_id, channel_code=token.channel.code,
                                  channel_kind=token.channel.kind, channel=token.channel)
            return principal, principal
        principal = principal_for_user(token.user)
        if principal is None:
            raise exceptions.AuthenticationFailed("This user is disabled.")
        return token.user, principal

    def authenticate_header(self, request) -> str:
        return "Token"
