"""Self-contained HTML pages: a page is a title and sections, a section holds facts, tables and
figures, and the page is one file with every figure embedded as a PNG data URI, its style
inline, and no reference to anything outside it (no network, no other file). The results page
(mlpbench.results_page) is one such page; a study can make its own the same way.

    page = Page("mlpbench results: Zen 4")
    s = page.section("Reference runs", "what the engine reaches against the Keras reference")
    s.facts({"machine": "AMD EPYC, 2 logical CPUs"})
    s.table(["experiment", "accuracy"], [["mlp512_5ep", "97.66 %"]])
    s.figure(fig, "learning curves")      # a matplotlib figure
    page.write("report.html")
"""

import base64
import html
import io

from mlpbench import cli
from mlpbench import files as mlpbench_files

STYLE = """
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { border-bottom: 1px solid #aaa; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
figure { margin: 1em 0; } img { max-width: 100%; } figcaption { color: #555; }
nav li { margin: 0.2em 0; }
pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }
"""


def _cell(value):
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f'<td class="num">{html.escape(text)}</td>' if numeric else \
        f"<td>{html.escape(text)}</td>"


class Section:
    """One section of a page: an id, a title, a line saying what it shows, then its parts in the
    order they were added."""

    def __init__(self, ident, title, intro=""):
        self.ident, self.title, self.intro = ident, title, intro
        self.parts = []
        self.figures = 0

    def facts(self, pairs):
        """A list of name: value facts (a dict, kept in its order)."""
        items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                        for k, v in pairs.items())
        self.parts.append(f"<dl>{items}</dl>")

    def table(self, headers, rows):
        """A table; numbers are right-aligned and floats shown with four significant digits."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def text(self, paragraph):
        self.parts.append(f"<p>{html.escape(paragraph)}</p>")

    def code(self, text):
        """Preformatted text: commands, a tool's printed summary."""
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def figure(self, fig, caption):
        """A matplotlib figure, embedded as a PNG data URI (the figure is closed afterwards)."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        fig.clf()
        self.png(buffer.getvalue(), caption)

    def png(self, data, caption):
        """PNG bytes, embedded as a data URI."""
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        self.figures += 1
        self.parts.append(f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
                          f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def html(self):
        intro = f"<p>{html.escape(self.intro)}</p>" if self.intro else ""
        return (f'<section id="{self.ident}"><h2>{html.escape(self.title)}</h2>{intro}'
                + "".join(self.parts) + "</section>")


class Page:
    """A titled page of sections with a table of contents."""

    def __init__(self, title, subtitle=""):
        self.title, self.subtitle = title, subtitle
        self.sections = []

    def section(self, title, intro=""):
        s = Section(f"s{len(self.sections) + 1}", title, intro)
        self.sections.append(s)
        return s

    def html(self):
        toc = "".join(f'<li><a href="#{s.ident}">{html.escape(s.title)}</a></li>'
                      for s in self.sections)
        subtitle = f"<p>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>{subtitle}<nav><ul>{toc}</ul></nav>"
                + "".join(s.html() for s in self.sections) + "</body></html>\n")

    def write(self, path, inputs=()):
        """The page at `path`, whole or not at all (never over one of `inputs`)."""
        mlpbench_files.write_atomic(path, cli.encoded(self.html()), inputs=inputs)
