// No tiles: a light grey ground under the boundaries.
map.getContainer().style.background = '#f4f6f8';
