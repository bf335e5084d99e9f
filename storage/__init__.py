"""The only code that speaks SQL, so driver details stay behind one boundary."""
