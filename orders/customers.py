"""Matching a buyer to one unified customer record across channels.

The unified record is for ops (who is this person, across every channel). What one order
shows, to its channel and in its notifications, is the contact it was placed with
(`Order.contact_*`): a record matched by email may hold a phone and a name another channel
was given, which this order's channel must not see."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Contact:
    """A buyer's contact as one order gives it, normalised: email lower case, phone E.164."""

    email: str | None
    phone: str | None
    name: str = ""


def contact_normalise(*, email: str | None, phone: str | None, name: str = "") -> Contact:
    """The contact, normalised, or ValidationFailed: a phone that is not one, or neither an
    email nor a phone."""
    contact = Contact(normalise_email(email), normalise_phone(phone), name)
    if not contact.email and not contact.phone:
        raise ValidationFailed("A customer needs an email or a phone number.", field="customer.email")
    return contact


def customer_match(contact: Contact) -> Customer:
    """The one customer for this email or phone (email wins), created if new.
    Fills in a missing email/phone/name on an existing record. Caller holds a transaction."""
    email, phone, name = contact.email, contact.phone, contact.name
    if not email and not phone:
        raise ValidationFailed("A customer needs an email or a phone number.", field="customer.email")
    # Written out (omnichannel.rawsql): every capture runs it. Email and phone are each
    # unique, so two rows at most.
    where = " OR ".join(f"t.{rawsql.column(Customer, column)} = %s" for column, value in
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
