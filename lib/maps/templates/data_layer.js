{#- A DataLayer (lib.maps.elements): a feature group filled in the browser from compact JSON rows. -#}
{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = L.featureGroup();
    (function (group) {
        var rows = {{ this.rows_json }};
        var ctx = {{ this.ctx_json }};
        ctx.renderer = ctx.canvas ? L.canvas({padding: 0.3}) : undefined;
        ctx.ring = function (a) { var r = []; for (var i = 0; i < a.length; i += 2) { r.push([a[i], a[i + 1]]); } return r; };
        var make = {{ this.factory }};
        for (var i = 0; i < rows.length; i++) { var l = make(rows[i], ctx); if (l) { group.addLayer(l); } }
    })({{ this.get_name() }});
{% endmacro %}
