"""Who is calling: a sales channel (storefront token) or a staff member (ops, picker,
driver), and what each may see. Every API object is scoped to its caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_framework.permissions import BasePermission


@dataclass(frozen=True)
class Principal:
    channel_id: int | None = None
    channel_code: str = ""
    channel_kind: str = ""
    user: Any = None
    role: str = ""
    location_id: int | None = None
    channel: Any = field(default=None, compare=False, repr=False)  # the SalesChannel row, when known

    is_authenticated = True
    is_active = True

    @property
    def is_channel(self) -> bool:
        return self.channel_id is not None

    @property
    def is_ops(self) -> bool:
        return self.role == "ops"

    @property
    def is_floor(self) -> bool:
        return self.role in {"picker", "driver"} and self.location_id is not None

    @property
    def actor(self) -> str:
        if self.is_channel:
            return f"channel:{self.channel_code}"
        return f"{self.role or 'user'}:{getattr(self.user, 'username', '?')}"

    # DRF and Django treat request.user as a user object.
    @property
    def pk(self) -> int | None:
        return getattr(self.user, "pk", None)

    def __str__(self) -> str:
        return self.actor


def principal_for_user(user: Any) -> Principal | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    staff = getattr(user, "staff", None) if hasattr(user, "staff") else None
    if staff is not None:
        return Principal(user=user, role=staff.role, location_id=staff.location_id)
    if user.is_superuser:
        return Principal(user=user, role="ops")
    return Principal(user=user)


def principal_of(request: Any) -> Principal | None:
    if isinstance(request.auth, Principal):
        return request.auth
    return principal_for_user(getattr(request, "user", None))


class IsChannel(BasePermission):
    message = "This endpoint is for a sales channel's API token."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        return bool(principal and principal.is_channel)


class IsPosChannel(BasePermission):
    message = "This endpoint is for a store till: a channel token of kind 'pos'."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        return bool(principal and principal.is_channel and principal.channel_kind == "pos")


class IsStaff(BasePermission):
    message = "This endpoint is for staff (ops or floor staff)."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        return bool(principal and (principal.is_ops or principal.is_floor))


class IsOps(BasePermission):
    message = "This endpoint is for operations staff."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        return bool(principal and principal.is_ops)


class IsChannelOrStaff(BasePermission):
    message = "A channel token or a staff login is needed."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        return bool(principal and (principal.is_channel or principal.is_ops or principal.is_floor))
