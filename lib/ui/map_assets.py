"""Map assets for the map pages 地图资源: where the browser loads Leaflet and its plugins from."""
from __future__ import annotations

import streamlit as st


def map_asset_base() -> str:
    """Return the URL the maps load Leaflet and its plugins from (lib.maps.assets): the checked
    asset folder (fetched at the first map of the process), served by this Streamlit server."""
    from streamlit.components.v1 import declare_component  # imported here: only map pages need them

    from lib.maps import assets
    return assets.serve(declare_component, st.get_option("server.baseUrlPath"))
