"""Build the documentation website into _docs/ with mkdocs-material and mkdocs-jupyter (nbdev_docs needs Quarto,
which cannot be installed here). Every module notebook (nbs/NN_*.ipynb) is a page with its API; every paper notebook
(nbs/paper/*.ipynb) a page: its executed copy kept with the results (results/notebooks/<run>.ipynb, figures inline)
when there is one, else the notebook with the tables and figures it writes appended; the report and the README are
pages. The staging folder _proc/docs and _proc/mkdocs.yml are generated.

    python tools/docs.py          build _docs/
    python tools/docs.py --stage  write _proc/ only (no mkdocs build)"""
import importlib, inspect, json, os, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE, SITE = ROOT / "_proc" / "docs", ROOT / "_docs"
PAPER_OUTPUTS = {  # paper notebook -> the results it writes (globs under results/)
    "figure1": ["figures/fig1_*.png"], "distill": ["table1.md", "figures/*-*_curves.png"],
    "report": ["table1_seeds.md", "figures/table1_seeds.png", "figures/curves_all.png"],
    "seeds": ["figures/seeds_*.png"], "stability": ["stability_divergence.md", "figures/stability_*.png"],
    "cost": ["cost.md", "cost_shots.md", "figures/cost_*.png"], "ablations": ["ablations.md", "figures/ablations.png"],
    "methods": ["methods.md", "figures/methods.png"]}


def md_cell(text): return {"cell_type": "markdown", "metadata": {}, "source": text}


def api_markdown(module: str) -> str:
    "The exported names of `module` with their signatures and docstrings, as Markdown."
    mod, out = importlib.import_module(module), [f"## API of `{module}`\n"]
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            try: sig = str(inspect.signature(obj))
            except (TypeError, ValueError): sig = "(...)"
            out.append(f"### `{name}{sig}`\n\n{inspect.getdoc(obj) or ''}\n")
        else: out.append(f"### `{name}`\n\nA constant: `{type(obj).__name__}`.\n")
    return "\n".join(out)


def module_of(nb: dict) -> str|None:
    "The module a notebook exports to (its `#| default_exp`), or None."
    for c in nb["cells"]:
        if m := re.search(r"#\|\s*default_exp\s+(\S+)", "".join(c["source"])): return f"qdd.{m.group(1)}"
    return None


def stage_module(path: Path) -> str:
    "nbs/NN_x.ipynb -> api/NN_x.ipynb with its API appended; returns the page's path."
    nb = json.loads(path.read_text())
    if mod := module_of(nb): nb["cells"].append(md_cell(api_markdown(mod)))
    (STAGE / "api" / path.name).write_text(json.dumps(nb))
    return f"api/{path.name}"


def outputs_markdown(name: str) -> str:
    "The tables (inlined) and figures (as images) paper notebook `name` writes to results/."
    out = [f"## What `{name}.ipynb` writes\n"]
    for pattern in PAPER_OUTPUTS.get(name, []):
        for f in sorted((ROOT / "results").glob(pattern)):
            rel = f.relative_to(ROOT / "results").as_posix()
            if f.suffix == ".png": out.append(f"![{rel}](../{rel})\n"); continue
            text = re.sub(r"^#+ .*\n", "", f.read_text(), count=1).replace("](figures/", "](../figures/")  # one level down
            out.append(f"### `results/{rel}`\n\n" + text)
    return "\n".join(out)


EXECUTED = ROOT / "results" / "notebooks"  # the paper runner keeps executed notebooks here (qdd.paper.keep_notebook)


def stage_paper(path: Path) -> str:
    "nbs/paper/x.ipynb -> paper/x.ipynb: its executed copy if there is one, else the notebook and its outputs."
    executed = EXECUTED / path.name
    nb = json.loads((executed if executed.exists() else path).read_text())
    nb["cells"].append(md_cell(f"This page is `results/notebooks/{path.name}`, as `./reproduce.sh paper` executed it."
                               if executed.exists() else outputs_markdown(path.stem)))
    (STAGE / "paper" / path.name).write_text(json.dumps(nb))
    return f"paper/{path.name}"


def stage_run(path: Path) -> str:
    "The executed notebook of a run named apart from its notebook (a Table I run: results/notebooks/mnist-lenet.ipynb)."
    nb = json.loads(path.read_text())
    nb["cells"].append(md_cell(f"This page is `results/notebooks/{path.name}`, as `./reproduce.sh paper` executed it."))
    (STAGE / "paper" / path.name).write_text(json.dumps(nb))
    return f"paper/{path.name}"


def stage() -> dict:
    "Write _proc/docs and _proc/mkdocs.yml; returns the navigation."
    shutil.rmtree(STAGE, ignore_errors=True)
    for d in ("api", "paper", "figures"): (STAGE / d).mkdir(parents=True)
    for f in (ROOT / "results" / "figures").glob("*.png"): shutil.copy(f, STAGE / "figures" / f.name)
    readme = (ROOT / "README.md").read_text().replace("](results/figures/", "](figures/")
    (STAGE / "index.md").write_text(readme.replace("`results/REPORT.md`", "[`results/REPORT.md`](report.md)"))
    (STAGE / "report.md").write_text((ROOT / "results" / "REPORT.md").read_text())
    modules = [stage_module(p) for p in sorted((ROOT / "nbs").glob("[0-9]*.ipynb"))]
    sources = sorted((ROOT / "nbs" / "paper").glob("*.ipynb"))
    papers = [stage_paper(p) for p in sources] + [stage_run(p) for p in sorted(EXECUTED.glob("*.ipynb"))
                                                  if p.name not in {s.name for s in sources}]
    nav = [{"Home": "index.md"}, {"Report": "report.md"}, {"Library": modules}, {"Paper notebooks": papers}]
    config = {"site_name": "qdd", "docs_dir": "docs", "site_dir": str(SITE), "use_directory_urls": False,
              "theme": {"name": "material"}, "nav": nav, "plugins": [{"mkdocs-jupyter": {"execute": False, "include_source": True}}],
              "markdown_extensions": ["tables", "admonition"]}
    (STAGE.parent / "mkdocs.yml").write_text(json.dumps(config, indent=1))  # YAML is a superset of JSON
    return nav


if __name__ == "__main__":
    stage()
    if "--stage" not in sys.argv:
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # an end-of-life notice, not a build problem
        sys.exit(subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(STAGE.parent / "mkdocs.yml")], env=env).returncode)
