"""Order router: which locations ship which units of an order.

Pure Python (numpy, OR-Tools), no Django: the platform maps its models onto the
dataclasses in `models` and calls `route_order` (one order) or `route_orders` (a
sequence sharing stock). Strategies: "optimal" (exact minimum cost), "rules"
(Shopify-style ordered rules), "myopic" (nearest holder per line, the baseline).
CLI: `python -m orders.routing solve INSTANCE.json --strategy optimal|rules|myopic`.
"""

from orders.routing.engine import STRATEGIES, route_order, route_orders
from orders.routing.models import (
    DEFAULT_RULES,
    RULE_NAMES,
    Allocation,
    CandidateLocation,
    CandidateReport,
    CostBreakdown,
    CostModel,
    OrderLine,
    RoutingOptions,
    RoutingOrder,
    RoutingResult,
    ShippingFn,
)

__all__ = [
    "DEFAULT_RULES",
    "RULE_NAMES",
    "STRATEGIES",
    "Allocation",
    "CandidateLocation",
    "CandidateReport",
    "CostBreakdown",
    "CostModel",
    "OrderLine",
    "RoutingOptions",
    "RoutingOrder",
    "RoutingResult",
    "ShippingFn",
    "route_order",
    "route_orders",
]
