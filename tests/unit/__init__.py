"""Pure unit tests of the auction rules core: no I/O, no event loop, no clock."""
