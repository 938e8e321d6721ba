import unittest

from lsst_daf_base import PropertySet


class PropertySetTestCase(unittest.TestCase):
    def test_set_add_get(self) -> None:
        props = PropertySet()
        props.set("EXPTIME", 15.0)
        props.add("FILTER", "g")
        props.add("FILTER", "r")
        self.assertEqual(props.get("EXPTIME"), 15.0)
        self.assertEqual(props.get("FILTER"), "r")
        self.assertEqual(props.getArray("FILTER"), ["g", "r"])
        self.assertEqual(props.names(), ["EXPTIME", "FILTER"])

    def test_provenance(self) -> None:
        self.assertIn("PYTHON_VERSION", PropertySet.with_provenance().names())


if __name__ == "__main__":
    unittest.main()
