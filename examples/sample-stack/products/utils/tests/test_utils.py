import os
import unittest
from unittest import mock

import lsst_utils


class GetPackageDirTestCase(unittest.TestCase):
    def test_set_up(self) -> None:
        with mock.patch.dict(os.environ, {"AFW_DIR": "/opt/afw"}):
            self.assertEqual(lsst_utils.get_package_dir("afw"), "/opt/afw")

    def test_not_set_up(self) -> None:
        with mock.patch.dict(os.environ, clear=True), self.assertRaises(LookupError):
            lsst_utils.get_package_dir("afw")


if __name__ == "__main__":
    unittest.main()
