import secrets

# Crockford-style alphabet: no I, L, O, U, so a number read over the phone is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number(prefix: str = "OC") -> str:
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def new_pickup_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"
