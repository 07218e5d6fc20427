-- Supplies: a correction is a new movement pointing at the one it corrects (history is never edited).
ALTER TABLE stock_movements ADD COLUMN corrects BIGINT
