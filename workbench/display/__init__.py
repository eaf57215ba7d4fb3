"""Text and HTML reprs, apart from the data model (xarray's pattern): `formatting.py` builds plain
`Summary` objects from components and renders them as text; `formatting_html.py` renders the same
summaries as HTML, so both always show the same facts."""
