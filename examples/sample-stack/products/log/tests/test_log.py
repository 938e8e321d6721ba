import unittest

import lsst_log


class LogTestCase(unittest.TestCase):
    def test_logger_name(self) -> None:
        self.assertEqual(lsst_log.get_logger("afw.image").name, "lsst.afw.image")

    def test_banner(self) -> None:
        self.assertIn("Python 3.", lsst_log.banner())


if __name__ == "__main__":
    unittest.main()
