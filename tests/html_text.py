"""The visible text of an HTML repr (outside <pre> and <style>), for text-vs-HTML repr tests."""
from html.parser import HTMLParser


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("pre", "style"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("pre", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())
