// Grid 网格 coloured by the measure. r = [code, name, owner, station, measure text, fill colour, rings].
// ctx: owner, station, measure (labels), selected (grid code), line (colour), fill (opacity).
function (r, ctx) {
    var polys = r[6].map(function (p) { return p.map(ctx.ring); });
    var tip = '<b>' + r[0] + '</b> ' + r[1] + '<br>' + ctx.owner + ': ' + r[2] + '<br>' + ctx.station + ': ' + r[3]
            + (r[4] !== '' ? '<br>' + ctx.measure + ': ' + r[4] : '');
    var sel = ctx.selected === r[0];
    return L.polygon(polys, {color: sel ? '#00bcd4' : ctx.line, weight: sel ? 4 : 1.2, fillColor: r[5],
                             fillOpacity: ctx.fill, className: 'gc-grid'}).bindTooltip(tip, {sticky: true});
}
