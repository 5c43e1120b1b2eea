// Panes of the context layer: boundaries just above the grids' fill (overlay pane 400), names above the
// stations (marker pane 600) and under the tooltips (650), neither catching the mouse. A name that would overlap a more
// important one (lower rank: the scope's units first, larger first) is hidden until the zoom makes room.
['gcContext', 'gcContextLabels'].forEach(function (name, i) {
    var pane = map.getPane(name) || map.createPane(name);
    pane.style.zIndex = i === 0 ? 410 : 620;
    pane.style.pointerEvents = 'none';
});
var pending = false;
function declutter() {
    pending = false;
    var els = Array.prototype.slice.call(map.getPane('gcContextLabels').querySelectorAll('.gc-label-text'));
    els.sort(function (a, b) { return a.getAttribute('data-rank') - b.getAttribute('data-rank'); });
    var kept = [];
    els.forEach(function (el) {
        el.style.visibility = 'visible';
        var b = el.getBoundingClientRect();
        var hit = kept.some(function (k) {
            return b.left < k.right + 4 && b.right > k.left - 4 && b.top < k.bottom + 2 && b.bottom > k.top - 2;
        });
        if (hit) { el.style.visibility = 'hidden'; } else { kept.push(b); }
    });
}
function later() { if (!pending) { pending = true; L.Util.requestAnimFrame(declutter); } }
map.on('zoomend viewreset overlayadd layeradd resize', later);
map.whenReady(later);
