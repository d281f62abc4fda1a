"""How the OpenAPI schema (and so /api/docs/) describes the API's token authentication."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "channels_sync.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <token>` (or `Bearer <token>`). A sales channel's token "
                           "(`manage.py api_token --channel CODE`) sees that channel's orders only; a staff "
                           "user's (`manage.py api_token --user NAME`) acts where the user's role and location allow.",
        }


class ChannelSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "channels_sync.auth.ChannelSignatureAuthentication"
    name = "ChannelSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "X-Omnichannel-Signature",
            "description": '`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the channel\'s '
                           "webhook secret, at most 5 minutes old: a channel's own platform pushing orders.",
        }
