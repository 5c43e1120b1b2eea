// Customers of one grid as one circle (too many to draw one by one). r = [lat, lon, radius, tooltip]; ctx: colour.
function (r, ctx) {
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: r[2], color: ctx.colour, weight: 1,
                                         fillColor: ctx.colour, fillOpacity: 0.45}).bindTooltip(r[3]);
}
