"""`manage.py seed_demo`: a believable Amsterdam network to click through and demo.

Idempotent (rows keyed on their codes; stock is received only where no stock level
exists yet, through `inventory.services.stock_receive`, so the ledger stays true),
deterministic (random.Random(42)), and all in one transaction."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Q, Sum

from channels_sync.models import SalesChannel
from channels_sync.tokens import token_reveal_or_issue
from inventory.models import Location, Product, Sku, StockLevel
from inventory.services import stock_receive
from omnichannel.models import StaffMember
from transport.models import Carrier, CarrierService, RateCardEntry

PROJECT_APP_LABELS = ["kernel", "inventory", "transport", "warehouse", "orders", "channels_sync"]
OPS_GROUP = "Operations"
ACTOR = "seed_demo"

W, S = Location.Kind.WAREHOUSE, Location.Kind.STORE
# code, name, kind, address, postal code, city, latitude, longitude, same day, daily capacity
LOCATIONS = [
    ("WH-WPT", "Warehouse Westpoort", W, "Nieuw-Zeelandweg 15", "1045 AL", "Amsterdam", 52.4080, 4.7800, False, 5000),
    ("WH-SPL", "Warehouse Schiphol Logistics Park", W, "Pudongweg 37", "1437 EM", "Rozenburg", 52.2870, 4.7350,
     False, 4000),
    ("ST-KLV", "Store Kalverstraat", S, "Kalverstraat 212", "1012 XE", "Amsterdam", 52.3683, 4.8917, True, 80),
    ("ST-PIJP", "Store De Pijp", S, "Ferdinand Bolstraat 119", "1072 LG", "Amsterdam", 52.3547, 4.8924, True, 50),
    ("ST-OOST", "Store Oost", S, "Javastraat 88", "1094 HL", "Amsterdam", 52.3627, 4.9390, True, 50),
    ("ST-NRD", "Store Noord", S, "Buikslotermeerplein 60", "1025 EV", "Amsterdam", 52.4007, 4.9327, False, 40),
    ("ST-WEST", "Store West", S, "Kinkerstraat 120", "1053 ED", "Amsterdam", 52.3671, 4.8660, True, 50),
    ("ST-ZUID", "Store Zuid", S, "Beethovenstraat 60", "1077 JH", "Amsterdam", 52.3451, 4.8769, True, 60),
    ("ST-AMV", "Store Amstelveen Stadshart", S, "Binnenhof 34", "1181 ZH", "Amstelveen", 52.3029, 4.8606, False, 60),
    ("ST-BYL", "Store Bijlmer ArenA", S, "Arena Boulevard 81", "1101 DL", "Amsterdam", 52.3122, 4.9466, False, 50),
    ("ST-SLD", "Store Sloterdijk", S, "Orlyplein 10", "1043 DP", "Amsterdam", 52.3889, 4.8378, False, 40),
]
WAREHOUSES = [code for code, _, kind, *_ in LOCATIONS if kind == W]

SHOE_SIZES = [str(size) for size in range(38, 47)]
APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
ONE_SIZE = ["one size"]


@dataclass(frozen=True)
class ProductSpec:
    number: int  # part of the EAN-13, fixed so barcodes never move between runs
    code: str
    name: str
    category: str
    price: str
    weight_grams: int
    dimensions_mm: tuple[int, int, int]
    colours: tuple[str, ...]
    sizes: tuple[str, ...]


CATALOGUE = [
    ProductSpec(1001, "RUN1", "Runner One", "Footwear", "129.95", 900, (330, 210, 120),
                ("black", "white", "blue", "red"), tuple(SHOE_SIZES)),
    ProductSpec(1002, "TRAIL", "Trail Pro", "Footwear", "149.95", 1000, (340, 220, 130), ("grey", "green"),
                tuple(SHOE_SIZES)),
    ProductSpec(1003, "COURT", "Court Classic", "Footwear", "99.95", 850, (320, 200, 115), ("white", "navy"),
                tuple(SHOE_SIZES)),
    ProductSpec(2001, "TEE", "Essential Tee", "Apparel", "24.95", 200, (300, 250, 20),
                ("black", "white", "navy", "grey", "olive"), tuple(APPAREL_SIZES)),
    ProductSpec(2002, "HOOD", "Merino Hoodie", "Apparel", "89.95", 600, (350, 300, 60), ("black", "grey", "burgundy"),
                tuple(APPAREL_SIZES[1:])),
    ProductSpec(2003, "RAIN", "Rain Jacket", "Apparel", "119.95", 700, (400, 300, 60), ("black", "yellow", "navy"),
                tuple(APPAREL_SIZES[1:])),
    ProductSpec(2004, "CHINO", "Slim Chino", "Apparel", "69.95", 500, (350, 280, 40), ("beige", "navy", "black"),
                ("28", "30", "32", "34", "36")),
    ProductSpec(2005, "DENIM", "Straight Denim", "Apparel", "89.95", 700, (350, 280, 50), ("indigo", "black"),
                tuple(f"{w}/{inseam}" for w in (28, 30, 32, 34, 36) for inseam in (30, 32))),
    ProductSpec(2006, "LEGGING", "Sport Leggings", "Apparel", "44.95", 250, (280, 220, 30), ("black", "navy"),
                tuple(APPAREL_SIZES[:5])),
    ProductSpec(3001, "SOCKS", "Running Socks 3-pack", "Accessories", "14.95", 150, (200, 120, 40),
                ("white", "black"), ("35-38", "39-42", "43-46")),
    ProductSpec(3002, "BEANIE", "Wool Beanie", "Accessories", "24.95", 100, (220, 180, 30),
                ("black", "grey", "red", "navy"), tuple(ONE_SIZE)),
    ProductSpec(3003, "BELT", "Leather Belt", "Accessories", "49.95", 250, (300, 120, 50), ("brown", "black"),
                ("85", "90", "95", "100", "105")),
    ProductSpec(3004, "PACK", "City Backpack 20L", "Bags", "79.95", 800, (450, 300, 150), ("black", "olive", "navy"),
                tuple(ONE_SIZE)),
    ProductSpec(3005, "CAP", "Logo Cap", "Accessories", "19.95", 120, (250, 200, 120),
                ("black", "white", "navy", "red"), tuple(ONE_SIZE)),
    ProductSpec(3006, "GYMBAG", "Gym Bag", "Bags", "59.95", 900, (500, 280, 250), ("black", "grey"), tuple(ONE_SIZE)),
]

# Runner One colours live in different places, so routing has real choices to make.
RUNNER_COLOUR_LOCATIONS = {
    "black": None,  # everywhere
    "white": ["WH-WPT", "WH-SPL", "ST-KLV", "ST-WEST", "ST-ZUID", "ST-AMV", "ST-SLD"],
    "blue": ["WH-WPT", "ST-OOST", "ST-ZUID", "ST-AMV"],
    "red": ["ST-KLV", "ST-PIJP", "ST-NRD"],  # stores only
}

CHANNELS = [
    ("web", "Web store", SalesChannel.Kind.WEB, SalesChannel.ShortStockPolicy.REJECT),
    ("app", "Mobile app", SalesChannel.Kind.APP, SalesChannel.ShortStockPolicy.REJECT),
    ("pos", "Store POS", SalesChannel.Kind.POS, SalesChannel.ShortStockPolicy.REJECT),
    ("amazon", "Amazon marketplace", SalesChannel.Kind.MARKETPLACE, SalesChannel.ShortStockPolicy.BACKORDER),
]

WEIGHT_TIERS = [1000, 2000, 5000, 10000, 20000, 31500]
# code, name, transit days, cutoff, same day, max km, price per weight tier, surcharge per zone (km)
SERVICES = [
    ("omnipost-standard", "Standard", 2, time(17, 0), False, None,
     ["4.95", "5.95", "7.45", "9.95", "13.95", "18.95"], {10: "0", 50: "0.75", 200: "1.75", 1000: "4.50"}),
    ("omnipost-express", "Express", 1, time(15, 0), False, None,
     ["8.95", "9.95", "11.95", "14.95", "19.95", "26.95"], {10: "0", 50: "1.25", 200: "2.50", 1000: "6.50"}),
    ("omnipost-sameday", "Same-day courier", 0, time(14, 0), True, 30.0,
     ["9.95", "10.95", "12.95", "15.95", "21.95"], {10: "0", 30: "3.00"}),
]


def ean13(first12: str) -> str:
    """The 12 digits with their EAN-13 check digit (weights 1,3,1,3,... from the left)."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


COLOUR_CODES = {"black": "BLK", "white": "WHT", "blue": "BLU", "red": "RED", "grey": "GRY", "green": "GRN",
                "navy": "NVY", "olive": "OLV", "burgundy": "BRG", "yellow": "YLW", "beige": "BGE", "indigo": "IND",
                "brown": "BRN"}


def sku_code(spec: ProductSpec, colour: str, size: str) -> str:
    return f"{spec.code}-{COLOUR_CODES[colour]}-{size.replace('/', '-').replace(' ', '').upper()}"


class Command(BaseCommand):
    help = "Seed a demo network in Amsterdam (locations, catalogue, stock, channels, carrier, staff). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    def handle(self, *args, quiet: bool = False, **options):
        rng = random.Random(42)
        self._hashes: dict[str, str] = {}
        with transaction.atomic():
            locations = self.seed_locations()
            skus = self.seed_catalogue()
            received = self.seed_stock(skus, locations, rng)
            channels = self.seed_channels()
            self.seed_carrier()
            self.seed_staff(locations)
            token = token_reveal_or_issue(name="web storefront", channel=channels["web"])
        if not quiet:
            self.print_summary(received, token)

    def seed_locations(self) -> dict[str, Location]:
        locations = {}
        for code, name, kind, line1, postal_code, city, lat, lon, same_day, capacity in LOCATIONS:
            is_store = kind == S
            locations[code], _ = Location.objects.update_or_create(code=code, defaults={
                "name": name, "kind": kind, "address_line1": line1, "postal_code": postal_code, "city": city,
                "country": "NL", "latitude": lat, "longitude": lon, "can_ship": True, "can_pickup": is_store,
                "can_same_day": same_day, "accepts_returns": is_store, "daily_order_capacity": capacity,
                "handling_cost_per_order": Decimal("3.50" if is_store else "0.80"),
                "handling_cost_per_unit": Decimal("0.50" if is_store else "0.10"),
                "processing_minutes": 90 if is_store else 60, "is_active": True,
            })
        return locations

    def seed_catalogue(self) -> list[tuple[ProductSpec, Sku]]:
        skus = []
        for spec in CATALOGUE:
            product, _ = Product.objects.update_or_create(code=spec.code, defaults={
                "name": spec.name, "brand": "Omni", "category": spec.category,
                "description": f"{spec.name}, {spec.category.lower()} by Omni."})
            variant = 0
            for colour in spec.colours:
                for size_index, size in enumerate(spec.sizes):
                    variant += 1
                    length, width, height = spec.dimensions_mm
                    sku, _ = Sku.objects.update_or_create(code=sku_code(spec, colour, size), defaults={
                        "product": product, "name": f"{spec.name} {colour} {size}",
                        "barcode": ean13(f"871{spec.number:04d}{variant:05d}"),
                        "attributes": {"size": size, "colour": colour},
                        "weight_grams": spec.weight_grams + 20 * size_index, "length_mm": length,
                        "width_mm": width, "height_mm": height, "price": Decimal(spec.price), "is_active": True})
                    skus.append((spec, sku))
        return skus

    def stock_plan(self, skus: list[tuple[ProductSpec, Sku]], rng: random.Random) -> list[tuple[Sku, str, int]]:
        """(sku, location code, quantity) for every stock level the demo starts with.

        Every draw is made in a fixed order whatever the database holds, so the plan is
        the same on every run."""
        plan = []
        for spec, sku in skus:
            allowed = RUNNER_COLOUR_LOCATIONS.get(sku.attributes["colour"]) if spec.code == "RUN1" else None
            for code, _, kind, *_ in LOCATIONS:
                roll, big, small = rng.random(), rng.randint(20, 150), rng.randint(1, 6)
                if allowed is not None:
                    if code in allowed and (kind == W or roll < 0.75):
                        plan.append((sku, code, big if kind == W else small))
                elif kind == W and roll < (0.92 if code == "WH-WPT" else 0.7):
                    plan.append((sku, code, big))
                elif kind == S and roll < 0.35:
                    plan.append((sku, code, small))
        return plan

    def seed_stock(self, skus, locations: dict[str, Location], rng: random.Random) -> int:
        existing = set(StockLevel.objects.values_list("sku_id", "location__code"))
        received = 0
        for sku, code, quantity in self.stock_plan(skus, rng):
            if (sku.pk, code) in existing:
                continue
            stock_receive(sku=sku, location=locations[code], quantity=quantity, reason="receive",
                          reference_type="seed", reference_id="demo", actor=ACTOR)
            received += 1
        return received

    def seed_channels(self) -> dict[str, SalesChannel]:
        channels = {}
        for code, name, kind, policy in CHANNELS:
            channels[code], _ = SalesChannel.objects.update_or_create(code=code, defaults={
                "name": name, "kind": kind, "short_stock_policy": policy, "is_active": True})
        return channels

    def seed_carrier(self) -> None:
        carrier, _ = Carrier.objects.update_or_create(code="omnipost", defaults={
            "name": "OmniPost", "kind": Carrier.Kind.BUILTIN, "is_active": True})
        for code, name, transit, cutoff, same_day, max_km, tier_prices, zones in SERVICES:
            service, _ = CarrierService.objects.update_or_create(code=code, defaults={
                "carrier": carrier, "name": name, "transit_days": transit, "cutoff_time": cutoff,
                "is_same_day": same_day, "max_distance_km": max_km, "is_active": True})
            for weight, base in zip(WEIGHT_TIERS, tier_prices, strict=False):  # same day stops at 20 kg
                for km, surcharge in zones.items():
                    RateCardEntry.objects.update_or_create(
                        service=service, max_weight_grams=weight, max_km=km,
                        defaults={"price": Decimal(base) + Decimal(surcharge), "currency": "EUR"})

    def seed_staff(self, locations: dict[str, Location]) -> None:
        password = os.environ.get("DEMO_PASSWORD", "demo-pass-123")
        admin_password = os.environ.get("DEMO_ADMIN_PASSWORD", "admin-pass-123")
        self.user("admin", admin_password, is_staff=True, is_superuser=True)
        group, _ = Group.objects.get_or_create(name=OPS_GROUP)
        group.permissions.add(*Permission.objects.filter(
            Q(content_type__app_label__in=PROJECT_APP_LABELS, codename__regex=r"^(view|change)_")
            | Q(content_type__app_label="auth", codename="view_user")))  # staff member user autocomplete
        ops = self.user("ops", password, is_staff=True)
        ops.groups.add(group)
        StaffMember.objects.update_or_create(user=ops, defaults={"role": StaffMember.Role.OPS, "location": None})
        for code, location in locations.items():
            picker = self.user(f"picker-{code.lower()}", password)
            StaffMember.objects.update_or_create(user=picker, defaults={
                "role": StaffMember.Role.PICKER, "location": location})

    def user(self, username: str, password: str, *, is_staff: bool = False, is_superuser: bool = False):
        """The user, created with `password`; an existing user's password is left alone."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = get_user_model().objects.create(
                username=username, email=f"{username}@omnichannel.local", password=self.password_hash(password),
                is_staff=is_staff, is_superuser=is_superuser)
        return user

    def password_hash(self, password: str) -> str:
        """Each distinct password hashed once: PBKDF2 for every demo user would take seconds."""
        if password not in self._hashes:
            self._hashes[password] = make_password(password)
        return self._hashes[password]

    def print_summary(self, received: int, token: str) -> None:
        kinds = dict(Location.objects.values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
        units = StockLevel.objects.aggregate(units=Sum("on_hand"))["units"] or 0
        admin_password = ("from DEMO_ADMIN_PASSWORD" if "DEMO_ADMIN_PASSWORD" in os.environ
                          else "admin-pass-123")
        staff_password = "from DEMO_PASSWORD" if "DEMO_PASSWORD" in os.environ else "demo-pass-123"
        lines = [
            f"Locations: {kinds.get(W, 0)} warehouses, {kinds.get(S, 0)} stores",
            f"Catalogue: {Product.objects.count()} products, {Sku.objects.count()} SKUs",
            f"Stock: {StockLevel.objects.count()} stock levels, {units} units on hand "
            f"({received} stock levels received this run)",
            f"Channels: {', '.join(SalesChannel.objects.order_by('code').values_list('code', flat=True))}",
            f"Carrier services: {CarrierService.objects.count()}, rate card rows: {RateCardEntry.objects.count()}",
            f"Staff: {StaffMember.objects.count()} (ops and one picker per location, password {staff_password})",
            f"Admin: /admin/ user 'admin', password {admin_password}",
            f"Web channel token: {token}",
        ]
        self.stdout.write(self.style.SUCCESS("Demo network seeded."))
        for line in lines:
            self.stdout.write(f"  {line}")
