"""Maps (地图): the grid map 网格地图, the station customer map 客户地图, grid editing 网格编辑 and
the grid owner's service contact card 服务联系方式卡 (000 §3.2.2).

- `data`: the scoped reads (every query takes a scope) and what the maps draw assembled from them;
- `layers`: the folium grid map and customer map (`MapResult`); `elements`: their building blocks;
- `context`: the city and district boundaries with their names around the scope, on every map;
- `editing`: the editing map, drawn or uploaded shapes → grid changes, the checked and audited save;
- `card`: the contact card (SVG, printable HTML); `labels`: the tables beside the maps;
- `assets`: Leaflet and plugins served locally (manifest `assets.toml`, fetched outside the source tree).

JavaScript is in `js/`, HTML and SVG templates in `templates/`. The names below are the ones the
pages, the briefing, the bench and the tests use, so `from lib import maps` is enough.
"""
from lib.grids import from_geojson
from lib.maps.card import contact_card_html, contact_card_svg, grid_svg_path
from lib.maps.data import (
                           INDIVIDUAL_LEVELS,
                           MAX_POINTS,
                           STATUS_GROUPS,
                           customer_rings,
                           grid_map_data,
                           grid_panel,
                           parse_radii,
)
from lib.maps.editing import (
                           GridChangeRefused,
                           check_change,
                           district_grids,
                           drawings_to_changes,
                           edit_map,
                           grid_history,
                           proposed_changes,
                           rebalance,
                           refusal_reason,
                           save_grid_geometries,
                           snap_changes,
                           upload_to_changes,
)
from lib.maps.elements import BACKGROUNDS, DataLayer, MapScript, available_backgrounds, background_datum
from lib.maps.labels import labelled, partition_problems, partition_summary
from lib.maps.layers import (
                           DEFAULT_LAYERS,
                           GRADES,
                           LAYERS,
                           MEASURES,
                           NO_DATA,
                           MapResult,
                           class_breaks,
                           colour_for,
                           format_measure,
                           grid_code_from_tooltip,
                           grid_map,
                           measure_values,
                           ring_map,
)

__all__ = [
    "BACKGROUNDS", "DEFAULT_LAYERS", "GRADES", "INDIVIDUAL_LEVELS", "LAYERS", "MAX_POINTS", "MEASURES", "NO_DATA",
    "STATUS_GROUPS", "DataLayer", "GridChangeRefused", "MapResult", "MapScript", "available_backgrounds",
    "background_datum", "check_change", "class_breaks", "colour_for", "contact_card_html", "contact_card_svg",
    "customer_rings", "district_grids", "drawings_to_changes", "edit_map", "format_measure", "from_geojson",
    "grid_code_from_tooltip", "grid_history", "grid_map", "grid_map_data", "grid_panel", "grid_svg_path", "labelled",
    "measure_values", "parse_radii", "partition_problems", "partition_summary", "proposed_changes", "rebalance",
    "refusal_reason", "ring_map", "save_grid_geometries", "snap_changes", "upload_to_changes",
]
