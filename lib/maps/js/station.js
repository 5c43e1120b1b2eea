// Station 加油站, a square coloured by grade. r = [lat, lon, grade index, tooltip]; ctx: colours, glyphs, size.
function (r, ctx) {
    var c = ctx.colours[r[2]], s = ctx.size || 20;
    var icon = L.divIcon({className: 'gc-station', iconSize: [s + 2, s + 2], iconAnchor: [s / 2 + 1, s / 2 + 1],
        html: '<div style="width:' + s + 'px;height:' + s + 'px;border-radius:4px;background:' + c + ';color:#fff;'
            + 'border:1px solid #fff;box-shadow:0 0 2px #000;font:bold ' + Math.round(s * 0.6) + 'px/' + s
            + 'px sans-serif;text-align:center">' + ctx.glyphs[r[2]] + '</div>'});
    return L.marker([r[0], r[1]], {icon: icon}).bindTooltip(r[3]);
}
