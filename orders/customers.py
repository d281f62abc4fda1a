"""Matching a buyer to one unified customer record across channels."""

from __future__ import annotations

from typing import cast

import phonenumbers
from django.conf import settings

from omnichannel import rawsql
from omnichannel.errors import ValidationFailed
from omnichannel.inserts import insert_unless_conflict
from orders.models import Customer


def normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def normalise_phone(phone: str | None, *, field: str = "customer.phone") -> str | None:
    raw = (phone or "").strip()
    if not raw:
        return None
    try:
        parsed = phonenumbers.parse(raw, cast(str, settings.OMNICHANNEL["DEFAULT_PHONE_REGION"]))
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(f"Not a phone number: {raw!r}.", field=field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(f"Not a valid phone number: {raw!r}.", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def customer_match(*, email: str | None, phone: str | None, name: str = "") -> Customer:
    """The one customer for this email or phone (email wins), created if new.
    Fills in a missing email/phone/name on an existing record. Caller holds a transaction."""
    email, phone = normalise_email(email), normalise_phone(phone)
    if not email and not phone:
        raise ValidationFailed("A customer needs an email or a phone number.", field="customer.email")
    # Written out (omnichannel.rawsql): every capture runs it. Email and phone are each
    # unique, so two rows at most.
    where = " OR ".join(f"t.{rawsql.column(Customer, name)} = %s" for name, value in
                        (("email", email), ("phone", phone)) if value)
    params = [value for value in (email, phone) if value]
    for _ in range(3):
        found = rawsql.instances(Customer, f"WHERE {where}", params)
        by_email = next((c for c in found if email and c.email == email), None)
        by_phone = next((c for c in found if phone and c.phone == phone), None)
        customer = by_email or by_phone
        if customer is None:
            customer = Customer(email=email, phone=phone, name=name)
            if insert_unless_conflict(customer):
                return customer
            continue  # another request created them meanwhile: match again
        updates = {}
        if email and not customer.email:
            updates["email"] = email
        if phone and not customer.phone and by_phone is None:  # nobody else has this phone
            updates["phone"] = phone
        if name and not customer.name:
            updates["name"] = name
        if updates:
            Customer.objects.filter(pk=customer.pk).update(**updates)
            for key, value in updates.items():
                setattr(customer, key, value)
        return customer
    raise ValidationFailed("Could not match the customer; try again.", field="customer")
