// Context layer 行政区划: boundaries of the cities/districts around the scope and their names, never clickable.
// r = [0, style, rings] for a unit's polygon, [2, style, lines] for borders drawn once,
// [1, style, [lat, lon, name, rank]] for a name; ctx: styles, font.
// Boundaries go to the pane gcContext, names to gcContextLabels (context_panes.js).
function (r, ctx) {
    var s = ctx.styles[r[1]];
    if (r[0] === 2) {
        return L.polyline(r[2].map(ctx.ring), {pane: 'gcContext', interactive: false, color: s.color,
            weight: s.weight, opacity: s.opacity, dashArray: s.dash || null});
    }
    if (r[0] === 0) {
        return L.polygon(r[2].map(function (p) { return p.map(ctx.ring); }), {
            pane: 'gcContext', interactive: false, color: s.color, weight: s.weight, opacity: s.opacity,
            dashArray: s.dash || null, fill: s.fill > 0, fillColor: s.fillColor || s.color, fillOpacity: s.fill});
    }
    var html = '<span class="gc-label-text" data-rank="' + r[2][3] + '" style="position:absolute;left:0;top:0;'
        + 'transform:translate(-50%,-50%);white-space:nowrap;pointer-events:none;font-family:' + ctx.font + ';'
        + 'text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;' + s.label + '">' + r[2][2] + '</span>';
    return L.marker([r[2][0], r[2][1]], {pane: 'gcContextLabels', interactive: false, keyboard: false,
        icon: L.divIcon({className: 'gc-label', html: html, iconSize: [0, 0]})});
}
