// One customer of the station customer map 客户地图, coloured by status. r = [lat, lon, status index, tooltip].
function (r, ctx) {
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: 5, color: '#fff', weight: 0.8,
                                         fillColor: ctx.colours[r[2]], fillOpacity: 0.9}).bindTooltip(r[3]);
}
