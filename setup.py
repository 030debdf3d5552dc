"""Packaging for qdd. All metadata lives in settings.ini (nbdev 2 layout); this file only reads it, so the sdist ships
settings.ini (MANIFEST.in)."""
import subprocess
from configparser import ConfigParser
from pathlib import Path

import setuptools
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

here = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(here / "settings.ini", encoding="utf-8")
meta = cfg["DEFAULT"]


def words(key):
    "Space-separated list stored under `key` in settings.ini."
    return meta.get(key, "").split()


def commit() -> str|None:
    "g<sha>, with +dirty for uncommitted changes in qdd/, when building from this project's git checkout; else None."
    git = lambda *a: subprocess.run(["git", "-C", str(here), *a], capture_output=True, text=True)
    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode or Path(top.stdout.strip()).resolve() != here.resolve(): return None
        return f"g{git('rev-parse', '--short', 'HEAD').stdout.strip()}" + ("+dirty" if git("status", "--porcelain", "--", "qdd").stdout.strip() else "")
    except OSError: return None


def write_commit(package_dir: Path):
    "Write qdd/_build.py (COMMIT) where the build puts the package; a build from an sdist keeps the one the sdist carries."
    sha = commit()
    if sha: (package_dir/"_build.py").write_text(f'COMMIT = "{sha}"  # written by setup.py at build time\n')


class BuildWithCommit(build_py):
    def run(self):
        super().run()
        write_commit(Path(self.build_lib)/meta["lib_path"])


class SdistWithCommit(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        write_commit(Path(base_dir)/meta["lib_path"])


licenses = {"apache2": "Apache-2.0"}  # SPDX expression (license classifiers are deprecated)
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable"]
lic_name = licenses[meta["license"]]
readme = here / "README.md"

setuptools.setup(
    name=meta["lib_name"],
    version=meta["version"],
    description=meta["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else meta["description"],
    long_description_content_type="text/markdown",
    author=meta["author"],
    author_email=meta.get("author_email") or None,
    license=lic_name,
    license_files=["LICENSE"],
    url=meta["paper_url"],
    project_urls={"Paper": meta["paper_url"]},
    keywords=meta["keywords"],
    classifiers=[
        "Development Status :: " + statuses[int(meta["status"]) - 1],
        "Intended Audience :: " + meta["audience"],
        "Natural Language :: " + meta["language"],
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    packages=setuptools.find_packages(include=["qdd", "qdd.*"]),
    include_package_data=True,
    package_data={"qdd": ["templates/*.md"]},  # the report's prose
    python_requires=">=" + meta["min_python"],
    install_requires=words("requirements"),
    extras_require={"dev": words("dev_requirements")},
    entry_points={
        "console_scripts": words("console_scripts"),
        "nbdev": [f"{meta['lib_path']}={meta['lib_path']}._modidx:d"],
    },
    cmdclass={"build_py": BuildWithCommit, "sdist": SdistWithCommit},
    zip_safe=False,
)
