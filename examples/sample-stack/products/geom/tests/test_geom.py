import unittest

from lsst_geom import Box2I


class Box2ITestCase(unittest.TestCase):
    def test_box(self) -> None:
        box = Box2I(1, 2, 3, 4)
        self.assertEqual(box.area, 12)
        self.assertTrue(box.contains(1, 2))
        self.assertFalse(box.contains(4, 2))


if __name__ == "__main__":
    unittest.main()
