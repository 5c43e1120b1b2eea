// A gap, overlap or piece outside the district (全覆盖、无交叉 check), in red. r = [tooltip, rings].
function (r, ctx) {
    var polys = r[1].map(function (p) { return p.map(ctx.ring); });
    return L.polygon(polys, {color: '#d00000', weight: 2, fillColor: '#ff0000', fillOpacity: 0.55,
                             dashArray: '4 3', className: 'gc-problem'}).bindTooltip(r[0], {sticky: true});
}
