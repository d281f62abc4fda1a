"""The contact of each order placed before orders kept their own (0005)."""

import phonenumbers
from django.conf import settings
from django.db import migrations, transaction

BATCH = 2000


def _phone(raw):
    raw = raw.strip() if isinstance(raw, str) else ""
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, str(settings.OMNICHANNEL["DEFAULT_PHONE_REGION"]))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _sent(payload):
    """(email, phone, name) as the order's payload gave them, normalised as capture does;
    None for a part that cannot be read."""
    customer = payload.get("customer") if isinstance(payload, dict) else None
    if not isinstance(customer, dict):
        return None, None, None
    email, name = customer.get("email"), customer.get("name")
    email = email.strip().lower() if isinstance(email, str) else "" if email is None else None
    name = name.strip()[:200] if isinstance(name, str) else "" if name is None else None
    return email, _phone(customer.get("phone")), name


def backfill_contacts(apps, schema_editor):
    """Each existing order's contact: what its accepted payload (the `processed` message in the
    channel's inbound archive) sent, where that is kept; else, or for a part it does not give
    readably, what its customer record holds now (the best there is). In batches, each its
    own transaction (the migration is not atomic): orders are not all locked till the end."""
    Order = apps.get_model("orders", "Order")
    InboundMessage = apps.get_model("channels_sync", "InboundMessage")
    quote, meta = schema_editor.connection.ops.quote_name, Order._meta
    update = (f"UPDATE {quote(meta.db_table)} SET "  # noqa: S608 - identifiers from the model
              + ", ".join(f"{quote(meta.get_field(name).column)} = %s"
                          for name in ("contact_email", "contact_phone", "contact_name"))
              + f" WHERE {quote(meta.pk.column)} = %s")
    last = 0
    while True:
        orders = list(Order.objects.filter(pk__gt=last).order_by("pk").select_related("customer")
                      .only("number", "channel_id", "customer__email", "customer__phone", "customer__name")[:BATCH])
        if not orders:
            return
        last = orders[-1].pk
        payloads = {}
        for channel_id, number, payload in (
                InboundMessage.objects.filter(status="processed", order_number__in=[o.number for o in orders])
                .order_by("-pk").values_list("channel_id", "order_number", "payload")):
            payloads[channel_id, number] = payload  # the earliest wins
        rows = []
        for order in orders:
            email, phone, name = _sent(payloads.get((order.channel_id, order.number)))
            customer = order.customer
            rows.append(((customer.email or "") if email is None else email,
                         (customer.phone or "") if phone is None else phone,
                         customer.name if name is None else name, order.pk))
        with transaction.atomic(using=schema_editor.connection.alias), \
                schema_editor.connection.cursor() as cursor:
            cursor.executemany(update, rows)


class Migration(migrations.Migration):

    atomic = False  # each batch commits on its own; run again, it writes the same values

    dependencies = [
        ("channels_sync", "0001_initial"),
        ("orders", "0005_order_contact"),
    ]

    operations = [
        migrations.RunPython(backfill_contacts, migrations.RunPython.noop, elidable=True),
    ]
