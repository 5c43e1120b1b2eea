// A neighbouring grid on the editing map, in grey. r = [tooltip, rings].
function (r, ctx) {
    var polys = r[1].map(function (p) { return p.map(ctx.ring); });
    return L.polygon(polys, {color: '#555', weight: 1, fillColor: '#9fb3c8', fillOpacity: 0.25, interactive: true})
        .bindTooltip(r[0]);
}
