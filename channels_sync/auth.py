from __future__ import annotations

from typing import cast

from rest_framework import authentication, exceptions

from channels_sync.models import ApiToken, SalesChannel
from channels_sync.tokens import token_hash
from channels_sync.webhooks import verify
from omnichannel import rawsql
from omnichannel.localcache import KeyedCache
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
        found = _token_lookup(token_hash(header[1]))
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        token_id, channel = found
        if channel is not None:
            if not channel.is_active:
                raise exceptions.AuthenticationFailed("This channel is disabled.")
            principal: Principal | None = Principal(
                channel_id=channel.pk, channel_code=channel.code, channel_kind=channel.kind, channel=channel)
            return principal, principal
        token = ApiToken.objects.select_related("user", "user__staff").get(pk=token_id)
        principal = principal_for_user(token.user)
        if principal is None:
            raise exceptions.AuthenticationFailed("This user is disabled.")
        return token.user, principal

    def authenticate_header(self, request) -> str:
        return "Token"


# Channel tokens found, by key hash: (token id, the channel's columns). Every API request
# authenticates, and a storefront sends the same token every time; the lookup was one statement
# in eight of an order's capture (docs/benchmarks.md). A token revoked or a channel changed is
# seen at once by this process (signals) and within 5 s by the others, as the channel feeds'
# copy is (omnichannel.localcache). Staff tokens are not kept: their user is read every time.
_CHANNEL_TOKENS: KeyedCache[tuple[int, tuple]] = KeyedCache(ttl=5.0, models=[ApiToken, SalesChannel])


def _token_lookup(key_hash: str) -> tuple[int, SalesChannel | None] | None:
    """(token id, its channel) for an active token, in one hand-written query: every API
    request runs it, and the ORM's compiler cost ten times the query (omnichannel.rawsql).
    A staff token has no channel; its user is read by the caller. A channel token found is
    kept for a few seconds (`_CHANNEL_TOKENS`); each request gets its own channel instance."""
    kept = _CHANNEL_TOKENS.get(key_hash)
    if kept is not None:
        return kept[0], rawsql.instance(SalesChannel, kept[1])
    sql = (f"SELECT t.{rawsql.column(ApiToken, 'id')}, {rawsql.columns(SalesChannel, 'c')} "  # noqa: S608
           f"FROM {rawsql.table(ApiToken)} t LEFT JOIN {rawsql.table(SalesChannel)} c "
           f"ON c.{rawsql.column(SalesChannel, 'id')} = t.{rawsql.column(ApiToken, 'channel')} "
           f"WHERE t.{rawsql.column(ApiToken, 'key_hash')} = %s AND t.{rawsql.column(ApiToken, 'is_active')} = %s")
    rows = rawsql.fetch(sql, [key_hash, True])
    if not rows:
        return None
    token_id, *channel = rows[0]
    found = cast("SalesChannel | None", rawsql.split(channel, SalesChannel)[0])
    if found is not None:
        _CHANNEL_TOKENS.put(key_hash, (token_id, tuple(channel)))
    return token_id, found


class ChannelSignatureAuthentication(authentication.BaseAuthentication):
    """A channel's own platform, by the signature of the raw body with the channel's webhook
    secret (`X-Omnichannel-Signature`, the scheme of our outgoing webhooks:
    channels_sync.webhooks). The channel is the URL's `code`. Nothing is stored for a request
    that fails here."""

    header = "X-Omnichannel-Signature"

    def authenticate(self, request):
        code = request.parser_context["kwargs"].get("code", "") if request.parser_context else ""
        channel = SalesChannel.objects.filter(code=code).first()
        signature = request.headers.get(self.header, "")
        if channel is None or not channel.is_active or not channel.webhook_secret:
            raise exceptions.AuthenticationFailed("No channel takes signed orders at this address.")
        if not signature:
            raise exceptions.AuthenticationFailed(f"{self.header} header required.")
        try:
            body = request._request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The body is not UTF-8, so it cannot be signed text.") from None
        if not verify(channel.webhook_secret, signature, body):
            raise exceptions.AuthenticationFailed(
                f"{self.header} does not match the body and the channel's webhook secret, or is older than 5 minutes.")
        principal = Principal(channel_id=channel.pk, channel_code=channel.code, channel_kind=channel.kind,
                              channel=channel)
        return principal, principal

    def authenticate_header(self, request) -> str:
        return "Signature"
