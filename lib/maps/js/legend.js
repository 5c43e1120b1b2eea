// The legend 图例 in the bottom right corner; ctx = {html, font}.
var legend = L.control({position: 'bottomright'});
legend.onAdd = function () {
    var d = L.DomUtil.create('div', 'gc-legend');
    d.style.cssText = 'background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;font:11px/1.45 ' + ctx.font
        + ';box-shadow:0 0 4px rgba(0,0,0,.3);max-height:55%;overflow:auto';
    d.innerHTML = ctx.html;
    L.DomEvent.disableClickPropagation(d);
    return d;
};
legend.addTo(map);
