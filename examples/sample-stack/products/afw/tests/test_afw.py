import os
import unittest

from lsst_afw import Image, read_test_image


class ImageTestCase(unittest.TestCase):
    def test_image(self) -> None:
        image = Image([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        self.assertEqual(image.bbox.area, 6)
        self.assertEqual(image.pixel(1, 2), 6.0)

    @unittest.skipUnless("AFWDATA_DIR" in os.environ, "afwdata is not set up")
    def test_read_test_image(self) -> None:
        image = read_test_image("small-image.txt")
        self.assertEqual((image.bbox.width, image.bbox.height), (4, 3))
        self.assertEqual(image.metadata.get("FILENAME"), "small-image.txt")


if __name__ == "__main__":
    unittest.main()
