"""Access checks: every view checks the role, and then the object."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..models import Role


def roles_required(*roles: Role):
    """Let through only logged-in users holding one of ``roles``; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


organizer_required = roles_required(Role.ORGANIZER)


def require_agency(agency_id: int) -> None:
    """An agency contact reaches only its own agency's records; organisers reach all."""
    if current_user.is_organizer:
        return
    if current_user.is_agency and current_user.agency_id == agency_id:
        return
    abort(404)  # do not even confirm the record exists
