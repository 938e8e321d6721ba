import unittest

from lsst_pipe_base import Task
from lsst_pipe_base.__main__ import CountTask


class TaskTestCase(unittest.TestCase):
    def test_count(self) -> None:
        task = CountTask()
        self.assertEqual(task.run("a", "b"), 2)
        self.assertEqual(task.metadata.get("NWORDS"), 2)
        self.assertEqual(task.log.name, "lsst.count")

    def test_base_run(self) -> None:
        with self.assertRaises(NotImplementedError):
            Task().run()


if __name__ == "__main__":
    unittest.main()
