"""Charts drawn on the server as plain SVG, for the hub's and the nodes' pages: no
JavaScript, nothing fetched from elsewhere. A plain library like `keys`: no web, no SQL,
no hub or node code, so both sides may use it without meeting anywhere but HTTP."""

from charts.monthly import monthly_chart

__all__ = ["monthly_chart"]
