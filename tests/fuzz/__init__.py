"""Property-based fuzzing of every reader (issue 19): seeds, mutations, the harness, the store."""
