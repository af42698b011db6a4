"""HTML cost reports: one self-contained file per tenant and month, and one per partner portfolio.

`content` gathers what a report shows (per billing currency, never summed across currencies) through `queries`,
the adapter to the tenant query layer; `charts` draws SVG with matplotlib; `render` fills the packaged Jinja2
template. The output needs no server, no network and no JavaScript: styles and SVG are inline, and every chart has
a data table beside it for screen readers and for copying figures.
"""
