-- pg_trgm corrects misspelt search words (search_terms) and must exist before its index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
