"""`import_file` for tests written before imports took the acting user (issue 14): the file is
imported as an admin (lib.actors.system_user) whose scope is `scope` (default the whole
organisation) and whose login is `actor`, so the scope checks and the audit are what they were.
Tests of rights pass `user=` (a SessionUser of the role under test) and reach lib.importer directly."""
from __future__ import annotations

import dataclasses

from lib import importer
from lib.actors import system_user


def import_file(engine, kind: str, data: bytes, filename: str, *, scope: str | None = None, actor: str = "import",
                user=None, **kw) -> importer.ImportReport:
    """lib.importer.import_file as `user`, else as an admin of `scope` logged in as `actor`."""
    if user is None:
        user = dataclasses.replace(system_user(engine, scope), login=actor)
    return importer.import_file(engine, kind, data, filename, user=user, **kw)
