"""Git hosting APIs: the forge protocol, its errors, and the GitHub client."""
