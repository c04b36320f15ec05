"""Checks a report's DOM as headless Chromium left it (chromium --dump-dom): every chart container drew data.

A chart passes when it has data-points > 0 and an <svg> with at least MIN_MARKS drawn shapes; a container may instead
carry a note only when its text is one of the allowed notes. Any data-error fails, as does a report whose script did
not finish (no data-report-ready on <body>) or whose trial table is empty.

Usage: report_dom_check.py DOM_FILE ["allowed note"|...]
"""
import sys
from html.parser import HTMLParser

MIN_MARKS = 3
MIN_CHARTS = 8  # history, curves, parallel, slices (≥1), contour, importance, EDF and more
SHAPES = ("path", "rect", "circle", "polyline", "polygon", "line")
VOID = ("br", "img", "input", "meta", "link", "hr", "col", "wbr", "source")


class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []  # for each open element: the index of the chart it belongs to, or None
        self.charts = []
        self.ready = False
        self.rows = 0

    def _chart(self):
        for i in reversed(self.stack):
            if i is not None:
                return self.charts[i]
        return None

    def _mark(self, tag):
        c = self._chart()
        if c is not None:
            if tag == "svg":
                c["svg"] = True
            if tag in SHAPES:
                c["marks"] += 1

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("data-report-ready") == "1":
            self.ready = True
        if tag == "table" and a.get("id") == "trial-table":
            self.rows = int(a.get("data-rows", "0"))
        classes = (a.get("class") or "").split()
        if tag == "div" and "chart" in classes:
            self.charts.append({"points": a.get("data-points"), "error": a.get("data-error"),
                                "note": "chart-note" in classes, "marks": 0, "svg": False, "text": ""})
            self.stack.append(len(self.charts) - 1)
            return
        self._mark(tag)
        if tag not in VOID:
            self.stack.append(None)

    def handle_startendtag(self, tag, attrs):
        self._mark(tag)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        c = self._chart()
        if c is not None:
            c["text"] += data


def main():
    dom = open(sys.argv[1], encoding="utf-8").read()
    allowed = [a for a in sys.argv[2:] if a]
    p = Charts()
    p.feed(dom)
    bad = []
    if not p.ready:
        bad.append("the report's script did not finish (no data-report-ready on <body>)")
    if p.rows <= 0:
        bad.append("the trial table is empty")
    if len(p.charts) < MIN_CHARTS:
        bad.append("only %d chart containers" % len(p.charts))
    for i, c in enumerate(p.charts):
        if c["error"]:
            bad.append("chart %d failed: %s" % (i, c["error"]))
        elif c["note"]:
            if c["text"].strip() not in allowed:
                bad.append("chart %d shows a note instead of data: %s" % (i, c["text"].strip()))
        elif not c["points"] or int(c["points"]) <= 0 or not c["svg"] or c["marks"] < MIN_MARKS:
            bad.append("chart %d drew nothing (data-points=%s, svg=%s, shapes=%d)" % (i, c["points"], c["svg"], c["marks"]))
    drawn = sum(1 for c in p.charts if c["svg"] and not c["error"])
    print("%s: %d charts (%d drawn), %d trial rows" % (sys.argv[1], len(p.charts), drawn, p.rows))
    for b in bad:
        print("  " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
