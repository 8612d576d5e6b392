-- levenshtein() lets search correct transposed letters in short words ("tuor" → tour), which
-- trigram similarity alone misses.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
