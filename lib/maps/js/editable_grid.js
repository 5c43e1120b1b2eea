// A grid being edited: a polygon the Draw plugin (Leaflet.draw 1.0) can reshape. r = [grid id, code, rings].
// editing/original: the styles Leaflet.draw's Edit.Poly switches between (setStyle), empty = unchanged.
// feature.properties carries grid_id and code back to Python (lib.maps.editing.drawings_to_changes).
function (r, ctx) {
    var polys = r[2].map(function (p) { return p.map(ctx.ring); });
    var layer = L.polygon(polys.length === 1 ? polys[0] : polys, {color: '#c8102e', weight: 2, fillOpacity: 0.25,
                                                                  editing: {}, original: {}});
    layer.feature = {type: 'Feature', properties: {grid_id: r[0], code: r[1]}};
    layer.bindTooltip(r[1], {permanent: false});
    return layer;
}
