"""The ``scipipe`` command line: thin click commands over the library."""
