"""Render nbs/index.ipynb to README.md (GitHub markdown): markdown cells as they are, code cells as python
blocks followed by their text output; cells tagged or flagged `#| hide` are left out. nbdev's own
`nbdev_readme` needs the Quarto binary, which cannot be installed here, hence this small stand-in.

    python tools/readme.py           write README.md
    python tools/readme.py --check   exit 1 if README.md is not what index.ipynb renders to"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hidden(source):
    "Whether a code cell carries the `#| hide` directive."
    return any(line.strip().replace(" ", "") in ("#|hide", "#|hide_input") for line in source.splitlines())


def outputs(cell):
    "A code cell's outputs as markdown: markdown outputs as they are, text indented as a code block."
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "text/markdown" in data: parts.append("".join(data["text/markdown"]).strip()); continue
        text = "".join(out.get("text") or data.get("text/plain") or "").rstrip()
        if text: parts.append("    " + text.replace("\n", "\n    "))
    return "\n\n".join(p for p in parts if p)


def render_cell(cell):
    "Markdown for one notebook cell; a cell marked `#| echo: false` shows only its output."
    source = "".join(cell["source"]).strip()
    if cell["cell_type"] == "markdown": return source
    if cell["cell_type"] != "code" or hidden(source) or not source: return ""
    echo = not any(l.strip().replace(" ", "") == "#|echo:false" for l in source.splitlines())
    block = f"```python\n{source}\n```" if echo else ""
    return "\n\n".join(p for p in (block, outputs(cell)) if p)


def render(nb_path=ROOT / "nbs" / "index.ipynb"):
    "README text rendered from the index notebook."
    cells = json.loads(Path(nb_path).read_text())["cells"]
    body = "\n\n".join(r for r in map(render_cell, cells) if r)
    return f"<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n{body}\n"


if __name__ == "__main__":
    readme = ROOT / "README.md"
    if "--check" in sys.argv:
        ok = readme.exists() and readme.read_text() == render()
        print("README.md matches nbs/index.ipynb" if ok else "README.md is stale: run python tools/readme.py")
        sys.exit(0 if ok else 1)
    readme.write_text(render())
    print(f"wrote {readme}")
