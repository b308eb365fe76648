import os
import shutil
import tempfile
import unittest

import util  # noqa: F401  (sys.path)

from flowhost._project import ProjectError, load_yaml, module_names, read_config, stage


class YamlTest(unittest.TestCase):
    def test_jina_config(self):
        config = load_yaml(
            """
jtype: MyExec   # the class
with:
  foo: 1
  ratio: 0.5
  name: 'a # b'
  flags: [true, no, null, "x"]
  nested:
    - a
    - b: 1
      c: [1, {d: e}]
  text: |
    line 1
    line 2
metas:
  py_modules:
    - executor.py
    - helpers/util.py
"""
        )
        self.assertEqual(config["jtype"], "MyExec")
        self.assertEqual(
            config["with"],
            {
                "foo": 1,
                "ratio": 0.5,
                "name": "a # b",
                "flags": [True, False, None, "x"],
                "nested": ["a", {"b": 1, "c": [1, {"d": "e"}]}],
                "text": "line 1\nline 2\n",
            },
        )
        self.assertEqual(config["metas"]["py_modules"], ["executor.py", "helpers/util.py"])

    def test_old_style_tag(self):
        self.assertEqual(load_yaml("!MyExec\nwith: {a: 1}\n"), {"jtype": "MyExec", "with": {"a": 1}})

    def test_errors(self):
        with self.assertRaises(ProjectError):
            load_yaml("a: [1, 2")


class ProjectTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.project = os.path.join(self.dir, "proj")
        os.makedirs(os.path.join(self.project, "build"))
        os.makedirs(os.path.join(self.project, "helpers"))
        for path in ("executor.py", "helpers/util.py", "build/old.wasm"):
            with open(os.path.join(self.project, path), "w") as f:
                f.write("")

    def write_config(self, text):
        with open(os.path.join(self.project, "config.yml"), "w") as f:
            f.write(text)

    def test_modules(self):
        self.assertEqual(module_names(self.project, {}), ["executor"])
        self.write_config("jtype: X\npy_modules: [helpers/util.py, executor.py]\n")
        self.assertEqual(module_names(self.project, read_config(self.project)), ["helpers.util", "executor"])
        with self.assertRaises(ProjectError):
            module_names(self.project, {"py_modules": ["missing.py"]})
        os.remove(os.path.join(self.project, "executor.py"))
        with self.assertRaises(ProjectError):
            module_names(self.project, {})

    def test_stage(self):
        self.write_config("jtype: MyExec\nwith:\n  greeting: hi\nmetas:\n  py_modules: [executor.py]\n")
        out = os.path.join(self.dir, "stage")
        stage(self.project, out)
        self.assertTrue(os.path.exists(os.path.join(out, "project", "executor.py")))
        self.assertFalse(os.path.exists(os.path.join(out, "project", "build")))
        self.assertTrue(os.path.exists(os.path.join(out, "sdk", "flowhost", "runtime.py")))
        with open(os.path.join(out, "app", "flowhost_app.py")) as f:
            app = f.read()
        self.assertIn("Executor = export(['executor'], 'MyExec', json.loads('{\"greeting\": \"hi\"}'))", app)


if __name__ == "__main__":
    unittest.main()
