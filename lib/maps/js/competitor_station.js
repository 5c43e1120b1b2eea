// Competitor station 竞争对手加油站, a black triangle. r = [lat, lon, tooltip].
function (r, ctx) {
    var icon = L.divIcon({className: 'gc-competitor', iconSize: [16, 16], iconAnchor: [8, 8],
        html: '<div style="width:0;height:0;border-left:8px solid transparent;border-right:8px solid transparent;'
            + 'border-bottom:14px solid #222"></div>'});
    return L.marker([r[0], r[1]], {icon: icon}).bindTooltip(r[2]);
}
