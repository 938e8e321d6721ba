import os
import unittest
from unittest import mock

import lsst_base


class BaseTestCase(unittest.TestCase):
    def test_python_version(self) -> None:
        self.assertTrue(lsst_base.python_version().startswith("3."))

    def test_package_dirs(self) -> None:
        with mock.patch.dict(os.environ, {"GEOM_DIR": "/opt/geom"}, clear=True):
            self.assertEqual(
                lsst_base.package_dirs(["geom", "afw"]), {"geom": "/opt/geom", "afw": None}
            )


if __name__ == "__main__":
    unittest.main()
