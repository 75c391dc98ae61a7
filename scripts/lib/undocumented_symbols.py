#!/usr/bin/env python3
"""Lists the public symbols declared in this package that have no documentation comment.

Reads the symbol graphs that `swift package generate-documentation` extracted (one folder per
target under .build/<triple>/extracted-symbols/<package>/), and fails when a public or open
symbol declared under this package's Sources/ has neither a comment of its own nor one it
inherits from a protocol it implements. Symbols without a location are the compiler's
(synthesized conformances, literal initializers), members that a dependency's extension adds
are the dependency's (their location is in its checkout), and extension blocks carry no comment.

    scripts/lib/undocumented_symbols.py FOLDER TARGET...
"""
import json
import pathlib
import sys


def undocumented(folder: pathlib.Path, root: str):
    for graph in sorted(folder.glob("*.symbols.json")):
        for symbol in json.loads(graph.read_text())["symbols"]:
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            if symbol["kind"]["identifier"] == "swift.extension":
                continue
            location = symbol.get("location")
            if location is None or not location["uri"].startswith(root):
                continue
            if symbol.get("docComment", {}).get("lines"):
                continue
            path = "Sources/" + location["uri"][len(root):]
            line = location["position"]["line"] + 1
            yield f"{path}:{line}: {'.'.join(symbol['pathComponents'])}"


def main() -> int:
    folder, targets = pathlib.Path(sys.argv[1]), sys.argv[2:]
    root = (pathlib.Path.cwd().resolve() / "Sources").as_uri() + "/"
    missing = []
    for target in targets:
        graphs = folder / target
        if not graphs.is_dir():
            print(f"error: no symbol graphs for {target} in {graphs}", file=sys.stderr)
            return 1
        missing += undocumented(graphs, root)
    for entry in missing:
        print(f"error: {entry} is public and has no documentation comment", file=sys.stderr)
    if missing:
        print(f"{len(missing)} public symbols without documentation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
