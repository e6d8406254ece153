-- When MFA is required for managers and admins (setting mfa_required_for_privileged), one who has not enrolled
-- gets a single grace login to do so; this records when it was used.
ALTER TABLE users ADD COLUMN mfa_grace_login_at TIMESTAMPTZ;
