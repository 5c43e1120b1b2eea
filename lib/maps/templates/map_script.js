{#- A MapScript (lib.maps.elements): `code` runs once the map exists, with `map` and `ctx` in scope. -#}
{% macro script(this, kwargs) %}
    (function (map, ctx) { {{ this.code }} })({{ this._parent.get_name() }}, {{ this.ctx_json }});
{% endmacro %}
