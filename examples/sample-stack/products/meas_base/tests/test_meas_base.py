import unittest

from lsst_afw import Image
from lsst_geom import Box2I
from lsst_meas_base import SumFluxConfig, measure_sum


class MeasureSumTestCase(unittest.TestCase):
    def test_sum(self) -> None:
        image = Image([[1.0, 2.0], [3.0, 4.0]])
        self.assertEqual(measure_sum(image, image.bbox), 10.0)
        config = SumFluxConfig()
        config.background = 1.0
        self.assertEqual(measure_sum(image, Box2I(0, 1, 2, 1), config), 5.0)


if __name__ == "__main__":
    unittest.main()
