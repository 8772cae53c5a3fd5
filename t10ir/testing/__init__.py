"""What the tests share: oracles (`t10ir.testing.oracles`) that state the library's
rules independently. No module of the library imports this package."""
