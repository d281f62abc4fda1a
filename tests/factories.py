"""factory_boy factories for the network, channels, staff and carriers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from channels_sync.models import SalesChannel
from inventory.models import Location, Product, Sku
from omnichannel.models import StaffMember
from transport.models import Carrier, CarrierService, RateCardEntry


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: f"87100000{n:05d}")
    name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.code}")
    weight_grams = 600
    price = Decimal("49.95")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")
    kind = Location.Kind.WAREHOUSE
    address_line1 = "Dock 1"
    city = "Amsterdam"
    postal_code = "1000AA"
    latitude = 52.37
    longitude = 4.89
    can_ship = True
    can_pickup = False


class StoreFactory(LocationFactory):
    kind = Location.Kind.STORE
    can_pickup = True
    accepts_returns = True


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesChannel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ch{n}")
    name = factory.LazyAttribute(lambda o: f"Channel {o.code}")
    kind = SalesChannel.Kind.WEB


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    user = factory.SubFactory(UserFactory)
    role = StaffMember.Role.PICKER


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = "omnipost"
    name = "OmniPost"


def carrier_with_services() -> Carrier:
    """OmniPost with a standard and an express service and a same-day courier."""
    carrier = CarrierFactory()
    specs = [("omnipost-standard", "Standard", 2, dt.time(17), False, Decimal("4.95")),
             ("omnipost-express", "Express", 1, dt.time(15), False, Decimal("7.95")),
             ("omnipost-sameday", "Same day", 0, dt.time(14), True, Decimal("9.95"))]
    for code, name, days, cutoff, same_day, base in specs:
        service, _ = CarrierService.objects.get_or_create(
            code=code, defaults={"carrier": carrier, "name": name, "transit_days": days, "cutoff_time": cutoff,
                                 "is_same_day": same_day, "max_distance_km": 30 if same_day else None})
        for tier, weight in enumerate([2000, 10000, 31500]):
            for zone, km in enumerate([50, 1000]):
                RateCardEntry.objects.get_or_create(service=service, max_weight_grams=weight, max_km=km,
                                                    defaults={"price": base + tier * 2 + zone * 3})
    return carrier
