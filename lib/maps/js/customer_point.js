// One customer on the canvas. r = [lat, lon, colour index, tooltip]; ctx: colours, radius.
function (r, ctx) {
    var c = ctx.colours[r[2]];
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: ctx.radius, color: '#ffffff', weight: 0.6,
                                         fillColor: c, fillOpacity: 0.9}).bindTooltip(r[3]);
}
