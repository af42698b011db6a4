"""HTML cost reports: one self-contained file per tenant and month, and one per partner portfolio.

`content` gathers what a report shows (per billing currency, never summed across currencies) through `queries`,
the adapter to the tenant query layer; `charts` lays out the charts (a small SVG writer: geometry only);
`render` fills the packaged Jinja2 templates, the charts' SVG markup included (`templates/_chart.svg.j2`). The
output needs no server, no network and no JavaScript: styles and SVG are inline, and every chart has a data table
beside it for screen readers and for copying figures.
"""
