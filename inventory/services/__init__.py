"""Every write to inventory. Callers hold a transaction (the entry point opens it).

Quantities are never read-modified-written in Python: each change is a conditional UPDATE
through F() whose WHERE clause re-checks the rule on the row (`ledger.apply`), applied in
stock-level primary-key order so concurrent multi-row changes cannot deadlock; the row
locks some operations take follow the one order in `inventory.locks`. Each change appends
one StockMovement per changed state, which `check_inventory` sums.

Modules: `stock` (receive, adjust, move between states, count, compare-and-set),
`reservations` (orders' reservations and checkout holds), `transfers`, `pos`, `stock_csv`.
"""

from inventory.services.pos import PosSaleResult, pos_sale
from inventory.services.reservations import (
    MAX_HOLD_MINUTES,
    ReserveRequest,
    hold_create,
    hold_release,
    holds_release_expired,
    reservation_rows,
    reservations_commit,
    reservations_release,
    stock_reserve,
    stock_take,
    stock_take_sql,
)
from inventory.services.stock import (
    MOVE_STATES,
    SETTABLE_STATES,
    CountResult,
    stock_adjust,
    stock_count,
    stock_level_ensure,
    stock_move_state,
    stock_receive,
    stock_set,
)
from inventory.services.stock_csv import EXPORT_COLUMNS, ImportResult, stock_export, stock_import
from inventory.services.transfers import (
    TransferLineInput,
    transfer_cancel,
    transfer_receive,
    transfer_request,
    transfer_ship,
)

__all__ = [
    "EXPORT_COLUMNS", "MAX_HOLD_MINUTES", "MOVE_STATES", "SETTABLE_STATES",
    "CountResult", "ImportResult", "PosSaleResult", "ReserveRequest", "TransferLineInput",
    "hold_create", "hold_release", "holds_release_expired",
    "pos_sale",
    "reservations_commit", "reservations_release",
    "stock_adjust", "stock_count", "stock_export", "stock_import", "stock_level_ensure", "stock_move_state",
    "stock_receive", "stock_reserve", "stock_set", "stock_take", "stock_take_sql", "reservation_rows",
    "transfer_cancel", "transfer_receive", "transfer_request", "transfer_ship",
]
