"""Tables added for one area of the app (see docs/CONVENTIONS.md); they share lib.models.Base."""
from __future__ import annotations

from lib.models import Base  # noqa: F401
