"""The trainer's layout rule, checked by scripts/check-trainer-imports.py (npm run lint)."""
import importlib.util
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lint():
    spec = importlib.util.spec_from_file_location("check_trainer_imports", os.path.join(ROOT, "scripts", "check-trainer-imports.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_trainer_module_imports_a_command():
    assert _lint().violations(os.path.join(ROOT, "trainer")) == []


def test_a_planted_import_of_one_command_by_another_fails_the_lint(tmp_path):
    copy = tmp_path / "trainer"
    shutil.copytree(os.path.join(ROOT, "trainer"), copy, ignore=shutil.ignore_patterns("tests", "__pycache__", "recipes"))
    with open(copy / "commands" / "blobs.py", "a") as f:
        f.write("\n\ndef _planted():\n    from .evaluate import run  # a command reaching into another\n    return run\n")
    with open(copy / "commands" / "sheet.py", "a") as f:
        f.write("\nfrom trainer.commands import gatys  # the same, absolute\n")
    with open(copy / "sizing.py", "a") as f:
        f.write("\nfrom .commands.export import run  # a library reaching into a command\n")
    problems = _lint().violations(str(copy))
    assert any("commands/blobs.py (command) imports the command module evaluate" in p for p in problems)
    assert any("commands/sheet.py (command) imports the command module gatys" in p for p in problems)
    assert any("trainer/sizing.py (library) imports the command module export" in p for p in problems)
    assert len(problems) == 3
