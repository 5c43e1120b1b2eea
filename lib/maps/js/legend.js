// The legend 图例 in the bottom right corner, closed on a narrow map (it would hide a quarter of it); ctx = {html, font}.
var legend = L.control({position: 'bottomright'});
legend.onAdd = function () {
    var d = L.DomUtil.create('div', 'gc-legend');
    d.style.cssText = 'background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;font:11px/1.45 ' + ctx.font
        + ';box-shadow:0 0 4px rgba(0,0,0,.3);max-height:55%;overflow:auto';
    d.innerHTML = ctx.html;
    if (map.getSize().x < 720) d.querySelector('details').open = false;  // a narrow map: closed, one click away
    L.DomEvent.disableClickPropagation(d);
    return d;
};
legend.addTo(map);
