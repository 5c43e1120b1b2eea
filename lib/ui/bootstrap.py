"""Engine and first start 启动: one engine per database URL, the demo province built on an empty database,
and the start-up line saying which address the app serves (127.0.0.1 only unless told otherwise)."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import auth
from lib.config import database_url
from lib.db import is_empty, make_engine, upgrade
from lib.ui.cache import engine_key, invalidate

_bootstrap_lock = threading.Lock()
_ready: set[str] = set()


def get_engine() -> Engine:
    """Return the app's engine for the configured database (one per URL and process), schema
    upgraded to the latest migration."""
    return _engine_for(database_url())


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    print(serving_note(st.get_option("server.address"), st.get_option("server.port")), flush=True)
    return engine


def serving_note(address: str | None, port: int) -> str:
    """The start-up log line: where the app listens. The default (.streamlit/config.toml) is 127.0.0.1,
    this machine only; `--server.address 0.0.0.0` or STREAMLIT_SERVER_ADDRESS serve the network."""
    address = (address or "").strip()
    if address in ("127.0.0.1", "localhost", "::1"):
        return (f"[gridcrm] serving on http://{address}:{port} only (this machine). To serve other machines, "
                "start with --server.address 0.0.0.0 or set STREAMLIT_SERVER_ADDRESS (and change the demo passwords).")
    return f"[gridcrm] serving on {address or 'every interface'} port {port}: reachable from the network."


def demo_mode() -> bool:
    """True when an empty database should be filled with the demo province (the default SQLite)."""
    default = "0" if os.environ.get("DATABASE_URL") else "1"
    return os.environ.get("GRIDCRM_DEMO", default) == "1"


def ensure_data(engine: Engine, t: Callable[..., str]) -> None:
    """On first start, create the demo province with a progress bar; later starts return at once."""
    if engine_key(engine) in _ready:
        return
    if not is_empty(engine):
        _ready.add(engine_key(engine))
        return
    if not demo_mode():
        return  # a real company's first start: the login page asks for the first admin and the province
    with _bootstrap_lock:
        if not is_empty(engine):  # another session built it while we waited
            return
        from lib import demo

        bar = st.progress(0.0, text=t("bootstrap.start"))

        def progress(fraction: float, step: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t(f"bootstrap.step.{step}"))

        demo.generate(engine, progress=progress)
        auth.create_demo_users(engine)
        bar.empty()
    invalidate()  # a whole new database: every cache
