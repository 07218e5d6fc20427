-- The office's ledger keeps each resident's relation to the householder (户主/配偶/子女...): imported and
-- exported with the resident so a ledger round-trips through Excel.
ALTER TABLE residents ADD COLUMN relation VARCHAR
