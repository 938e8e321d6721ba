import unittest
from pathlib import Path

from lsst_pex_config import Config, Field, load_defaults


class ExampleConfig(Config):
    threshold = Field("Detection threshold in sigma.", float, 5.0)


class ConfigTestCase(unittest.TestCase):
    def test_field(self) -> None:
        config = ExampleConfig()
        self.assertEqual(config.to_dict(), {"threshold": 5.0})
        config.threshold = 3.0
        self.assertEqual(config.threshold, 3.0)
        with self.assertRaises(TypeError):
            config.threshold = "high"

    def test_defaults(self) -> None:
        config_dir = Path(__file__).resolve().parents[1] / "config"
        self.assertEqual(load_defaults(str(config_dir))["nthreads"], "1")


if __name__ == "__main__":
    unittest.main()
