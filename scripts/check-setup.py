"""Checks that scripts/setup.sh installs every third-party Python module the
trainer imports (at any depth, lazy imports included). A fresh machine once
failed because the trainer imported onnx and setup.sh did not install
python3-onnx; this turns that class of fault into a test failure.
    /usr/bin/python3 scripts/check-setup.py"""
import ast
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Python module -> the Debian package that provides it for /usr/bin/python3.
DEBIAN_PACKAGE = {
    "torch": "python3-torch",
    "torchvision": "python3-torchvision",
    "numpy": "python3-numpy",
    "PIL": "python3-pil",
    "cv2": "python3-opencv",
    "onnx": "python3-onnx",
    "pytest": "python3-pytest",
    "jsonschema": "python3-jsonschema",
    "flatbuffers": "python3-flatbuffers",
    "tflite": "flatbuffers-compiler",  # generated at run time by flatc from the schema beside the weights
}


def imported_modules(folder):
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                for mod in mods:
                    found.setdefault(mod.split(".")[0], os.path.relpath(path, ROOT))
    return found


def apt_packages(setup_sh):
    match = re.search(r"APT_PACKAGES=\(([^)]*)\)", open(setup_sh).read())
    if not match:
        raise SystemExit(f"check-setup: no APT_PACKAGES=(...) list in {setup_sh}")
    return set(match.group(1).split())


def problems(trainer_dir, setup_sh):
    installed = apt_packages(setup_sh)
    out = []
    for module, where in sorted(imported_modules(trainer_dir).items()):
        if module in sys.stdlib_module_names or module == "trainer":
            continue
        package = DEBIAN_PACKAGE.get(module)
        if package is None:
            out.append(f"{where} imports {module!r}: no Debian package known for it (add it to DEBIAN_PACKAGE "
                       "in scripts/check-setup.py and to setup.sh)")
        elif package not in installed:
            out.append(f"{where} imports {module!r}, but scripts/setup.sh does not install {package}")
    return out


def main(argv):
    trainer_dir = argv[1] if len(argv) > 1 else os.path.join(ROOT, "trainer")
    setup_sh = argv[2] if len(argv) > 2 else os.path.join(ROOT, "scripts", "setup.sh")
    found = problems(trainer_dir, setup_sh)
    for line in found:
        print(f"check-setup: {line}", file=sys.stderr)
    if not found:
        print("check-setup: every trainer import is installed by scripts/setup.sh")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
