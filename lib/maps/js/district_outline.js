// The district's boundary 区县边界 on the editing map, not clickable. r = [name, rings].
function (r, ctx) {
    return L.polygon(r[1].map(function (p) { return p.map(ctx.ring); }),
                     {color: '#1f2933', weight: 3, fill: false, interactive: false});
}
