"""Execute one jupytext notebook and print its text outputs, glued values and wall time.

Usage: python tools/run_notebook.py lessons/lesson0_generative_models.md [--save
out.ipynb]

A developer's tool for checking a lesson (the numbers it glues, its run time under the
profile in COURSE_PROFILE) without building the whole book.
"""

from __future__ import annotations

import argparse
import time

import jupytext
import nbformat
from nbclient import NotebookClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("--save", help="write the executed notebook here (.ipynb)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    notebook = jupytext.read(args.notebook)
    started = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=args.timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={
            "metadata": {"path": str(__import__("pathlib").Path(args.notebook).parent)}
        },
    )
    client.execute()
    seconds = time.perf_counter() - started
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                print(f"[{index}] {output['text'].rstrip()[:800]}")
            elif kind == "error":
                print(f"[{index}] ERROR {output['ename']}: {output['evalue']}")
            elif "data" in output:
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                data = output["data"]
                if name:  # myst-nb's glue stores the value under a papermill type
                    value = data.get(
                        "application/papermill.record/text/plain",
                        data.get("text/plain"),
                    )
                    print(f"[{index}] glue {name} = {value}")
                elif "image/png" in data:
                    print(f"[{index}] <image>")
                elif "text/html" in data:
                    print(f"[{index}] <html {len(data['text/html'])} chars>")
                elif "text/markdown" in data:
                    print(f"[{index}] {data['text/markdown'][:400]}")
                else:
                    print(f"[{index}] {str(data.get('text/plain'))[:300]}")
    print(f"executed {args.notebook} in {seconds:.1f} s")
    if args.save:
        nbformat.write(notebook, args.save)


if __name__ == "__main__":
    main()
