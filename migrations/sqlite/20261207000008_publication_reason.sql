-- Why a publication is in its state, when the state says less than the
-- operator needs (held: token_missing, token_unreadable, tokens_not_configured,
-- account_not_active, budget_held, ...): shown by the admin API.
ALTER TABLE publications ADD COLUMN reason TEXT;
