"""`manage.py api_token --channel CODE | --user USERNAME`: print only the token, so
`TOKEN=$(python manage.py api_token --channel web)` works. An existing token is shown
again (it is derived from the secret key); one is issued if there is none."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from channels_sync.models import SalesChannel
from channels_sync.tokens import token_reveal_or_issue


class Command(BaseCommand):
    help = "Print an API token for a sales channel or a staff user, issuing one if needed."

    def add_arguments(self, parser):
        parser.add_argument("--channel", help="Sales channel code, e.g. web.")
        parser.add_argument("--user", help="Username of a staff user.")

    def handle(self, *args, channel: str | None = None, user: str | None = None, **options):
        if bool(channel) == bool(user):
            raise CommandError("Give exactly one of --channel CODE or --user USERNAME.")
        with transaction.atomic():
            if channel:
                sales_channel = SalesChannel.objects.filter(code=channel).first()
                if sales_channel is None:
                    known = ", ".join(SalesChannel.objects.order_by("code").values_list("code", flat=True))
                    raise CommandError(f"Unknown channel {channel!r} (known: {known or 'none'}).")
                token = token_reveal_or_issue(name=f"{channel} channel", channel=sales_channel)
            else:
                account = get_user_model().objects.filter(username=user).first()
                if account is None:
                    raise CommandError(f"Unknown user {user!r}.")
                if not account.is_active:
                    raise CommandError(f"User {user!r} is inactive.")
                token = token_reveal_or_issue(name=f"{user} user", user=account)
        self.stdout.write(token)
